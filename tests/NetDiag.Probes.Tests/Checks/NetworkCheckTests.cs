using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Checks;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Tests.Checks;

public class FlannelPortCheckTests
{
    private static PeerNode Peer(int i) => new() { Name = $"n{i}", NodeIp = $"10.10.0.{i}", PodCidr = $"10.244.{i}.0/24" };
    private static PingResult Up(string ip) => new(ip, true, 0.2, "reply");
    private static PingResult Down(string ip) => new(ip, false, null, "no reply within 1000 ms");

    private static PeerProbe Probe(int i, bool underlay, bool overlay) =>
        new(Peer(i), underlay ? Up($"10.10.0.{i}") : Down($"10.10.0.{i}"), overlay ? Up($"10.244.{i}.0") : Down($"10.244.{i}.0"), null);

    private static Gathered<Dictionary<string, DeviceCounters>> Counters(long tx, long rx) =>
        Gathered<Dictionary<string, DeviceCounters>>.Of(new() { ["flannel.1"] = new DeviceCounters("flannel.1", rx * 100, rx, 0, tx * 100, tx, 0) });

    private static readonly Gathered<List<LinkInfo>> WithFlannel = Gathered<List<LinkInfo>>.Of([new LinkInfo("flannel.1", 3, 1450, "vxlan", [])]);

