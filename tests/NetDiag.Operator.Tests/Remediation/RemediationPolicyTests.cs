using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Remediation;

namespace NetDiag.Operator.Tests.Remediation;

public class RemediationPolicyTests
{
    private static Finding F(string check, string cause, string? action, Severity severity = Severity.Critical, Dictionary<string, string>? data = null) =>
        new() { Check = check, Cause = cause, Severity = severity, Message = $"{check}: {cause}", AutoAction = action, Data = data };

    private static readonly Finding FlannelBlocked = F(CheckNames.FlannelPort, "udp/8472 dropped", ActionNames.PatchFlannelBackend,
        data: new() { [FindingDataKeys.BackendPort] = "8472", [FindingDataKeys.PassingPort] = "8475" });

    private static IReadOnlyList<ActionableFinding> Group(params (Finding F, string? Node)[] items) =>
        ActionableFinding.Group(items.Select(i => (i.F, i.Node, (string?)null)));

    private static NetworkDiagnosisSpec Spec(string mode, bool dryRun = false, params string[] actions) =>
        new() { Remediation = new RemediationSpec { Mode = mode, DryRun = dryRun, Actions = actions.ToList() } };

    private static IReadOnlyList<PolicyDecision> Decide(NetworkDiagnosisSpec spec, bool operatorEnabled, IReadOnlyList<ActionableFinding> findings,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? missing = null) =>
        RemediationPolicy.Decide(RemediationPlanner.Plan(findings, spec), RemediationSettings.From(spec, operatorEnabled), missing);

    [Fact]
    public void Auto_without_the_operator_flag_says_what_it_would_have_done_and_why_not()
    {
        var d = Assert.Single(Decide(Spec("Auto", false, ActionNames.PatchFlannelBackend), operatorEnabled: false, Group((FlannelBlocked, "n1"))));
        Assert.Equal(RemediationVerdict.Skipped, d.Verdict);
        Assert.Equal(
            "Auto would patch kube-flannel-cfg net-conf.json Backend.Port 8472→8475 and restart the flannel pods, but the operator runs without --Operator:EnableRemediation=true",
            d.Message);
    }

    [Fact]
    public void Auto_with_every_rail_satisfied_applies()
    {
        var d = Assert.Single(Decide(Spec("Auto", false, ActionNames.PatchFlannelBackend), true, Group((FlannelBlocked, "n1")),
            new Dictionary<string, IReadOnlyList<string>> { [ActionNames.PatchFlannelBackend] = [] }));
        Assert.Equal(RemediationVerdict.Apply, d.Verdict);
        Assert.Equal(8475, d.Action.Port);
        Assert.Equal([CheckNames.FlannelPort], d.Action.Checks);
    }

    [Fact]
    public void An_action_outside_the_allowlist_is_skipped_naming_the_field()
    {
        var d = Assert.Single(Decide(Spec("Auto", false, ActionNames.RestartCoreDns), true, Group((FlannelBlocked, "n1"))));
        Assert.Equal(RemediationVerdict.Skipped, d.Verdict);
        Assert.EndsWith("but patchFlannelBackend is not in spec.remediation.actions", d.Message);
    }

    [Fact]
    public void Without_the_remediation_role_the_missing_permissions_are_named()
    {
        var d = Assert.Single(Decide(Spec("Auto", false, ActionNames.PatchFlannelBackend), true, Group((FlannelBlocked, "n1")),
            new Dictionary<string, IReadOnlyList<string>> { [ActionNames.PatchFlannelBackend] = ["patch configmaps kube-flannel/kube-flannel-cfg"] }));
        Assert.Equal(RemediationVerdict.Skipped, d.Verdict);
        Assert.Contains("may not patch configmaps kube-flannel/kube-flannel-cfg: bind the netdiag-remediation ClusterRole", d.Message);
    }

    [Fact]
    public void A_dry_run_plans_and_notes_what_a_real_run_would_still_need()
    {
        var d = Assert.Single(Decide(Spec("Auto", true, ActionNames.PatchFlannelBackend), false, Group((FlannelBlocked, "n1")),
            new Dictionary<string, IReadOnlyList<string>> { [ActionNames.PatchFlannelBackend] = ["patch configmaps kube-flannel/kube-flannel-cfg"] }));
        Assert.Equal(RemediationVerdict.Planned, d.Verdict);
        Assert.StartsWith("Dry run: Auto would patch kube-flannel-cfg net-conf.json Backend.Port 8472→8475", d.Message);
        Assert.Contains("--Operator:EnableRemediation=true and the netdiag-remediation ClusterRole", d.Message);

        var clean = Assert.Single(Decide(Spec("Auto", true, ActionNames.PatchFlannelBackend), true, Group((FlannelBlocked, "n1"))));
        Assert.Equal(RemediationVerdict.Planned, clean.Verdict);
        Assert.DoesNotContain("would also need", clean.Message);
    }

