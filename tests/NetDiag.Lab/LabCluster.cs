using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace NetDiag.Lab;

/// <summary>
/// A cluster of N nodes made of real kernel state on this machine (see /work/shared/lab.md):
/// <code>
///   [ndl1-underlay]  br0 172.28.I.1/24 ── u1 ── u2 ── ... (veth peers)
///        │ eth0 172.28.I.11               │ eth0 172.28.I.12
///   [ndl1-node-1]                     [ndl1-node-2]            each node: own net+PID+mount ns
///     flannel.1 10.244.1.0/32 ◄─VXLAN 8472─► flannel.1 10.244.2.0/32
///     cni0 10.244.1.1/24                  cni0 10.244.2.1/24
///      ├ pod-a 10.244.1.2                  ├ pod-a 10.244.2.2
///      └ coredns-1 10.244.1.3 (dnsmasq :53, httpd :9153)  └ coredns-2 10.244.2.3
///   iptables (nft backend) per node: KUBE-SERVICES DNAT 10.96.0.10:53 → CoreDNS pods
/// </code>
/// Create with <see cref="CreateAsync"/>, dispose to remove everything. Needs root.
/// </summary>
public sealed partial class LabCluster : IAsyncDisposable
{
    private readonly LabOptions _options;
    private readonly TopologyScripts _scripts;
    private readonly ConcurrentBag<LabProcess> _processes = [];
    private readonly List<LabNode> _nodes = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    private LabCluster(LabOptions options)
    {
        _options = options;
        Plan = new LabAddressPlan(options.Index, options.NodeCount);
        _scripts = new TopologyScripts(options.Name, Plan, options.WithDns);
        WorkDir = options.EffectiveWorkDir;
        VxlanPort = options.VxlanPort;
    }

    /// <summary>The lab name (namespace prefix).</summary>
    public string Name => _options.Name;

    /// <summary>All addresses of this lab.</summary>
    public LabAddressPlan Plan { get; }

    /// <summary>Host roots, pid files, scripts and logs live here; removed on dispose.</summary>
    public string WorkDir { get; }

    public IReadOnlyList<LabNode> Nodes => _nodes;

    /// <summary>The namespace holding the underlay bridge.</summary>
    public string UnderlayNetns => LabNames.Underlay(Name);

    /// <summary>Pod IPs of the CoreDNS stand-ins (empty when <see cref="LabOptions.WithDns"/> is false).</summary>
    public IReadOnlyList<string> CoreDnsPodIps => _scripts.CoreDnsPodIps.ToList();

    /// <summary>The CoreDNS pods.</summary>
    public IReadOnlyList<LabPod> CoreDnsPods => _nodes.SelectMany(n => n.Pods).Where(p => p.IsCoreDns).ToList();

    /// <summary>kube-dns ClusterIP (service CIDR .10); DNAT'ed to the CoreDNS pods by every node's KUBE-SERVICES.</summary>
    public string KubeDnsServiceIp => Plan.KubeDnsServiceIp;

    /// <summary>The "kubernetes" Service ClusterIP (service CIDR .1): the A answer for kubernetes.default.svc.cluster.local.</summary>
    public string KubernetesServiceIp => Plan.KubernetesServiceIp;

    /// <summary>The service CIDR, 10.(96+Index).0.0/16.</summary>
    public string ServiceCidr => Plan.ServiceCidr;

    /// <summary>flannel's Network, 10.(244+Index).0.0/16.</summary>
    public string FlannelNetwork => Plan.FlannelNetwork;

    /// <summary>The UDP port every flannel.1 uses now (changes with <see cref="RebuildOverlayAsync"/>).</summary>
    public int VxlanPort { get; private set; }

    /// <summary>How long <see cref="CreateAsync"/> took.</summary>
    public TimeSpan CreationTime { get; private set; }

    /// <summary>The DNS name the CoreDNS stand-ins answer.</summary>
    public const string KubernetesServiceName = "kubernetes.default.svc.cluster.local";

    /// <summary>Finds a node by name ("node-2"); ArgumentException names the valid ones.</summary>
    public LabNode Node(string name) => _nodes.FirstOrDefault(n => n.Name == name)
        ?? throw new ArgumentException($"No node '{name}' in lab {Name}; nodes: {string.Join(", ", _nodes.Select(n => n.Name))}", nameof(name));