    private static FlannelFacts Facts(string self, IReadOnlyList<PeerProbe> peers, string dump = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", long txAfter = 0, long rxAfter = 0) =>
        new(self, new FlannelBackend(), "flannel.1", peers, null, WithFlannel, Counters(0, 0), Counters(txAfter, rxAfter),
            Gathered<IptablesSnapshot>.Of(new IptablesSnapshot("nft", IptablesSaveParser.Parse(dump), "test", [])));

    [Fact]
    public void All_overlays_up_passes()
    {
        var o = FlannelPortCheck.Evaluate(Facts("n1", [Probe(2, true, true), Probe(3, true, true)]));
        Assert.Equal(CheckStatus.Pass, o.Result.Status);
    }

    [Fact]
    public void The_node_holding_the_drop_rule_blames_itself_with_rule_and_counters()
    {
        const string dump = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp -m udp --dport 8472 -j DROP\nCOMMIT\n";
        var o = FlannelPortCheck.Evaluate(Facts("n1", [Probe(2, true, false), Probe(3, true, false)], dump, txAfter: 4, rxAfter: 0));
        Assert.Equal(CheckStatus.Critical, o.Result.Status);
        var f = Assert.Single(o.Findings);
        Assert.Equal("udp/8472 blocked at n1", f.Cause);
        Assert.Equal("n1", f.Data!["suspectNode"]);
        Assert.Equal("n2,n3", f.Data["failingPeers"]);
        Assert.Equal(ActionNames.PatchFlannelBackend, f.AutoAction);
        Assert.Contains(f.Evidence, e => e.StartsWith("n2: underlay 10.10.0.2 ok") && e.Contains("overlay 10.244.2.0 FAIL"));
        Assert.Contains(f.Evidence, e => e.Contains("TX +4 packets, RX +0 packets") && e.Contains("seed 000 signature"));
        Assert.Contains(f.Evidence, e => e.Contains("filter INPUT #1: -A INPUT -p udp -m udp --dport 8472 -j DROP"));
        Assert.Contains("iptables -D INPUT -p udp -m udp --dport 8472 -j DROP", f.Remediation);
        Assert.Contains("Backend.Port", f.Remediation);
    }

    [Fact]
    public void Failing_to_every_peer_blames_this_node_even_without_a_rule()
    {
        var f = Assert.Single(FlannelPortCheck.Evaluate(Facts("n1", [Probe(2, true, false), Probe(3, true, false)])).Findings);
        Assert.Equal("udp/8472 blocked at n1", f.Cause);
    }

    [Fact]
    public void Failing_to_one_peer_of_several_blames_that_peer_so_all_reporters_agree()
    {
        var f = Assert.Single(FlannelPortCheck.Evaluate(Facts("n2", [Probe(1, true, false), Probe(3, true, true)])).Findings);
        Assert.Equal("udp/8472 blocked at n1", f.Cause);
        Assert.Equal("n1", f.Data!["suspectNode"]);
        Assert.Equal("n2", f.Data["reporter"]);
    }

    [Fact]
    public void With_a_single_peer_the_pair_is_named_in_a_stable_order()
    {
        var a = Assert.Single(FlannelPortCheck.Evaluate(Facts("n2", [Probe(1, true, false)])).Findings);
        var b = Assert.Single(FlannelPortCheck.Evaluate(Facts("n1", [Probe(2, true, false)])).Findings);
        Assert.Equal("udp/8472 blocked between n1 and n2", a.Cause);
        Assert.Equal(a.Cause, b.Cause);
    }

    [Fact]
    public void A_candidate_port_that_gets_through_and_a_shared_segment_feed_the_auto_action()
    {
        var links = Gathered<List<LinkInfo>>.Of(
        [
            new LinkInfo("flannel.1", 3, 1450, "vxlan", []),
            new LinkInfo("eth0", 2, 1500, null, ["10.10.0.1"]) { Prefixes = ["10.10.0.1/24"] },
        ]);
        var facts = Facts("n2", [Probe(1, true, false), Probe(3, true, true)]) with { Links = links };
        facts = facts with
        {
            CandidatePorts =
            [
                new UdpPortResult("10.10.0.1", 8476, false, "no answer"),
                new UdpPortResult("10.10.0.1", 8475, true, "port unreachable from the peer's kernel: the datagram got through"),
            ],
        };
        var f = Assert.Single(FlannelPortCheck.Evaluate(facts).Findings);
        Assert.Equal("8475", f.Data![FindingDataKeys.PassingPort]);
        Assert.Equal("8472", f.Data[FindingDataKeys.BackendPort]);
        Assert.Equal("true", f.Data[FindingDataKeys.SameL2Segment]);
        Assert.Contains("8475 passed the probe's test", f.Remediation);

        var routed = facts with { Links = Gathered<List<LinkInfo>>.Of([new LinkInfo("flannel.1", 3, 1450, "vxlan", []), new LinkInfo("eth0", 2, 1500, null, ["192.168.9.1"]) { Prefixes = ["192.168.9.1/24"] }]) };
        Assert.Equal("false", Assert.Single(FlannelPortCheck.Evaluate(routed).Findings).Data![FindingDataKeys.SameL2Segment]);
        var noCandidate = facts with { CandidatePorts = [new UdpPortResult("10.10.0.1", 8475, false, "no answer")] };
        Assert.False(Assert.Single(FlannelPortCheck.Evaluate(noCandidate).Findings).Data!.ContainsKey(FindingDataKeys.PassingPort));
    }

    [Fact]
    public void Many_failing_peers_give_one_grouped_finding()
    {
        var peers = Enumerable.Range(2, 12).Select(i => Probe(i, true, i > 8)).ToList();
        var f = Assert.Single(FlannelPortCheck.Evaluate(Facts("n1", peers)).Findings);
        Assert.Equal("udp/8472 blocked toward 7 peers from n1", f.Cause);
    }

    [Fact]
    public void A_dead_underlay_is_not_blamed_on_flannel()
    {
        var o = FlannelPortCheck.Evaluate(Facts("n1", [Probe(2, false, false), Probe(3, true, true)]));
        Assert.Equal(CheckStatus.Unknown, o.Result.Status);
        Assert.Equal("peers unreachable on the underlay", o.Findings.Single().Cause);
    }

    [Fact]
    public void A_drop_rule_with_working_overlays_is_a_warning()
    {
        const string dump = "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 10.99.0.0/24 -p udp -m multiport --dports 4789,8472 -j DROP\nCOMMIT\n";
        var f = Assert.Single(FlannelPortCheck.Evaluate(Facts("n1", [Probe(2, true, true)], dump)).Findings);
        Assert.Equal(Severity.Warning, f.Severity);
        Assert.Equal("udp/8472 drop rule at n1", f.Cause);
    }

    [Fact]
    public void No_plan_no_device_and_other_backends()
    {
        Assert.Equal("no peers", FlannelPortCheck.Evaluate(Facts("n1", [])).Findings.Single().Cause);
        var noDevice = Facts("n1", [Probe(2, true, true)]) with { Links = Gathered<List<LinkInfo>>.Of([]) };
        Assert.Equal("no overlay device", FlannelPortCheck.Evaluate(noDevice).Findings.Single().Cause);
        var hostGw = Facts("n1", [Probe(2, true, false)]) with { Backend = new FlannelBackend { Type = "host-gw" } };
        Assert.Equal(CheckStatus.Pass, FlannelPortCheck.Evaluate(hostGw).Result.Status);
    }
}

public class PodCidrReachabilityCheckTests
{
    private static PeerProbe P(string name, bool up) =>
        new(new PeerNode { Name = name, NodeIp = "10.10.0.9", PodCidr = "10.244.9.0/24" }, new PingResult("10.10.0.9", true, 0.1, "reply"), null,
            new PingResult("10.244.9.1", up, up ? 0.3 : null, up ? "reply" : "no reply"));

