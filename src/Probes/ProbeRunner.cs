using System.Diagnostics;
using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Checks;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes;

/// <summary>Everything one probe run needs besides the check list.</summary>
/// <param name="PlanPresent">False when run by hand without a plan: checks that need peers or DNS targets say Unknown.</param>
/// <param name="ProcRoot">Normally /proc (the node's, thanks to hostPID/hostNetwork).</param>
public sealed record ProbeSettings(
    ProbePlan Plan,
    bool PlanPresent,
    string HostRoot,
    string ProcRoot,
    IReadOnlyList<SecuritySoftwareSignature> Signatures,
    string KmsgPath,
    TimeProvider Time)
{
    /// <summary>How far back a conntrack "table full" kernel line still counts.</summary>
    public TimeSpan ConntrackLogWindow { get; init; } = TimeSpan.FromHours(1);
}

/// <summary>
/// Runs the selected node checks concurrently. Facts that several checks use (iptables, the
/// process list, the links, the peer pings) are gathered once, lazily, by whichever check asks first.
/// Every check is contained: an unexpected error becomes Unknown for that check, never a crash.
/// </summary>
public sealed class ProbeRunner
{
    private readonly ProbeSettings _s;
    private readonly HostFileSystem _host;
    private readonly ProcCollector _proc;
    private readonly TimeSpan _collectorTimeout;
    private readonly TimeSpan _targetTimeout;
    private readonly Lazy<Task<Gathered<SysctlReplayResult>>> _sysctlConfig;
    private readonly Lazy<Task<Gathered<IptablesSnapshot>>> _iptables;
    private readonly Lazy<Task<Gathered<List<ProcessInfo>>>> _processes;
    private readonly Lazy<Task<Gathered<List<LinkInfo>>>> _links;
    private readonly Lazy<Task<IReadOnlyList<PeerProbe>>> _peerProbes;
    private readonly (IReadOnlyList<PeerNode> Peers, string? Note) _sample;

    public ProbeRunner(ProbeSettings settings)
    {
        _s = settings;
        _host = new HostFileSystem(settings.HostRoot);
        _proc = new ProcCollector(settings.ProcRoot);
        _collectorTimeout = TimeSpan.FromMilliseconds(Math.Max(100, settings.Plan.Timeouts.CollectorMs));
        _targetTimeout = TimeSpan.FromMilliseconds(Math.Max(50, settings.Plan.Timeouts.PerTargetMs));
        _sysctlConfig = new(() => Guard.RunSync("sysctl configuration", _collectorTimeout, () => Gathered<SysctlReplayResult>.Of(SysctlCollector.ReadConfiguration(_host))));
        _iptables = new(() => Guard.RunAsync("iptables", _collectorTimeout, _ => IptablesCollector.CollectAsync(_collectorTimeout)));
        _processes = new(() => Guard.RunSync("process list", _collectorTimeout, _proc.Processes));
        _links = new(() => Guard.RunAsync("network devices", _collectorTimeout, _ => LinkCollector.CollectAsync(_collectorTimeout)));
        _sample = PeerSampler.Sample(settings.Plan);
        _peerProbes = new(ProbePeersAsync);
    }

    public string NodeName => _s.Plan.Node;

    public async Task<ProbeReport> RunAsync(IReadOnlyList<string> checks)
    {
        // Checks block briefly on file reads; enough pool threads up front keeps one check's
        // blocking from delaying another's timers (the pool otherwise grows slowly on 2 cores).
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (workers < 16) ThreadPool.SetMinThreads(16, Math.Max(io, 16));
        var started = _s.Time.GetUtcNow();
        var sw = Stopwatch.StartNew();
        var tasks = checks.Select(c => Task.Run(() => RunContainedAsync(c))).ToArray();
        var outcomes = await Task.WhenAll(tasks).ConfigureAwait(false);
        return new ProbeReport
        {
            Node = _s.Plan.Node,
            StartedAt = started,
            DurationMs = sw.ElapsedMilliseconds,
            Checks = outcomes.Select(o => o.Result).ToList(),
            Findings = outcomes.SelectMany(o => o.Findings).ToList(),
        };
    }

