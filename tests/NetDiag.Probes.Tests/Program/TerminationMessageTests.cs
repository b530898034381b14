using System.Text;
using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Checks;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Tests.Program;

/// <summary>The compact report must reach the operator through the kubelet's 4 KiB termination message on a 100-node mesh.</summary>
public class TerminationMessageTests
{
    private static PeerProbe Peer(int i, bool overlay, bool gateway) => new(
        new PeerNode { Name = $"worker-{i:000}", NodeIp = $"10.10.{i / 250}.{i % 250 + 2}", PodCidr = $"10.244.{i}.0/24" },
        new PingResult($"10.10.{i / 250}.{i % 250 + 2}", true, 0.3, "reply"),
        new PingResult($"10.244.{i}.0", overlay, overlay ? 0.4 : null, overlay ? "reply" : "no reply within 1000 ms"),
        new PingResult($"10.244.{i}.1", gateway, gateway ? 0.4 : null, gateway ? "reply" : "no reply within 1000 ms"));

    private static ProbeReport WorstCaseReport(IReadOnlyList<PeerProbe> peers)
    {
        var iptables = Gathered<IptablesSnapshot>.Of(new IptablesSnapshot("nft", IptablesSaveParser.Parse(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:FORWARD_IN_ZONES - [0:0]\n:IN_public - [0:0]\n:FLANNEL-FWD - [0:0]\n" +
            "-A INPUT -p udp -m udp --dport 8472 -j DROP\n-A FORWARD -j FORWARD_IN_ZONES\n-A FORWARD -j REJECT --reject-with icmp-host-prohibited\n" +
            "-A FORWARD -j FLANNEL-FWD\n-A FLANNEL-FWD -s 10.244.0.0/16 -j ACCEPT\nCOMMIT\n"), "nft backend holds the Kubernetes/CNI chains", []));
        var counters = Gathered<Dictionary<string, DeviceCounters>>.Of(new() { ["flannel.1"] = new("flannel.1", 0, 0, 0, 100, 1, 0) });
        var links = Gathered<List<LinkInfo>>.Of([new LinkInfo("flannel.1", 3, 1500, "vxlan", []) { VxlanLink = "eth0" }, new LinkInfo("eth0", 2, 1500, null, ["10.10.0.1"])]);
        var config = Gathered<SysctlReplayResult>.Of(SysctlReplay.Replay([new SysctlFile("/etc/sysctl.d/99-zz-hardening.conf", "net.ipv4.ip_forward = 0")]));
        var procs = Gathered<List<ProcessInfo>>.Of([ProcessInfo.FromProc(4242, "qaxsafed", "/opt/qax/qaxsafed\0"), ProcessInfo.FromProc(77, "firewalld", "/usr/sbin/firewalld\0--nofork\0")]);
        var dnsTargets = new[] { "10.244.1.3", "10.244.2.3", "10.96.0.10" }
            .Select(ip => new DnsTargetProbe(ip, ip.StartsWith("10.96"), new DnsResult(ip, "kubernetes.default.svc.cluster.local", [], null, "no answer within 1000 ms"),
                ip.StartsWith("10.96") ? null : new HttpResult($"http://{ip}:9153/metrics", null, "no answer within 1000 ms"))).ToList();
        CheckOutcome[] outcomes =
        [
            IpForwardCheck.Evaluate(Gathered<string?>.Of("0"), config),
            BridgeNetfilterCheck.Evaluate(Gathered<string?>.Of(null), config),
            FlannelPortCheck.Evaluate(new FlannelFacts("worker-000", new FlannelBackend(), "flannel.1", peers, null, links, counters, counters, iptables)),
            PodCidrReachabilityCheck.Evaluate("worker-000", peers, null),
            DnsServiceCheck.Evaluate(dnsTargets, "10.96.0.1", true),
            FirewallCheck.Evaluate(iptables, procs, new FirewallContext(["10.244.0.0/16"], "flannel.1", "cni0")),
            SecuritySoftwareCheck.Evaluate(procs, SecuritySoftwareList.BuiltIn()),
            ConntrackCheck.Evaluate(Gathered<string?>.Of("262144"), Gathered<string?>.Of("262144"),
                Gathered<List<KernelLogLine>>.Of([new KernelLogLine("nf_conntrack: table full, dropping packet", TimeSpan.FromMinutes(1), "/dev/kmsg")]), new ProbeThresholds()),
            MtuCheck.Evaluate(new MtuFacts(links, "flannel.1", "10.10.0.1", null, 50)),
            DnsLoopCheck.Evaluate(new DnsLoopFacts(new KubeletResolvConf("/etc/resolv.conf", "kubelet default"),
                new ResolvFile("/etc/resolv.conf", "nameserver 127.0.0.53\n", null), new ResolvFile("/run/systemd/resolve/resolv.conf", "nameserver 10.0.0.2\n", null), true)),
            KubeProxyCheck.Evaluate(new KubeProxyFacts(Gathered<List<TcpListener>>.Of([]), null, iptables, Gathered<List<IpvsService>>.Fail("absent"), null, "10.96.0.10")),
        ];
        return new ProbeReport
        {
            Node = "worker-000", StartedAt = DateTimeOffset.UnixEpoch, DurationMs = 1234,
            Checks = outcomes.Select(o => o.Result).ToList(),
            Findings = outcomes.SelectMany(o => o.Findings).ToList(),
        };
    }