    /// <summary>
    /// Builds the lab. Removes leftovers of an earlier run with the same name first, so a crashed
    /// run never blocks the next. On failure everything created so far is removed again.
    /// </summary>
    public static async Task<LabCluster> CreateAsync(LabOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        RequireRoot();
        var lab = new LabCluster(options);
        var sw = Stopwatch.StartNew();
        await LabCleanup.CleanupAsync(l => l == options.Name, [lab.WorkDir]);
        try
        {
            await lab.BuildAsync(ct);
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
        lab.CreationTime = sw.Elapsed;
        lab.Log($"lab {lab.Name}: {options.NodeCount} nodes ready in {sw.ElapsedMilliseconds} ms");
        return lab;
    }

    /// <summary>
    /// Removes the leftovers of crashed runs: every namespace whose lab name (the part before the
    /// first '-') starts with <paramref name="namePrefix"/>, the processes in them, and their
    /// default work dirs under /tmp/netdiag-lab.
    /// </summary>
    public static void CleanupStale(string namePrefix) => CleanupStaleAsync(namePrefix).GetAwaiter().GetResult();

    /// <inheritdoc cref="CleanupStale"/>
    public static Task CleanupStaleAsync(string namePrefix)
    {
        if (string.IsNullOrEmpty(namePrefix)) throw new ArgumentException("A name prefix is required.", nameof(namePrefix));
        return LabCleanup.CleanupAsync(l => l.StartsWith(namePrefix, StringComparison.Ordinal), []);
    }

    private static void RequireRoot()
    {
        if (Environment.UserName != "root" && !IsEffectiveRoot())
            throw new LabException("The NetDiag lab needs root (network namespaces, iptables, nsenter). Run the lab tests as root.");
    }

    private static bool IsEffectiveRoot()
    {
        try
        {
            return File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal)
                && l.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(2) == "0");
        }
        catch (IOException) { return false; }
    }

    private void Log(string line) => _options.Log?.Invoke(line);

    internal void Track(LabProcess p) => _processes.Add(p);

    private string RunDir => Path.Combine(WorkDir, "run");

    /// <summary>Identifies this instance in the work dir, so that disposing an instance whose lab
    /// was already replaced (same name, created again after a "crash") never tears down the new one.</summary>
    private readonly string _instanceId = Guid.NewGuid().ToString("N");
    private string InstanceFile => Path.Combine(WorkDir, "lab.instance");

    private async Task BuildAsync(CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(RunDir);
        await File.WriteAllTextAsync(InstanceFile, _instanceId, ct);
        foreach (var k in _scripts.NodeIndexes)
        {
            var node = new LabNode(this, k, LabNames.Node(Name, k), Plan, Path.Combine(WorkDir, "nodes", LabAddressPlan.NodeName(k), "root"));
            node.Pods = _scripts.Pods(k).Select(p => new LabPod(this, node, p.Name, LabNames.Pod(Name, k, p.Name), p.Ip, p.IsCoreDns)).ToList();
            _nodes.Add(node);
            WriteHostRoot(node);
        }

        // 1. Every namespace and veth pair in one root-level batch.
        await MustWriteAndRun("root", "ip", ["-batch", "-"], _scripts.RootBatch(), ct);
        Log($"  namespaces and veths: {sw.ElapsedMilliseconds} ms");

        // 2. Underlay, nodes and pods in parallel: one process per namespace.
        var iptables = _scripts.NodeIptables();
        var jobs = new List<Task>
        {
            // No netfilter on the underlay bridge: br_netfilter would defragment and refragment
            // VXLAN frames that exceed a port's MTU instead of dropping them as a real path does.
            Must("underlay", "ip", ["netns", "exec", UnderlayNetns, "sh", "-c",
                $"ip -batch {WriteRunFile("underlay.ip", _scripts.UnderlayBatch())} && " +
                "sysctl -q -w net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0"], null, ct),
        };
        foreach (var node in _nodes)
        {
            var k = node.Index;
            var ipFile = WriteRunFile($"{node.Name}.ip", _scripts.NodeBatch(k, VxlanPort));
            var fdbFile = WriteRunFile($"{node.Name}.fdb", _scripts.FdbBatch(k));
            var iptFile = WriteRunFile($"{node.Name}.iptables", iptables);
            // ip_forward=1 as a node needs it; rp_filter loose as on systemd hosts; bridged pod
            // traffic through iptables (br_netfilter) as kubeadm requires.
            var script =
                $"ip -batch {ipFile} && " +
                (_nodes.Count > 1 ? $"bridge -batch {fdbFile} && " : "") +
                "sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.bridge.bridge-nf-call-iptables=1 && " +
                $"iptables-restore -w 5 {iptFile}";
            jobs.Add(Must($"node {node.Name}", "ip", ["netns", "exec", node.NetnsName, "sh", "-c", script], null, ct));
            foreach (var pod in node.Pods)
            {
                var spec = _scripts.Pods(k).First(p => p.Name == pod.Name);
                jobs.Add(MustWriteAndRun($"pod {pod.NetnsName}", "ip", ["-n", pod.NetnsName, "-batch", "-"], _scripts.PodBatch(k, spec), ct));
            }
        }
        await Task.WhenAll(jobs);
        Log($"  underlay, nodes, pods configured: {sw.ElapsedMilliseconds} ms");

        // 3. Each node's PID+mount namespace holder.
        await Task.WhenAll(_nodes.Select(n => StartHolderAsync(n, ct)));
        Log($"  node holders: {sw.ElapsedMilliseconds} ms");

        // 4. CoreDNS stand-ins.
        if (_options.WithDns)
        {
            await Task.WhenAll(CoreDnsPods.Select(p => StartCoreDnsAsync(p, ct)));
            Log($"  CoreDNS: {sw.ElapsedMilliseconds} ms");
        }
    }

    private void WriteHostRoot(LabNode node)
    {
        foreach (var (rel, content) in HostRootFiles.For(Plan, node.Index))
        {
            var path = Path.Combine(node.HostRoot, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
        }
        foreach (var mp in HostRootFiles.MountPoints) Directory.CreateDirectory(Path.Combine(node.HostRoot, mp));
    }

    /// <summary>
    /// PID 1 of the node: <c>unshare --pid --fork --mount --mount-proc</c> inside the node's netns
    /// (ip netns exec has already mounted the node's own /sys), which binds /proc and /sys under the
    /// host root and then sleeps. Killing it kills every process of the node.
    /// </summary>
    private async Task StartHolderAsync(LabNode node, CancellationToken ct)
    {
        var holder = await LabProcess.StartAsync($"{node.Name} holder", "ip",
        [
            "netns", "exec", node.NetnsName,
            "unshare", "--pid", "--fork", "--mount", "--mount-proc", "--propagation", "private",
            "sh", "-c", "mount --rbind /proc \"$1/proc\" && mount --rbind /sys \"$1/sys\" && exec sleep infinity", "holder", node.HostRoot,
        ], comm => comm == "sleep", ct);
        Track(holder);
        node.HolderPid = holder.HostPid;
    }

    private string WriteRunFile(string name, string content)
    {
        var path = Path.Combine(RunDir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private Task MustWriteAndRun(string what, string file, IReadOnlyList<string> args, string stdin, CancellationToken ct)
    {
        WriteRunFile(what.Replace(' ', '_') + ".batch", stdin);
        return Must(what, file, args, stdin, ct);
    }

    private static async Task Must(string what, string file, IReadOnlyList<string> args, string? stdin, CancellationToken ct)
        => (await Command.RunAsync(file, args, stdin, null, ct)).EnsureSuccess($"lab: {what} ({file} {string.Join(' ', args)})");

    /// <summary>
    /// Recreates flannel.1 on every node with a new VXLAN UDP port, as flanneld does after its
    /// net-conf (Backend.Port) changed and its pods restarted: device, address, routes, neighbours
    /// and FDB entries come back, pointing at the new port.
    /// </summary>
    public async Task RebuildOverlayAsync(int port, CancellationToken ct = default)
    {
        if (port is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "A UDP port is 1..65535.");
        await _gate.WaitAsync(ct);
        try
        {
            await Task.WhenAll(_nodes.Select(async node =>
            {
                var ipFile = WriteRunFile($"{node.Name}.overlay-{port}.ip", "link del flannel.1\n" + _scripts.OverlayBatch(node.Index, port));
                var fdbFile = WriteRunFile($"{node.Name}.overlay-{port}.fdb", _scripts.FdbBatch(node.Index));
                var script = $"ip -batch {ipFile}" + (_nodes.Count > 1 ? $" && bridge -batch {fdbFile}" : "");
                await Must($"rebuild overlay on {node.Name}", "ip", ["netns", "exec", node.NetnsName, "sh", "-c", script], null, ct);
            }));
            VxlanPort = port;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Kills every lab process, deletes every namespace of this lab and the work dir.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        string? owner = null;
        try { owner = File.ReadAllText(InstanceFile); } catch (IOException) { }
        var stillOurs = owner is null || owner == _instanceId;
        // Holders first: killing PID 1 of a node kills everything in that node's PID namespace.
        // (Only if still ours: a replaced lab's PIDs may have been reused.)
        if (stillOurs)
            foreach (var n in _nodes.Where(n => n.HolderPid > 0)) ProcFs.Kill(n.HolderPid);
        await Task.WhenAll(_processes.Select(p => p.StopAsync()));
        if (stillOurs) await LabCleanup.CleanupAsync(l => l == Name, [WorkDir]);
        _gate.Dispose();
    }

    internal static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