    private async Task<CheckOutcome> RunContainedAsync(string check)
    {
        try
        {
            return await RunCheckAsync(check).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return CheckOutcome.Unknown(check, "probe error", $"the check failed unexpectedly: {e.GetType().Name}: {e.Message}");
        }
    }

    private async Task<CheckOutcome> RunCheckAsync(string check)
    {
        var plan = _s.Plan;
        switch (check)
        {
            case CheckNames.IpForward:
                return IpForwardCheck.Evaluate(SysctlCollector.ReadRuntime(_proc.Root, SysctlKeys.IpForward), await _sysctlConfig.Value);
            case CheckNames.BridgeNetfilter:
                return BridgeNetfilterCheck.Evaluate(SysctlCollector.ReadRuntime(_proc.Root, SysctlKeys.BridgeNfCallIptables), await _sysctlConfig.Value);
            case CheckNames.Conntrack:
            {
                var count = SysctlCollector.ReadRuntime(_proc.Root, "net.netfilter.nf_conntrack_count");
                var max = SysctlCollector.ReadRuntime(_proc.Root, SysctlKeys.ConntrackMax);
                var uptime = _proc.Uptime();
                var now = _s.Time.GetUtcNow();
                var log = await Guard.RunSync("kernel log", _collectorTimeout,
                    () => KernelLogCollector.Collect(_s.KmsgPath, uptime.Value, _host, now));
                var drops = log.Map(lines => KernelLogParser.ConntrackDrops(lines, _s.ConntrackLogWindow));
                return ConntrackCheck.Evaluate(count, max, drops, plan.Thresholds);
            }
            case CheckNames.SecuritySoftware:
                return SecuritySoftwareCheck.Evaluate(await _processes.Value, _s.Signatures);
            case CheckNames.Firewall:
                return FirewallCheck.Evaluate(await _iptables.Value, await _processes.Value, FirewallContextFor(plan));
            case CheckNames.Mtu:
            {
                var route = _proc.Read("net/route");
                return MtuCheck.Evaluate(new MtuFacts(await _links.Value, plan.OverlayDevice, plan.Self?.NodeIp,
                    ProcNetRouteParser.DefaultRouteDevice(route.Value), plan.Thresholds.VxlanOverheadBytes));
            }
            case CheckNames.FlannelPort:
            {
                var before = _proc.DeviceCounters();
                var iptables = _iptables.Value;
                var links = _links.Value;
                var peers = await _peerProbes.Value;
                var after = _proc.DeviceCounters();
                var candidates = await TestCandidatePortsAsync(peers);
                return FlannelPortCheck.Evaluate(new FlannelFacts(plan.Node, plan.Flannel, plan.OverlayDevice, peers, _sample.Note,
                    await links, before, after, await iptables) { CandidatePorts = candidates });
            }
            case CheckNames.PodCidrReachability:
                return PodCidrReachabilityCheck.Evaluate(plan.Node, await _peerProbes.Value, _sample.Note);
            case CheckNames.DnsService:
            {
                var external = ProbeExternalNameAsync(); // in parallel with the per-target queries
                return DnsServiceCheck.Evaluate(await ProbeDnsAsync(), plan.KubernetesServiceIp, _s.PlanPresent, await external);
            }
            case CheckNames.DnsLoop:
                return DnsLoopCheck.Evaluate(await Task.Run(DnsLoopFacts).ConfigureAwait(false));
            case CheckNames.KubeProxy:
                return KubeProxyCheck.Evaluate(await KubeProxyFactsAsync());
            default:
                return CheckOutcome.Unknown(check, "not a node check", $"'{check}' has no node half");
        }
    }