    [Fact]
    public void Everything_up_passes_with_a_count() =>
        Assert.Equal("2/2 peer pod networks reachable", PodCidrReachabilityCheck.Evaluate("n1", [P("n2", true), P("n3", true)], null).Result.Reason);

    [Fact]
    public void One_peer_down_names_that_peer()
    {
        var f = Assert.Single(PodCidrReachabilityCheck.Evaluate("n1", [P("n2", false), P("n3", true)], null).Findings);
        Assert.Equal("pod network of n2 unreachable", f.Cause);
        Assert.Contains("although its node IP does", f.Message);
        Assert.Contains(f.Evidence, e => e.StartsWith("n1 -> n2 gateway 10.244.9.1: FAIL"));
    }

    [Fact]
    public void Everything_down_points_at_the_prober()
    {
        var f = Assert.Single(PodCidrReachabilityCheck.Evaluate("n1", [P("n2", false), P("n3", false)], "sampled 2 of 50 peers").Findings);
        Assert.Equal("pod networks unreachable from n1", f.Cause);
        Assert.Contains("sampled 2 of 50 peers", f.Evidence);
    }

    [Fact]
    public void No_peers_is_unknown() =>
        Assert.Equal(CheckStatus.Unknown, PodCidrReachabilityCheck.Evaluate("n1", [], null).Result.Status);

    [Fact]
    public void Sampling_is_deterministic_per_node_and_bounded()
    {
        var plan = new ProbePlan
        {
            Node = "n0", MaxPeers = 5,
            Peers = Enumerable.Range(0, 40).Select(i => new PeerNode { Name = $"n{i}", NodeIp = $"10.0.0.{i}" }).ToList(),
        };
        var (a, note) = PeerSampler.Sample(plan);
        var (b, _) = PeerSampler.Sample(plan);
        Assert.Equal(5, a.Count);
        Assert.Equal(a, b);
        Assert.DoesNotContain(a, p => p.Name == "n0");
        Assert.Equal("sampled 5 of 39 peers (maxPeers 5)", note);
        var (other, _) = PeerSampler.Sample(plan with { Node = "n1" });
        Assert.NotEqual(a.Select(p => p.Name), other.Select(p => p.Name));
    }
}

public class DnsServiceCheckTests
{
    private const string Name = "kubernetes.default.svc.cluster.local";
    private static DnsResult Ok(string server, params string[] answers) => new(server, Name, answers, "NoError", null);

    [Fact]
    public void Right_answers_everywhere_pass()
    {
        var o = DnsServiceCheck.Evaluate(
        [
            new DnsTargetProbe("10.244.1.5", false, Ok("10.244.1.5", "10.96.0.1"), new HttpResult("http://10.244.1.5:9153/metrics", 200, null)),
            new DnsTargetProbe("10.96.0.10", true, Ok("10.96.0.10", "10.96.0.1"), null),
        ], "10.96.0.1", true);
        Assert.Equal(CheckStatus.Pass, o.Result.Status);
    }