    [Theory]
    [InlineData(99, 0)]   // this node's overlay is dead to all 99 peers
    [InlineData(40, 40)]  // many peers down: grouped findings
    [InlineData(3, 3)]    // a few peers down: one finding per peer
    public void Compact_report_with_every_check_failing_on_a_100_node_mesh_fits_4_KiB_and_keeps_every_status(int overlayDown, int gatewayDown)
    {
        var peers = Enumerable.Range(1, 99).Select(i => Peer(i, overlay: i > overlayDown, gateway: i > gatewayDown)).ToList();
        var report = WorstCaseReport(peers);
        Assert.Equal(11, report.Checks.Count);

        var message = ProbeReportCodec.ToTerminationMessage(report);
        Assert.True(Encoding.UTF8.GetByteCount(message) <= ProbeReportCodec.TerminationMessageLimit, $"{Encoding.UTF8.GetByteCount(message)} bytes");
        Assert.True(ProbeReportCodec.TryParse(message, out var compact, out var error), error);
        Assert.Equal(report.Checks.Select(c => (c.Check, c.Status)), compact!.Checks.Select(c => (c.Check, c.Status)));
        Assert.NotEmpty(compact.Findings);
    }

    [Theory]
    [InlineData(99, 0)]
    [InlineData(40, 40)]
    [InlineData(3, 3)]
    public void Compact_report_of_a_broken_overlay_on_a_100_node_mesh_keeps_every_finding(int overlayDown, int gatewayDown)
    {
        var peers = Enumerable.Range(1, 99).Select(i => Peer(i, overlay: i > overlayDown, gateway: i > gatewayDown)).ToList();
        var full = WorstCaseReport(peers);
        string[] broken = [CheckNames.FlannelPort, CheckNames.PodCidrReachability];
        var report = full with
        {
            Checks = full.Checks.Select(c => broken.Contains(c.Check) ? c : c with { Status = CheckStatus.Pass, Reason = "ok" }).ToList(),
            Findings = full.Findings.Where(f => broken.Contains(f.Check)).ToList(),
        };
        var message = ProbeReportCodec.ToTerminationMessage(report);
        Assert.True(Encoding.UTF8.GetByteCount(message) <= ProbeReportCodec.TerminationMessageLimit);
        Assert.True(ProbeReportCodec.TryParse(message, out var compact, out var error), error);
        Assert.Equal(report.Findings.Select(f => (f.Check, f.Cause)), compact!.Findings.Select(f => (f.Check, f.Cause)));
        var flannel = compact.Findings.First(f => f.Check == CheckNames.FlannelPort);
        Assert.Equal("8472", flannel.Data![FindingDataKeys.BackendPort]);
    }
}