    private static FirewallContext FirewallContextFor(ProbePlan plan)
    {
        var networks = new List<string>();
        if (plan.Flannel.Network is { } n) networks.Add(n);
        if (plan.Self?.PodCidr is { } s) networks.Add(s);
        networks.AddRange(plan.Peers.Select(p => p.PodCidr).OfType<string>());
        return new FirewallContext(networks, plan.OverlayDevice, plan.BridgeDevice);
    }

    /// <summary>All pings to all sampled peers at once: underlay, overlay (.0) and gateway (.1).</summary>
    private async Task<IReadOnlyList<PeerProbe>> ProbePeersAsync()
    {
        var t = _targetTimeout;
        Task<PingResult>? Ping(string? ip) => ip is null ? null : NetworkProbes.PingAsync(ip, t);
        var pending = _sample.Peers.Select(p => (Peer: p,
            Underlay: Ping(string.IsNullOrWhiteSpace(p.NodeIp) ? null : p.NodeIp),
            Overlay: Ping(Cidr.HostAt(p.PodCidr, 0)),
            Gateway: Ping(Cidr.HostAt(p.PodCidr, 1)))).ToList();
        var all = pending.SelectMany(p => new[] { p.Underlay, p.Overlay, p.Gateway }).OfType<Task<PingResult>>();
        await Task.WhenAll(all).ConfigureAwait(false);
        return pending.Select(p => new PeerProbe(p.Peer, p.Underlay?.Result, p.Overlay?.Result, p.Gateway?.Result)).ToList();
    }

    /// <summary>Seed 000's fix moves flannel to another port (8475): try such ports toward the peers whose overlay fails.</summary>
    public static readonly int[] CandidateVxlanPorts = [8475, 8476, 8477];

