using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Checks;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Tests.Checks;

public class SecuritySoftwareCheckTests
{
    private static readonly IReadOnlyList<SecuritySoftwareSignature> Builtin = SecuritySoftwareList.BuiltIn();

    [Fact]
    public void Builtin_list_holds_the_seed_000_products()
    {
        foreach (var p in new[] { "qaxsafed", "sangfor_watchdog", "YDservice", "rtvscand", "start360su_safed", "gov_defence_service", "gov_defence_guard", "wsssr_defence_daemon", "wsssr_defence_service", "wsssr_defence_agent", "kesl" })
            Assert.Contains(Builtin, s => s.Process == p && s.Vendor.Length > 0);
    }

    [Fact]
    public void A_running_agent_is_a_warning_with_pid_and_vendor()
    {
        var procs = Gathered<List<ProcessInfo>>.Of(
        [
            ProcessInfo.FromProc(1, "systemd", "/sbin/init\0"),
            ProcessInfo.FromProc(4242, "qaxsafed", "/opt/qax/qaxsafed\0--daemon\0"),
            ProcessInfo.FromProc(4243, "qaxsafed", "/opt/qax/qaxsafed\0--worker\0"),
        ]);
        var o = SecuritySoftwareCheck.Evaluate(procs, Builtin);
        Assert.Equal(CheckStatus.Warning, o.Result.Status);
        var f = Assert.Single(o.Findings);
        Assert.Equal("security software qaxsafed", f.Cause);
        Assert.Contains("Qi-An-Xin", f.Message);
        Assert.Contains("4242, 4243", f.Message);
        Assert.Equal("pid 4242 comm qaxsafed: /opt/qax/qaxsafed --daemon (vendor Qi-An-Xin)", f.Evidence[0]);
        Assert.Null(f.AutoAction);
    }

    [Fact]
    public void The_list_extends_without_a_rebuild()
    {
        using var dir = new TempDir();
        var file = dir.Write("extra.json", """[{"process":"acme-guard","vendor":"ACME","note":"drops VXLAN"}]""");
        var extra = SecuritySoftwareList.FromFile(file);
        Assert.True(extra.Ok);
        var merged = SecuritySoftwareList.Merge(Builtin, extra.Value!);
        var f = Assert.Single(SecuritySoftwareCheck.Evaluate(Gathered<List<ProcessInfo>>.Of([ProcessInfo.FromProc(9, "acme-guard", "")]), merged).Findings);
        Assert.Contains("ACME", f.Message);
        Assert.Contains("drops VXLAN", f.Message);

        Assert.False(SecuritySoftwareList.FromFile(dir.Write("bad.json", "{not json")).Ok);
        Assert.False(SecuritySoftwareList.FromFile(dir.Write("noname.json", """[{"vendor":"x"}]""")).Ok);
        Assert.False(SecuritySoftwareList.FromFile(dir.Path("absent.json")).Ok);
    }

    [Fact]
    public void Clean_host_passes_and_unreadable_proc_is_unknown()
    {
        Assert.Equal(CheckStatus.Pass, SecuritySoftwareCheck.Evaluate(Gathered<List<ProcessInfo>>.Of([ProcessInfo.FromProc(1, "init", "")]), Builtin).Result.Status);
        Assert.Equal(CheckStatus.Unknown, SecuritySoftwareCheck.Evaluate(Gathered<List<ProcessInfo>>.Fail("no /proc"), Builtin).Result.Status);
    }
}

public class FirewallCheckTests
{
    private static readonly FirewallContext Ctx = new(["10.244.0.0/16"], "flannel.1", "cni0");

    private static Gathered<IptablesSnapshot> Snap(string dump) =>
        Gathered<IptablesSnapshot>.Of(new IptablesSnapshot("nft", IptablesSaveParser.Parse(dump), "test", []));

    private const string Healthy = """
        *filter
        :INPUT ACCEPT [0:0]
        :FORWARD DROP [0:0]
        :OUTPUT ACCEPT [0:0]
        :KUBE-FORWARD - [0:0]
        :FLANNEL-FWD - [0:0]
        -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
        -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
        -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
        -A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
        -A FLANNEL-FWD -s 10.244.0.0/16 -j ACCEPT
        -A FLANNEL-FWD -d 10.244.0.0/16 -j ACCEPT
        COMMIT
        """;

    private const string Firewalld = """
        *filter
        :INPUT ACCEPT [0:0]
        :FORWARD ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        :FORWARD_IN_ZONES - [0:0]
        :FORWARD_direct - [0:0]
        :FLANNEL-FWD - [0:0]
        -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        -A FORWARD -j FORWARD_direct
        -A FORWARD -j FORWARD_IN_ZONES
        -A FORWARD -m conntrack --ctstate INVALID -j DROP
        -A FORWARD -j REJECT --reject-with icmp-host-prohibited
        -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
        -A FORWARD_IN_ZONES -g FWDI_public
        -A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT
        COMMIT
        """;

    [Fact]
    public void Kubernetes_and_flannel_rules_alone_pass()
    {
        var o = FirewallCheck.Evaluate(Snap(Healthy), Gathered<List<ProcessInfo>>.Of([]), Ctx);
        Assert.Equal(CheckStatus.Pass, o.Result.Status);
    }

