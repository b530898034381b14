using System.Globalization;

namespace NetDiag.Lab;

public sealed partial class LabCluster
{
    /// <summary>How to undo each injected fault, by (fault, node).</summary>
    private readonly Dictionary<(string Fault, string Node), Func<Task>> _faults = [];

    /// <summary>Faults in force now, as (fault, node name).</summary>
    public IReadOnlyList<(string Fault, string Node)> ActiveFaults
    {
        get { lock (_faults) return _faults.Keys.ToList(); }
    }

    /// <summary>
    /// Makes a fault real on one node (see <see cref="LabFaults"/>). Injecting a fault that is
    /// already in force is a no-op. Unknown names throw ArgumentException listing the valid ones.
    /// </summary>
    public async Task InjectFaultAsync(string fault, string node, CancellationToken ct = default)
    {
        var name = LabFaults.Validate(fault);
        var n = Node(node);
        await _gate.WaitAsync(ct);
        try
        {
            lock (_faults) if (_faults.ContainsKey((name, n.Name))) return;
            var undo = await InjectAsync(name, n, ct);
            lock (_faults) _faults[(name, n.Name)] = undo;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc cref="InjectFaultAsync(string, string, CancellationToken)"/>
    public Task InjectFaultAsync(string fault, LabNode node, CancellationToken ct = default) => InjectFaultAsync(fault, node.Name, ct);

    /// <inheritdoc cref="ClearFaultAsync(string, string, CancellationToken)"/>
    public Task ClearFaultAsync(string fault, LabNode node, CancellationToken ct = default) => ClearFaultAsync(fault, node.Name, ct);

    /// <summary>Undoes a fault injected earlier (no-op when it is not in force).</summary>
    public async Task ClearFaultAsync(string fault, string node, CancellationToken ct = default)
    {
        var name = LabFaults.Validate(fault);
        var n = Node(node);
        await _gate.WaitAsync(ct);
        try
        {
            Func<Task>? undo;
            lock (_faults)
            {
                if (!_faults.Remove((name, n.Name), out undo)) return;
            }
            await undo();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The file the <see cref="LabFaults.IpForward"/> fault writes in a node's host root.</summary>
    public static string IpForwardFaultFile => HostRootFiles.IpForwardFaultFile;

    private Task<Func<Task>> InjectAsync(string fault, LabNode node, CancellationToken ct) => fault switch
    {
        LabFaults.IpForward => IpForwardAsync(node, ct),
        LabFaults.BridgeNetfilter => SysctlFaultAsync(node, "net.bridge.bridge-nf-call-iptables", "0", "1", ct),
        LabFaults.FlannelPort => FlannelPortAsync(node, ct),
        LabFaults.Firewall => FirewallAsync(node, ct),
        LabFaults.SecuritySoftware => SecuritySoftwareAsync(node, ct),
        LabFaults.Conntrack => ConntrackAsync(node, ct),
        LabFaults.DnsLoop => DnsLoopAsync(node, ct),
        LabFaults.DnsDead => CoreDnsProcessFaultAsync(node, metrics: false, ct),
        LabFaults.MetricsDead => CoreDnsProcessFaultAsync(node, metrics: true, ct),
        LabFaults.Mtu => MtuAsync(node, ct),
        _ => throw new ArgumentException($"Unhandled fault {fault}", nameof(fault)),
    };

    private static async Task NodeMust(LabNode node, string what, CancellationToken ct, string file, params string[] args)
        => (await node.ExecAsync(file, args, null, ct)).EnsureSuccess($"{node.Name}: {what}");

    private async Task<Func<Task>> IpForwardAsync(LabNode node, CancellationToken ct)
    {
        var file = Path.Combine(node.HostRoot, HostRootFiles.IpForwardFaultFile);
        await File.WriteAllTextAsync(file, HostRootFiles.IpForwardFaultContent, ct);
        await NodeMust(node, "ip_forward=0", ct, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0");
        return async () =>
        {
            File.Delete(file);
            await NodeMust(node, "ip_forward=1", default, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        };
    }

    private static async Task<Func<Task>> SysctlFaultAsync(LabNode node, string key, string bad, string good, CancellationToken ct)
    {
        await NodeMust(node, $"{key}={bad}", ct, "sysctl", "-q", "-w", $"{key}={bad}");
        return () => NodeMust(node, $"{key}={good}", default, "sysctl", "-q", "-w", $"{key}={good}");
    }

    /// <summary>The seed 000 fault: something drops the VXLAN port on one node.</summary>
    private async Task<Func<Task>> FlannelPortAsync(LabNode node, CancellationToken ct)
    {
        var port = VxlanPort.ToString(CultureInfo.InvariantCulture);
        string[] rule = ["INPUT", "-p", "udp", "-m", "udp", "--dport", port, "-j", "DROP"];
        await NodeMust(node, "drop VXLAN", ct, "iptables", ["-w", "5", "-A", .. rule]);
        return () => NodeMust(node, "undrop VXLAN", default, "iptables", ["-w", "5", "-D", .. rule]);
    }

    /// <summary>firewalld's chain layout (CentOS 7 era) with its catch-all REJECT ahead of the
    /// Kubernetes and flannel ACCEPT rules in FORWARD, and a firewalld process.</summary>
    private async Task<Func<Task>> FirewallAsync(LabNode node, CancellationToken ct)
    {
        const string rules =
            "*filter\n" +
            ":INPUT_direct - [0:0]\n:INPUT_ZONES - [0:0]\n:IN_public - [0:0]\n:IN_public_allow - [0:0]\n" +
            ":FORWARD_direct - [0:0]\n:FORWARD_IN_ZONES - [0:0]\n:FORWARD_OUT_ZONES - [0:0]\n" +
            ":FWDI_public - [0:0]\n:FWDO_public - [0:0]\n" +
            "-A INPUT_ZONES -g IN_public\n-A IN_public -j IN_public_allow\n" +
            "-A IN_public_allow -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW,UNTRACKED -j ACCEPT\n" +
            "-A FORWARD_IN_ZONES -g FWDI_public\n-A FORWARD_OUT_ZONES -g FWDO_public\n" +
            "-I INPUT 1 -j INPUT_direct\n-I INPUT 2 -j INPUT_ZONES\n" +
            "-I FORWARD 1 -j FORWARD_direct\n-I FORWARD 2 -j FORWARD_IN_ZONES\n-I FORWARD 3 -j FORWARD_OUT_ZONES\n" +
            "-I FORWARD 4 -m conntrack --ctstate INVALID -j DROP\n" +
            "-I FORWARD 5 -j REJECT --reject-with icmp-host-prohibited\n" +
            "COMMIT\n";
        (await node.ExecAsync("iptables-restore", ["-w", "5", "--noflush"], rules, ct)).EnsureSuccess($"{node.Name}: firewalld rules");
        var process = await StartRenamedSleepAsync(node, "usr/sbin/firewalld", ct);
        return async () =>
        {
            await process.StopAsync();
            const string undo =
                "iptables -w 5 -D FORWARD -j REJECT --reject-with icmp-host-prohibited; " +
                "iptables -w 5 -D FORWARD -m conntrack --ctstate INVALID -j DROP; " +
                "for c in FORWARD_direct FORWARD_IN_ZONES FORWARD_OUT_ZONES; do iptables -w 5 -D FORWARD -j $c; done; " +
                "for c in INPUT_direct INPUT_ZONES; do iptables -w 5 -D INPUT -j $c; done; " +
                "for c in INPUT_direct INPUT_ZONES IN_public IN_public_allow FORWARD_direct FORWARD_IN_ZONES FORWARD_OUT_ZONES FWDI_public FWDO_public; do iptables -w 5 -F $c; done; " +
                "for c in INPUT_direct INPUT_ZONES IN_public IN_public_allow FORWARD_direct FORWARD_IN_ZONES FORWARD_OUT_ZONES FWDI_public FWDO_public; do iptables -w 5 -X $c || exit 1; done";
            (await node.ShAsync(undo)).EnsureSuccess($"{node.Name}: remove firewalld rules");
        };
    }

    private async Task<Func<Task>> SecuritySoftwareAsync(LabNode node, CancellationToken ct)
    {
        var process = await StartRenamedSleepAsync(node, $"opt/qianxin/bin/{LabFaults.SecurityProcessName}", ct);
        return process.StopAsync;
    }

    /// <summary>A copy of sleep under another name, so comm and cmdline read like the product's daemon.</summary>
    private async Task<LabProcess> StartRenamedSleepAsync(LabNode node, string relativePath, CancellationToken ct)
    {
        var path = Path.Combine(WorkDir, "bin", node.Name, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            File.Copy("/bin/sleep", path);
#pragma warning disable CA1416 // the lab is Linux-only by nature
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
#pragma warning restore CA1416
        }
        return await node.StartInNodeAsync(path, ["infinity"], ct);
    }

    private async Task<Func<Task>> ConntrackAsync(LabNode node, CancellationToken ct)
    {
        var timeout = (await node.ExecAsync("cat", ["/proc/sys/net/netfilter/nf_conntrack_udp_timeout"], null, ct))
            .EnsureSuccess($"{node.Name}: read udp timeout").StdOut.Trim();
        // Unreplied UDP entries expire after nf_conntrack_udp_timeout (30 s); a day keeps the table
        // full for the whole test. The timeout is per namespace, the host keeps its own.
        await NodeMust(node, "udp timeout", ct, "sysctl", "-q", "-w", "net.netfilter.nf_conntrack_udp_timeout=86400");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var result = await ConntrackFiller.FillAsync(node.NetnsName, LabFaults.ConntrackFillRatio);
        Log($"conntrack on {node.Name}: {result.Count}/{result.Max} in {sw.ElapsedMilliseconds} ms");
        if (result.Count < result.Max * 0.9)
            throw new LabException($"{node.Name}: conntrack fill reached only {result.Count} of {result.Max}.");
        return async () =>
        {
            // conntrack -F flushes only the namespace it runs in.
            (await node.ExecAsync("conntrack", "-F")).EnsureSuccess($"{node.Name}: conntrack -F");
            await NodeMust(node, "udp timeout", default, "sysctl", "-q", "-w", $"net.netfilter.nf_conntrack_udp_timeout={timeout}");
        };
    }

    private async Task<Func<Task>> DnsLoopAsync(LabNode node, CancellationToken ct)
    {
        var file = Path.Combine(node.HostRoot, HostRootFiles.ResolvConf);
        var before = await File.ReadAllTextAsync(file, ct);
        await File.WriteAllTextAsync(file, HostRootFiles.LoopbackResolvConf, ct);
        return () => File.WriteAllTextAsync(file, before);
    }

    private async Task<Func<Task>> CoreDnsProcessFaultAsync(LabNode node, bool metrics, CancellationToken ct)
    {
        var pod = node.Pods.FirstOrDefault(p => p.IsCoreDns) ?? throw new ArgumentException(
            $"{node.Name} runs no CoreDNS pod; CoreDNS runs on {string.Join(", ", CoreDnsPods.Select(p => p.Node.Name))}.", nameof(node));
        var (dns, met) = _coreDns[pod.NetnsName];
        if (metrics)
        {
            if (met is not null) await met.StopAsync();
            _coreDns[pod.NetnsName] = (dns, null);
            return async () => _coreDns[pod.NetnsName] = (_coreDns[pod.NetnsName].Dns, await StartMetricsAsync(pod, default));
        }
        if (dns is not null) await dns.StopAsync();
        _coreDns[pod.NetnsName] = (null, met);
        return async () => _coreDns[pod.NetnsName] = (await StartDnsmasqAsync(pod, default), _coreDns[pod.NetnsName].Metrics);
    }

    /// <summary>
    /// The node's underlay at 1400 (its eth0 and its port on the underlay bridge, the "path"),
    /// flannel.1 left at 1450. Frames over 1400 toward the node are dropped by the bridge, as a
    /// real path with a smaller MTU drops them; small packets and pings still pass.
    /// </summary>
    private async Task<Func<Task>> MtuAsync(LabNode node, CancellationToken ct)
    {
        async Task Set(int mtu, CancellationToken c)
        {
            var m = mtu.ToString(CultureInfo.InvariantCulture);
            await Must($"mtu {m} on {node.Name}", "ip", ["-n", node.NetnsName, "link", "set", "eth0", "mtu", m], null, c);
            await Must($"mtu {m} on u{node.Index}", "ip", ["-n", UnderlayNetns, "link", "set", $"u{node.Index}", "mtu", m], null, c);
        }
        await Set(LabFaults.FaultUnderlayMtu, ct);
        return () => Set(LabAddressPlan.UnderlayMtu, default);
    }
}