    private async Task<IReadOnlyList<UdpPortResult>> TestCandidatePortsAsync(IReadOnlyList<PeerProbe> peers)
    {
        if (!string.Equals(_s.Plan.Flannel.Type, "vxlan", StringComparison.OrdinalIgnoreCase)) return [];
        var failing = peers.Where(p => p.Underlay is { Ok: true } && p.Overlay is { Ok: false }).Take(10).ToList();
        if (failing.Count == 0) return [];
        var tests = CandidateVxlanPorts.Where(port => port != _s.Plan.Flannel.Port)
            .SelectMany(port => failing.Select(p => UdpPortProbe.TestAsync(p.Peer.NodeIp, port, _targetTimeout)));
        return await Task.WhenAll(tests).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<DnsTargetProbe>> ProbeDnsAsync()
    {
        var plan = _s.Plan;
        var name = $"kubernetes.default.svc.{plan.ClusterDomain.Trim('.')}";
        var t = _targetTimeout;
        var targets = plan.CoreDnsPodIps.Where(ip => !string.IsNullOrWhiteSpace(ip)).Distinct()
            .Select(ip => (ip, service: false))
            .Concat(plan.KubeDnsServiceIp is { Length: > 0 } svc ? [(svc, true)] : Array.Empty<(string, bool)>())
            .ToList();
        var work = targets.Select(async x =>
        {
            var dns = NetworkProbes.QueryAAsync(x.Item1, name, t);
            var metrics = x.Item2 ? null : NetworkProbes.GetAsync($"http://{HostForUrl(x.Item1)}:9153/metrics", t);
            return new DnsTargetProbe(x.Item1, x.Item2, await dns.ConfigureAwait(false), metrics is null ? null : await metrics.ConfigureAwait(false));
        });
        return await Task.WhenAll(work).ConfigureAwait(false);
    }

    /// <summary>
    /// The plan's external name through cluster DNS, as a pod would ask (the kube-dns ClusterIP;
    /// a CoreDNS pod IP when the plan has no ClusterIP). Null when no external name is configured.
    /// </summary>
    private async Task<DnsResult?> ProbeExternalNameAsync()
    {
        var plan = _s.Plan;
        if (string.IsNullOrWhiteSpace(plan.ExternalName)) return null;
        var server = plan.KubeDnsServiceIp is { Length: > 0 } svc ? svc : plan.CoreDnsPodIps.FirstOrDefault(ip => !string.IsNullOrWhiteSpace(ip));
        if (server is null) return null;
        return await NetworkProbes.QueryAAsync(server, plan.ExternalName.Trim(), _targetTimeout).ConfigureAwait(false);
    }

    private static string HostForUrl(string ip) => ip.Contains(':') ? $"[{ip}]" : ip;

    private DnsLoopFacts DnsLoopFacts()
    {
        // kubelet: the --resolv-conf flag wins over config.yaml; the default is /etc/resolv.conf.
        var source = new KubeletResolvConf(KubeletConfigParser.DefaultResolvConf, "kubelet default");
        foreach (var flagsFile in new[] { "/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet" })
            if (KubeletConfigParser.ResolvConfFromFlags(_host.ReadText(flagsFile).Value) is { } flag)
            { source = new(flag.Path, $"{flagsFile}:{flag.Line}"); break; }
        if (source.Source == "kubelet default" && KubeletConfigParser.ResolvConfFromConfigYaml(_host.ReadText("/var/lib/kubelet/config.yaml").Value) is { } cfg)
            source = new(cfg.Path, $"/var/lib/kubelet/config.yaml:{cfg.Line}");
        var file = _host.ReadText(source.Path);
        const string systemdPath = "/run/systemd/resolve/resolv.conf";
        var systemd = _host.ReadText(systemdPath);
        return new DnsLoopFacts(source, new ResolvFile(source.Path, file.Value, file.Error),
            systemd.Ok ? new ResolvFile(systemdPath, systemd.Value, null) : null, _s.Plan.RunsCoreDns,
            _s.Plan.CorednsForwardsToResolvConf, _s.Plan.CorednsForward);
    }

    private async Task<KubeProxyFacts> KubeProxyFactsAsync()
    {
        var listeners = _proc.TcpListeners();
        HttpResult? healthz = null;
        if (listeners.Ok && listeners.Value!.FirstOrDefault(l => l.Port == KubeProxyCheck.HealthzPort) is { } h)
        {
            var host = h.IsWildcard ? "127.0.0.1" : HostForUrl(h.Address);
            // A local listener, not a network target: allow the collector budget, so a busy node
            // is not mistaken for a dead kube-proxy.
            healthz = await NetworkProbes.GetAsync($"http://{host}:{KubeProxyCheck.HealthzPort}/healthz", _collectorTimeout).ConfigureAwait(false);
        }
        var ipvsText = _proc.Read("net/ip_vs");
        var ipvs = ipvsText.Map(ProcIpVsParser.Parse);
        return new KubeProxyFacts(listeners, healthz, await _iptables.Value, ipvs, _s.Plan.KubeProxyMode, _s.Plan.KubeDnsServiceIp);
    }
}

/// <summary>
/// Chooses which peers to probe: all of them up to <see cref="ProbePlan.MaxPeers"/>, beyond that a
/// sample that is deterministic per node (the same node probes the same peers on every run) and
/// different across nodes (so together they cover the cluster).
/// </summary>
public static class PeerSampler
{
    public static (IReadOnlyList<PeerNode> Peers, string? Note) Sample(ProbePlan plan)
    {
        var peers = plan.Peers.Where(p => p.Name != plan.Node).ToList();
        var max = plan.MaxPeers <= 0 ? int.MaxValue : plan.MaxPeers;
        if (peers.Count <= max) return (peers, null);
        var chosen = peers.OrderBy(p => Fnv1a(plan.Node + "|" + p.Name)).ThenBy(p => p.Name, StringComparer.Ordinal).Take(max)
            .OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        return (chosen, $"sampled {chosen.Count} of {peers.Count} peers (maxPeers {plan.MaxPeers})");
    }

    private static uint Fnv1a(string s)
    {
        var h = 2166136261u;
        foreach (var c in s) { h ^= c; h *= 16777619u; }
        return h;
    }
}