    [Theory]
    [InlineData("Off")]
    [InlineData("Suggest")]
    [InlineData(null)]
    public void Off_and_Suggest_produce_no_records(string? mode)
    {
        var spec = new NetworkDiagnosisSpec { Remediation = mode is null ? null : new RemediationSpec { Mode = mode, Actions = [.. ActionNames.All] } };
        Assert.Empty(Decide(spec, true, Group((FlannelBlocked, "n1"))));
        Assert.Equal(mode != "Off", RemediationPolicy.ShowsRemediationText(spec.Remediation));
    }

    [Fact]
    public void Firewall_security_software_and_cidr_overlap_are_never_acted_on()
    {
        // Even if a check wrongly offered an action, Auto refuses.
        var findings = Group(
            (F(CheckNames.Firewall, "REJECT in FORWARD", ActionNames.EnableIpForward), "n1"),
            (F(CheckNames.PodCidrOverlap, "overlap", ActionNames.PatchFlannelBackend, data: new() { [FindingDataKeys.PassingPort] = "8475" }), null));
        var decisions = Decide(Spec("Auto", false, [.. ActionNames.All]), true, findings);
        Assert.Equal(2, decisions.Count);
        Assert.All(decisions, d => Assert.Equal(RemediationVerdict.Skipped, d.Verdict));
        Assert.Contains("never acts on firewall", decisions[0].Message);
        Assert.Contains("never acts on podCidrOverlap", decisions[1].Message);
    }

    [Fact]
    public void Without_a_passing_port_flannel_falls_back_to_host_gw_only_on_one_L2_segment()
    {
        var hostGw = Group((F(CheckNames.FlannelPort, "udp/8472 dropped", ActionNames.PatchFlannelBackend, data: new() { [FindingDataKeys.SameL2Segment] = "true" }), "n1"));
        var d = Assert.Single(Decide(Spec("Auto", false, ActionNames.PatchFlannelBackend), true, hostGw));
        Assert.True(d.Action.HostGw);
        Assert.Contains("host-gw", d.Message);

        var neither = Group((F(CheckNames.FlannelPort, "udp/8472 dropped", ActionNames.PatchFlannelBackend), "n1"));
        var none = Assert.Single(Decide(Spec("Auto", false, ActionNames.PatchFlannelBackend), true, neither));
        Assert.Equal(RemediationVerdict.Skipped, none.Verdict);
        Assert.Contains("found no UDP port passing", none.Message);
    }

    [Fact]
    public void A_dns_loop_patches_the_corefile_with_the_non_loopback_servers_found_then_restarts_coredns()
    {
        var loop = Group(
            (F(CheckNames.DnsLoop, "loopback nameserver", ActionNames.PatchCorefileForward, Severity.Warning, new() { [FindingDataKeys.Upstreams] = "127.0.0.53,192.0.2.53" }), "n1"),
            (F(CheckNames.DnsLoop, "loopback nameserver", ActionNames.PatchCorefileForward, Severity.Warning, new() { [FindingDataKeys.Upstreams] = "192.0.2.54" }), "n2"));
        var decisions = Decide(Spec("Auto", false, ActionNames.PatchCorefileForward, ActionNames.RestartCoreDns), true, loop);

        Assert.Equal([ActionNames.PatchCorefileForward, ActionNames.RestartCoreDns], decisions.Select(d => d.Action.Action));
        Assert.All(decisions, d => Assert.Equal(RemediationVerdict.Apply, d.Verdict));
        Assert.Equal(["192.0.2.53", "192.0.2.54"], decisions[0].Action.Upstreams);
        Assert.Contains("forward . 192.0.2.53 192.0.2.54 (from the nameservers the probe found)", decisions[0].Message);
    }

