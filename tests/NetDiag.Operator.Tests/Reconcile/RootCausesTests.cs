using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Status;

namespace NetDiag.Operator.Tests.Reconcile;

public class RootCausesTests
{
    private static ScopedFinding F(string check, Severity severity, string cause, string? node, Dictionary<string, string>? data = null) =>
        new(new Finding { Check = check, Severity = severity, Cause = cause, Message = $"{check}: {cause}", Data = data }, node);

    [Fact]
    public void A_blocked_overlay_port_leaves_the_reachability_and_dns_failures_it_causes_as_info_naming_it()
    {
        var findings = new[]
        {
            F(CheckNames.FlannelPort, Severity.Critical, "udp/8472 blocked at node-3", "node-1", new() { ["suspectNode"] = "node-3" }),
            F(CheckNames.PodCidrReachability, Severity.Critical, "pod network of node-3 unreachable", "node-1", new() { ["suspectNode"] = "node-3", ["reporter"] = "node-1" }),
            F(CheckNames.PodCidrReachability, Severity.Critical, "pod networks of 3 peers unreachable from node-3", "node-3", new() { ["downPeers"] = "node-1,node-2,node-4", ["reporter"] = "node-3" }),
            F(CheckNames.DnsService, Severity.Critical, "dns timeout", "node-3", new() { ["target"] = "10.244.1.3" }),
            F(CheckNames.DnsService, Severity.Critical, "dns timeout", "node-1", new() { ["target"] = "10.244.3.3" }),
        };

        var folded = RootCauses.Fold(findings, new Dictionary<string, string> { ["10.244.3.3"] = "node-3" });

        Assert.Equal(Severity.Critical, folded[0].Finding.Severity);
        Assert.All(folded.Skip(1), f =>
        {
            Assert.Equal(Severity.Info, f.Finding.Severity);
            Assert.Contains(". This follows from flannelPort on node-3", f.Finding.Message);
        });
    }

    [Fact]
    public void An_overlay_mtu_above_the_underlay_explains_a_timed_out_metrics_fetch_through_that_node()
    {
        var findings = new[]
        {
            F(CheckNames.Mtu, Severity.Warning, "overlay mtu above underlay", "node-3"),
            F(CheckNames.DnsService, Severity.Critical, "coredns metrics timeout", "node-3", new() { ["target"] = "10.244.1.3" }),
            F(CheckNames.DnsService, Severity.Critical, "coredns metrics timeout", "node-1", new() { ["target"] = "10.244.2.3" }),
        };

        var folded = RootCauses.Fold(findings);

        Assert.Equal(Severity.Warning, folded[0].Finding.Severity);
        Assert.Equal(Severity.Info, folded[1].Finding.Severity);
        Assert.Contains("follows from mtu on node-3", folded[1].Finding.Message);
        Assert.Equal(Severity.Critical, folded[2].Finding.Severity);
    }

    [Fact]
    public void An_unrelated_failure_on_a_healthy_node_stays_critical()
    {
        var findings = new[]
        {
            F(CheckNames.IpForward, Severity.Critical, "ip_forward=0", "node-3"),
            F(CheckNames.PodCidrReachability, Severity.Critical, "pod network of node-2 unreachable", "node-1", new() { ["suspectNode"] = "node-2" }),
            F(CheckNames.DnsService, Severity.Critical, "dns timeout", "node-1", new() { ["target"] = "10.244.2.3" }),
        };

        var folded = RootCauses.Fold(findings);

        Assert.All(folded, f => Assert.Equal(Severity.Critical, f.Finding.Severity));
    }

    [Fact]
    public void A_coredns_forwarding_loop_explains_kube_dns_without_endpoints_but_not_a_missing_service()
    {
        var findings = new[]
        {
            F(CheckNames.DnsLoop, Severity.Critical, "loop detected", "node-1"),
            F(CheckNames.CoreDnsHealth, Severity.Critical, "kube-dns has no endpoints", null),
            F(CheckNames.CoreDnsHealth, Severity.Critical, "kube-dns Service missing", null),
        };

        var folded = RootCauses.Fold(findings);

        Assert.Equal(Severity.Info, folded[1].Finding.Severity);
        Assert.Contains("follows from dnsLoop", folded[1].Finding.Message);
        Assert.Equal(Severity.Critical, folded[2].Finding.Severity);
    }

    [Fact]
    public void A_loop_trap_that_is_only_a_warning_folds_nothing()
    {
        var findings = new[]
        {
            F(CheckNames.DnsLoop, Severity.Warning, "loopback nameserver", "node-1"),
            F(CheckNames.CoreDnsHealth, Severity.Critical, "kube-dns has no endpoints", null),
        };

        Assert.Equal(Severity.Critical, RootCauses.Fold(findings)[1].Finding.Severity);
    }
}