    [Fact]
    public void Each_failure_mode_has_its_own_cause()
    {
        var o = DnsServiceCheck.Evaluate(
        [
            new DnsTargetProbe("10.244.1.5", false, new DnsResult("10.244.1.5", Name, [], null, "no answer within 1000 ms"), new HttpResult("u", null, "Connection refused")),
            new DnsTargetProbe("10.244.2.5", false, new DnsResult("10.244.2.5", Name, [], null, "no answer within 1000 ms"), new HttpResult("u", 200, null)),
            new DnsTargetProbe("10.244.3.5", false, Ok("10.244.3.5", "1.2.3.4"), new HttpResult("u", 200, null)),
            new DnsTargetProbe("10.244.4.5", false, new DnsResult("10.244.4.5", Name, [], "ServerFailure", null), new HttpResult("u", 200, null)),
            new DnsTargetProbe("10.244.5.5", false, Ok("10.244.5.5", "10.96.0.1"), new HttpResult("u", null, "no answer within 1000 ms")),
        ], "10.96.0.1", true);
        Assert.Equal(
        [
            ("coredns 10.244.1.5 unreachable", Severity.Critical),
            ("dns 10.244.2.5 not answering", Severity.Critical),
            ("dns 10.244.3.5 wrong answer", Severity.Critical),
            ("dns 10.244.4.5 ServerFailure", Severity.Critical),
            ("coredns 10.244.5.5 metrics not answering", Severity.Warning),
        ], o.Findings.Select(f => (f.Cause, f.Severity)));
        Assert.Contains("not the kubernetes Service IP 10.96.0.1", o.Findings[2].Message);
    }

    [Fact]
    public void No_targets_says_no_plan() =>
        Assert.Contains("no plan", DnsServiceCheck.Evaluate([], null, false).Result.Reason);
}

public class DnsLoopCheckTests
{
    private static DnsLoopFacts Facts(string? kubeletFile, string? systemd = null, string path = "/etc/resolv.conf") =>
        new(new KubeletResolvConf(path, "kubelet default"), new ResolvFile(path, kubeletFile, kubeletFile is null ? "not found" : null),
            systemd is null ? null : new ResolvFile("/run/systemd/resolve/resolv.conf", systemd, null), RunsCoreDns: true);

    [Fact]
    public void Loopback_nameserver_is_a_warning_with_file_and_line()
    {
        var o = DnsLoopCheck.Evaluate(Facts("# stub\nnameserver 127.0.0.53\noptions edns0\n", "nameserver 10.0.0.2\nnameserver 10.0.0.3\n"));
        Assert.Equal(CheckStatus.Warning, o.Result.Status);
        var f = o.Findings.Single();
        Assert.Equal("loopback nameserver in kubelet resolv.conf", f.Cause);
        Assert.Equal("/etc/resolv.conf:2: nameserver 127.0.0.53", f.Evidence[0]);
        Assert.Equal("10.0.0.2,10.0.0.3", f.Data!["upstreams"]);
        Assert.Contains("resolvConf: /run/systemd/resolve/resolv.conf", f.Remediation);
        Assert.Equal(ActionNames.PatchCorefileForward, f.AutoAction);
    }

    [Fact]
    public void Real_upstreams_pass() =>
        Assert.Equal(CheckStatus.Pass, DnsLoopCheck.Evaluate(Facts("nameserver 10.0.0.2\n")).Result.Status);

    /// <summary>
    /// The loopback nameserver is a trap only while the Corefile forwards to /etc/resolv.conf: after
    /// patchCorefileForward the same node file must pass, or the re-check could never verify the fix.
    /// </summary>
    [Theory]
    [InlineData("nameserver 127.0.0.53\n", true, null, "Warning", "loopback nameserver in kubelet resolv.conf")]
    [InlineData("nameserver 127.0.0.53\n", false, "forward . 10.0.0.2", "Pass", "`forward . 10.0.0.2`|loopback nameserver 127.0.0.53 in /etc/resolv.conf (line 1) is not a loop trap")]
    [InlineData("# stub\nnameserver ::1\n", false, null, "Pass", "does not forward to /etc/resolv.conf|::1")]
    [InlineData("nameserver 10.0.0.2\n", false, "forward . 10.0.0.2", "Pass", "not on CoreDNS's path")]
    [InlineData("\u0000\nnameserver\n", false, "forward . 10.0.0.2", "Pass", "forward . 10.0.0.2")]
    [InlineData("\u0000\nnameserver\n", true, null, "Warning", "no nameserver in resolv.conf")]
    [InlineData(null, false, "forward . 10.0.0.2", "Pass", "not read (not found)")]
    [InlineData(null, true, null, "Unknown", "")]
    public void Loopback_is_a_trap_only_when_CoreDNS_forwards_to_resolv_conf(string? file, bool forwardsToResolvConf, string? forwardLine, string status, string expected)
    {
        var facts = Facts(file) with { CoreDnsForwardsToResolvConf = forwardsToResolvConf, CoreDnsForward = forwardLine };
        var o = DnsLoopCheck.Evaluate(facts);
        Assert.Equal(Enum.Parse<CheckStatus>(status), o.Result.Status);
        if (o.Result.Status == CheckStatus.Pass)
        {
            Assert.Empty(o.Findings);
            foreach (var part in expected.Split('|')) Assert.Contains(part, o.Result.Reason);
        }
        else if (expected.Length > 0)
            Assert.Equal(expected, o.Findings.Single().Cause);
    }