    [Fact]
    public void Spec_upstreams_win_and_a_loopback_there_is_refused_loudly()
    {
        var loop = Group((F(CheckNames.DnsLoop, "loop logged", ActionNames.PatchCorefileForward, data: new() { [FindingDataKeys.Upstreams] = "192.0.2.53" }), "n1"));
        var spec = Spec("Auto", false, ActionNames.PatchCorefileForward, ActionNames.RestartCoreDns);
        spec.DnsUpstreams = ["203.0.113.53"];
        Assert.Equal(["203.0.113.53"], Decide(spec, true, loop)[0].Action.Upstreams);

        spec.DnsUpstreams = ["127.0.0.1"];
        var decisions = Decide(spec, true, loop);
        Assert.Equal(RemediationVerdict.Skipped, decisions[0].Verdict);
        Assert.Contains("loopback", decisions[0].Message);
        // The restart only makes sense after the patch.
        Assert.Equal(RemediationVerdict.Skipped, decisions[1].Verdict);
        Assert.Contains("only follows patchCorefileForward, which was skipped", decisions[1].Message);
    }

    [Fact]
    public void A_restart_wanted_by_two_findings_happens_once_and_stands_on_its_own()
    {
        var findings = Group(
            (F(CheckNames.DnsLoop, "loop logged", ActionNames.PatchCorefileForward), null),
            (F(CheckNames.CoreDnsHealth, "crash-looping", ActionNames.RestartCoreDns), null));
        var decisions = Decide(Spec("Auto", false, ActionNames.RestartCoreDns), true, findings);
        var restart = Assert.Single(decisions, d => d.Action.Action == ActionNames.RestartCoreDns);
        Assert.Equal(RemediationVerdict.Apply, restart.Verdict);
        Assert.Equal([CheckNames.DnsLoop, CheckNames.CoreDnsHealth], restart.Action.Checks);
    }

    [Fact]
    public void Node_actions_become_one_job_per_node_and_conntrack_doubles_each_nodes_own_maximum()
    {
        var findings = Group(
            (F(CheckNames.Conntrack, "table full", ActionNames.RaiseConntrackMax, data: new() { [FindingDataKeys.ConntrackMax] = "131072" }), "n1"),
            (F(CheckNames.Conntrack, "table full", ActionNames.RaiseConntrackMax, data: new() { [FindingDataKeys.ConntrackMax] = "262144" }), "n2"),
            (F(CheckNames.Conntrack, "table full", ActionNames.RaiseConntrackMax, data: new() { [FindingDataKeys.ConntrackMax] = "4194304" }), "n3"),
            (F(CheckNames.IpForward, "ip_forward=0", ActionNames.EnableIpForward, data: new() { [FindingDataKeys.Value] = "0" }), "n1"));
        var decisions = Decide(Spec("Auto", false, [.. ActionNames.All]), true, findings);

        Assert.Equal(["node/n1", "node/n2", "node/n3", "node/n1"], decisions.Select(d => d.Action.Target));
        Assert.Equal(262144, decisions[0].Action.ConntrackTarget);
        Assert.Equal(524288, decisions[1].Action.ConntrackTarget);
        Assert.Equal(RemediationVerdict.Skipped, decisions[2].Verdict);
        Assert.Contains("at or above the cap", decisions[2].Message);
        Assert.Equal("0", decisions[3].Action.PreviousValue);
    }

    [Fact]
    public void Unknown_and_info_findings_are_not_acted_on()
    {
        var findings = Group(
            (F(CheckNames.IpForward, "could not read", ActionNames.EnableIpForward, Severity.Unknown), "n1"),
            (F(CheckNames.IpForward, "context", ActionNames.EnableIpForward, Severity.Info), "n1"));
        Assert.Empty(Decide(Spec("Auto", false, [.. ActionNames.All]), true, findings));
    }

    [Fact]
    public void Grouping_merges_nodes_keeps_each_nodes_data_and_takes_the_worst_severity()
    {
        var grouped = Assert.Single(Group(
            (F(CheckNames.Conntrack, "usage", ActionNames.RaiseConntrackMax, Severity.Warning, new() { [FindingDataKeys.ConntrackMax] = "100" }), "n1"),
            (F(CheckNames.Conntrack, "usage", ActionNames.RaiseConntrackMax, Severity.Critical, new() { [FindingDataKeys.ConntrackMax] = "200" }), "n2"),
            (F(CheckNames.Conntrack, "usage", ActionNames.RaiseConntrackMax, Severity.Warning, new() { [FindingDataKeys.ConntrackMax] = "200" }), "n3")));
        Assert.Equal(["n1", "n2", "n3"], grouped.Nodes);
        Assert.Equal(Severity.Critical, grouped.Severity);
        Assert.Equal("100", grouped.NodeData["n1"][FindingDataKeys.ConntrackMax]);
        Assert.Equal("200", grouped.Data[FindingDataKeys.ConntrackMax]); // most nodes say 200
        Assert.Equal("conntrack/usage", grouped.Key);
    }
}
