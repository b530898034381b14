using System.Globalization;

namespace NetDiag.Lab;

/// <summary>
/// One cluster node: a network namespace (eth0 on the underlay, flannel.1, cni0, pods behind it)
/// plus its own PID and mount namespaces, held by a "holder" process (PID 1 of the node). Commands
/// run through <c>nsenter -t &lt;holder&gt; -n -m -p</c>, so inside a node <c>ps</c> and
/// <c>/proc</c> show only that node's processes (as a hostPID pod sees its host) and
/// <c>/proc/sys/net</c> shows the node's values. Inside the node, <c>&lt;HostRoot&gt;/proc</c> and
/// <c>&lt;HostRoot&gt;/sys</c> are the node's own /proc and /sys, as <c>/host</c> is for the probe Job.
/// </summary>
public sealed class LabNode
{
    private readonly LabCluster _cluster;

    internal LabNode(LabCluster cluster, int index, string netns, LabAddressPlan plan, string hostRoot)
    {
        _cluster = cluster;
        Index = index;
        Name = LabAddressPlan.NodeName(index);
        NetnsName = netns;
        NodeIp = plan.NodeIp(index);
        PodCidr = plan.PodCidr(index);
        OverlayIp = plan.OverlayIp(index);
        GatewayIp = plan.GatewayIp(index);
        FlannelMac = plan.FlannelMac(index);
        HostRoot = hostRoot;
    }

    /// <summary>1-based node number.</summary>
    public int Index { get; }

    /// <summary>"node-1", ...: the Kubernetes node name.</summary>
    public string Name { get; }

    /// <summary>The network namespace (<c>ip netns</c> name), e.g. "ndl1-node-1".</summary>
    public string NetnsName { get; }

    /// <summary>Underlay (InternalIP) address on eth0.</summary>
    public string NodeIp { get; }

    /// <summary>The node's podCIDR, e.g. 10.244.1.0/24.</summary>
    public string PodCidr { get; }

    /// <summary>The podCIDR .0 on flannel.1.</summary>
    public string OverlayIp { get; }

    /// <summary>The podCIDR .1 on cni0.</summary>
    public string GatewayIp { get; }

    /// <summary>MAC of flannel.1 (what flannel publishes in the node annotation VtepMAC).</summary>
    public string FlannelMac { get; }

    /// <summary>The node's host root folder (the probe's <c>/host</c>).</summary>
    public string HostRoot { get; }

    /// <summary>The pods on this node (workload pod, and a CoreDNS pod on node-1 and node-2).</summary>
    public IReadOnlyList<LabPod> Pods { get; internal set; } = [];

    /// <summary>The holder (PID 1 of the node) as the test host sees it.</summary>
    public int HolderPid { get; internal set; }

    /// <summary>nsenter arguments that enter this node's network, mount and PID namespaces.</summary>
    public IReadOnlyList<string> NsenterArgs =>
        ["-t", HolderPid.ToString(CultureInfo.InvariantCulture), "-n", "-m", "-p", "--"];

    /// <summary>Runs a command inside the node and returns its exit code and output (never throws for a failing command).</summary>
    public Task<LabExecResult> ExecAsync(string file, params string[] args) => ExecAsync(file, args, null, default);

    /// <summary>Runs a command inside the node, with an input, a time budget (default 60 s) and cancellation.</summary>
    public Task<LabExecResult> ExecAsync(string file, IEnumerable<string> args, string? stdin, CancellationToken ct, TimeSpan? timeout = null)
        => Command.RunAsync("nsenter", [.. NsenterArgs, file, .. args], stdin, timeout, ct);

    /// <summary>Runs <c>sh -c script</c> inside the node.</summary>
    public Task<LabExecResult> ShAsync(string script, CancellationToken ct = default) => ExecAsync("sh", ["-c", script], null, ct);

    /// <summary>Starts a long-lived process inside the node; the lab kills it on dispose.</summary>
    public Task<LabProcess> StartInNodeAsync(string file, params string[] args) => StartInNodeAsync(file, args, default);

    public async Task<LabProcess> StartInNodeAsync(string file, IEnumerable<string> args, CancellationToken ct)
    {
        var argv = args.ToList();
        var p = await LabProcess.StartAsync($"{Name}: {file} {string.Join(' ', argv)}", "nsenter",
            [.. NsenterArgs, file, .. argv], comm => comm != "nsenter", ct);
        _cluster.Track(p);
        return p;
    }

    /// <summary>Finds a pod of this node by name.</summary>
    public LabPod Pod(string name) => Pods.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"{Name} has no pod '{name}'; pods: {string.Join(", ", Pods.Select(p => p.Name))}", nameof(name));

    public override string ToString() => $"{Name} ({NodeIp}, {PodCidr})";
}

/// <summary>
/// A "pod": its own network namespace behind the node's cni0 (default route via the node's .1).
/// Its processes live in the node's PID and mount namespaces, as containers' processes appear in
/// a hostPID view of their node.
/// </summary>
public sealed class LabPod
{
    private readonly LabCluster _cluster;

    internal LabPod(LabCluster cluster, LabNode node, string name, string netns, string ip, bool isCoreDns)
    {
        _cluster = cluster;
        Node = node;
        Name = name;
        NetnsName = netns;
        Ip = ip;
        IsCoreDns = isCoreDns;
    }

    public LabNode Node { get; }
    public string Name { get; }
    public string NetnsName { get; }
    public string Ip { get; }
    public bool IsCoreDns { get; }

    /// <summary>nsenter arguments: the pod's network namespace, the node's mount and PID namespaces.</summary>
    public IReadOnlyList<string> NsenterArgs =>
        ["-t", Node.HolderPid.ToString(CultureInfo.InvariantCulture), "-m", "-p", $"--net=/run/netns/{NetnsName}", "--"];

    /// <summary>Runs a command inside the pod.</summary>
    public Task<LabExecResult> ExecAsync(string file, params string[] args) => ExecAsync(file, args, default);

    public Task<LabExecResult> ExecAsync(string file, IEnumerable<string> args, CancellationToken ct, TimeSpan? timeout = null)
        => Command.RunAsync("nsenter", [.. NsenterArgs, file, .. args], null, timeout, ct);

    /// <summary>Starts a long-lived process inside the pod; the lab kills it on dispose.</summary>
    public async Task<LabProcess> StartAsync(string file, IEnumerable<string> args, CancellationToken ct = default)
    {
        var argv = args.ToList();
        var p = await LabProcess.StartAsync($"{Node.Name}/{Name}: {file} {string.Join(' ', argv)}", "nsenter",
            [.. NsenterArgs, file, .. argv], comm => comm != "nsenter", ct);
        _cluster.Track(p);
        return p;
    }

    public override string ToString() => $"{Node.Name}/{Name} ({Ip})";
}