    [Fact]
    public void Missing_file_is_unknown_and_garbled_file_is_a_clear_finding()
    {
        Assert.Equal(CheckStatus.Unknown, DnsLoopCheck.Evaluate(Facts(null)).Result.Status);
        var garbled = DnsLoopCheck.Evaluate(Facts("\u0000\u0001\u0002\nnameserver\n"));
        Assert.Equal("no nameserver in resolv.conf", garbled.Findings.Single().Cause);
    }
}

public class KubeProxyCheckTests
{
    private static Gathered<List<TcpListener>> Listening(params int[] ports) =>
        Gathered<List<TcpListener>>.Of(ports.Select(p => new TcpListener(p == 10249 ? "127.0.0.1" : "0.0.0.0", p)).ToList());

    private static Gathered<IptablesSnapshot> Rules(string dump) =>
        Gathered<IptablesSnapshot>.Of(new IptablesSnapshot("nft", IptablesSaveParser.Parse(dump), "test", []));

    private const string WithDns = "*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -j KUBE-SVC-X\nCOMMIT\n";
    private static readonly Gathered<List<IpvsService>> NoIpvs = Gathered<List<IpvsService>>.Fail("/proc/net/ip_vs not found");
    private static readonly HttpResult Healthy = new("http://127.0.0.1:10256/healthz", 200, null);

    [Fact]
    public void Listening_healthy_and_programmed_passes() =>
        Assert.Equal(CheckStatus.Pass, KubeProxyCheck.Evaluate(new KubeProxyFacts(Listening(10249, 10256), Healthy, Rules(WithDns), NoIpvs, null, "10.96.0.10")).Result.Status);

    [Fact]
    public void Each_missing_piece_is_critical()
    {
        var none = KubeProxyCheck.Evaluate(new KubeProxyFacts(Listening(), null, Rules("*nat\nCOMMIT\n"), NoIpvs, null, "10.96.0.10"));
        Assert.Equal(["kube-proxy not listening", "no KUBE-SERVICES chain"], none.Findings.Select(f => f.Cause));

        var unhealthy = KubeProxyCheck.Evaluate(new KubeProxyFacts(Listening(10249, 10256), new HttpResult("h", 503, null), Rules(WithDns), NoIpvs, null, "10.96.0.10"));
        Assert.Equal("kube-proxy healthz failing", unhealthy.Findings.Single().Cause);

        var stale = KubeProxyCheck.Evaluate(new KubeProxyFacts(Listening(10249, 10256), Healthy, Rules(WithDns), NoIpvs, "iptables", "10.96.0.99"));
        Assert.Equal("kube-dns ClusterIP not programmed", stale.Findings.Single().Cause);
    }

    [Fact]
    public void Ipvs_mode_reads_virtual_servers()
    {
        var ipvs = Gathered<List<IpvsService>>.Of([new IpvsService("UDP", "10.96.0.10", 53, 2)]);
        Assert.Equal(CheckStatus.Pass, KubeProxyCheck.Evaluate(new KubeProxyFacts(Listening(10249, 10256), Healthy, Rules("*nat\nCOMMIT\n"), ipvs, "ipvs", "10.96.0.10")).Result.Status);
        var empty = KubeProxyCheck.Evaluate(new KubeProxyFacts(Listening(10249, 10256), Healthy, Rules("*nat\nCOMMIT\n"), Gathered<List<IpvsService>>.Of([]), "ipvs", "10.96.0.10"));
        Assert.Equal("no IPVS services", empty.Findings.Single().Cause);
    }
}