    [Fact]
    public void Reject_before_accept_is_critical_with_rule_text_and_position()
    {
        var o = FirewallCheck.Evaluate(Snap(Firewalld), Gathered<List<ProcessInfo>>.Of([ProcessInfo.FromProc(800, "firewalld", "/usr/bin/python3\0-s\0/usr/sbin/firewalld\0--nofork\0")]), Ctx);
        Assert.Equal(CheckStatus.Critical, o.Result.Status);
        var reject = o.Findings.Single(f => f.Cause == "FORWARD REJECT before ACCEPT");
        Assert.Equal(Severity.Critical, reject.Severity);
        Assert.Equal("filter FORWARD #5/6: -A FORWARD -j REJECT --reject-with icmp-host-prohibited", reject.Evidence[0]);
        Assert.Contains("#6/6", reject.Evidence[1]);
        Assert.Contains("iptables -D FORWARD -j REJECT --reject-with icmp-host-prohibited", reject.Remediation);
        Assert.Null(reject.AutoAction);

        var zones = o.Findings.Single(f => f.Cause == "firewalld chains");
        Assert.Equal(Severity.Warning, zones.Severity);
        Assert.Contains(zones.Evidence, e => e.StartsWith("filter :FORWARD_IN_ZONES (1 rules, jumped to from FORWARD #3"));
        Assert.Contains(zones.Evidence, e => e.StartsWith("pid 800 firewalld: /usr/bin/python3 -s /usr/sbin/firewalld"));
        Assert.Contains("systemctl stop firewalld", zones.Remediation);
    }

    [Fact]
    public void A_narrow_drop_before_accept_is_only_a_warning_and_invalid_drops_are_ignored()
    {
        const string dump = """
            *filter
            :FORWARD ACCEPT [0:0]
            -A FORWARD -m conntrack --ctstate INVALID -j DROP
            -A FORWARD -s 192.168.50.0/24 -j DROP
            -A FORWARD -s 10.244.0.0/16 -j ACCEPT
            COMMIT
            """;
        var f = Assert.Single(FirewallCheck.Evaluate(Snap(dump), Gathered<List<ProcessInfo>>.Of([]), Ctx).Findings);
        Assert.Equal(Severity.Warning, f.Severity);
        Assert.Equal("FORWARD DROP before ACCEPT", f.Cause);
        Assert.Contains("#2/3", f.Evidence[0]);
    }

    [Fact]
    public void Ufw_and_unknown_chains_are_named()
    {
        const string dump = "*filter\n:INPUT ACCEPT [0:0]\n:ufw-before-input - [0:0]\n:ufw-user-input - [0:0]\n:MYCORP-AUDIT - [0:0]\n-A INPUT -j ufw-before-input\nCOMMIT\n";
        var findings = FirewallCheck.Evaluate(Snap(dump), Gathered<List<ProcessInfo>>.Of([]), Ctx).Findings;
        Assert.Equal(["foreign iptables chains", "ufw chains"], findings.Select(f => f.Cause).Order());
    }

    [Fact]
    public void Unreadable_or_truncated_dumps_are_unknown_never_a_crash()
    {
        Assert.Equal(CheckStatus.Unknown, FirewallCheck.Evaluate(Gathered<IptablesSnapshot>.Fail("iptables-save not found (tool absent)"), Gathered<List<ProcessInfo>>.Of([]), Ctx).Result.Status);
        var truncated = FirewallCheck.Evaluate(Snap("*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j ACC"), Gathered<List<ProcessInfo>>.Of([]), Ctx);
        Assert.Equal(CheckStatus.Unknown, truncated.Result.Status);
        Assert.Contains("truncated", truncated.Result.Reason);
    }
}

public class MtuCheckTests
{
    private static Gathered<List<LinkInfo>> Links(int overlayMtu, int underlayMtu, string? vxlanDev = "eth0") => Gathered<List<LinkInfo>>.Of(
    [
        new LinkInfo("eth0", 2, underlayMtu, null, ["10.10.0.2"]),
        new LinkInfo("flannel.1", 3, overlayMtu, "vxlan", ["10.244.1.0"]) { VxlanLocal = "10.10.0.2", VxlanLink = vxlanDev },
    ]);

    [Theory]
    [InlineData(1450, 1500, "eth0", CheckStatus.Pass)]
    [InlineData(1500, 1500, "eth0", CheckStatus.Warning)]
    [InlineData(1450, 1450, null, CheckStatus.Warning)]   // underlay found through the vxlan local address
    [InlineData(1400, 1450, null, CheckStatus.Pass)]
    public void Overlay_must_leave_room_for_encapsulation(int overlay, int underlay, string? dev, CheckStatus expected)
    {
        var o = MtuCheck.Evaluate(new MtuFacts(Links(overlay, underlay, dev), "flannel.1", null, null, 50));
        Assert.Equal(expected, o.Result.Status);
        if (expected == CheckStatus.Warning)
        {
            var f = o.Findings.Single();
            Assert.Equal("overlay MTU too large", f.Cause);
            Assert.Equal((underlay - 50).ToString(), f.Data!["suggestedMtu"]);
            Assert.Contains($"flannel.1 mtu {overlay}", f.Evidence[0]);
        }
    }

    [Fact]
    public void Missing_devices_are_unknown()
    {
        Assert.Equal(CheckStatus.Unknown, MtuCheck.Evaluate(new MtuFacts(Gathered<List<LinkInfo>>.Of([]), "flannel.1", null, null, 50)).Result.Status);
        Assert.Equal(CheckStatus.Unknown, MtuCheck.Evaluate(new MtuFacts(Gathered<List<LinkInfo>>.Fail("ip not found"), "flannel.1", null, null, 50)).Result.Status);
        var lonely = Gathered<List<LinkInfo>>.Of([new LinkInfo("flannel.1", 3, 1450, "vxlan", [])]);
        Assert.Equal(CheckStatus.Unknown, MtuCheck.Evaluate(new MtuFacts(lonely, "flannel.1", null, null, 50)).Result.Status);
    }
}
