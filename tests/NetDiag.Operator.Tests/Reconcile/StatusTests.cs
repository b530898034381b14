using System.Text;
using k8s;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Kubernetes;
using NetDiag.Operator.Runtime;
using NetDiag.Operator.Status;
using static NetDiag.Operator.Tests.Reconcile.Cluster;

namespace NetDiag.Operator.Tests.Reconcile;

public sealed class StatusTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static ScopedFinding OnNode(string node, string check = CheckNames.IpForward, string cause = "ip_forward=0", Severity severity = Severity.Critical, string? evidence = null) =>
        new(new Finding
        {
            Check = check, Severity = severity, Cause = cause, Message = "IPv4 forwarding is off: pods on this node cannot reach other nodes.",
            Evidence = [evidence ?? "/proc/sys/net/ipv4/ip_forward = 0", "/etc/sysctl.d/99-hardening.conf:3 sets net.ipv4.ip_forward = 0"],
            Remediation = "sysctl -w net.ipv4.ip_forward=1; fix /etc/sysctl.d/99-hardening.conf line 3", AutoAction = ActionNames.EnableIpForward,
        }, node);

    private static RunStatusInput Input(V1alpha1NetworkDiagnosis d, bool complete, IReadOnlyList<ScopedFinding> findings, DateTimeOffset? now = null, int selected = 5, int reported = 3) => new()
    {
        Diagnosis = d, Now = now ?? T0.AddSeconds(40), RunId = "g1", RunStart = T0, Complete = complete,
        NodesSelected = selected, NodesReported = reported, ProbesNeeded = true, ChecksRun = [CheckNames.IpForward], Findings = findings,
    };

    [Fact]
    public void Same_check_and_cause_on_many_nodes_is_one_finding_listing_the_nodes()
    {
        var merged = FindingAggregator.Aggregate([OnNode("n2"), OnNode("n1"), OnNode("n3", cause: "other")], includeRemediation: true);
        Assert.Equal(2, merged.Count);
        var f = merged.Single(x => x.Cause == "ip_forward=0");
        Assert.Equal(["n1", "n2"], f.Nodes);
        Assert.Equal(2, f.NodeCount);
        Assert.Contains("n1: /proc/sys/net/ipv4/ip_forward = 0", f.Evidence!);
        Assert.Equal(ActionNames.EnableIpForward, f.AutoAction);
    }

    [Fact]
    public void Remediation_text_is_dropped_when_mode_is_Off()
    {
        var f = Assert.Single(FindingAggregator.Aggregate([OnNode("n1")], includeRemediation: false));
        Assert.Null(f.Remediation);
    }

    [Fact]
    public void Findings_are_ordered_worst_first()
    {
        var merged = FindingAggregator.Aggregate([
            OnNode("n1", CheckNames.Mtu, "mtu", Severity.Warning),
            OnNode("n1", CheckNames.ProbeFailed, "probe timed out", Severity.Unknown),
            OnNode("n1", CheckNames.IpForward, "ip_forward=0", Severity.Critical)], true);
        Assert.Equal(["Critical", "Unknown", "Warning"], merged.Select(f => f.Severity));
    }

    [Fact]
    public void A_thousand_node_cluster_with_every_node_failing_many_ways_keeps_status_under_100_KiB()
    {
        var findings = new List<ScopedFinding>();
        for (var i = 0; i < 1000; i++)
        {
            var node = $"ip-10-0-{i / 250}-{i % 250}.eu-west-1.compute.internal";
            findings.Add(OnNode(node, evidence: $"/proc/sys/net/ipv4/ip_forward = 0 ({new string('x', 200)} {i})"));
            findings.Add(OnNode(node, CheckNames.Conntrack, "conntrack near full", Severity.Warning, $"nf_conntrack_count {i * 100} of 131072"));
            findings.Add(OnNode(node, CheckNames.ProbeFailed, "probe timed out", Severity.Unknown));
            findings.Add(OnNode(node, CheckNames.FlannelPort, $"udp/8472 dropped", Severity.Critical, $"{node} -> peer {i + 1}: overlay dead, underlay fine"));
        }
        var d = Diagnosis();
        var status = StatusCalculator.ForRun(Input(d, true, findings, selected: 1000, reported: 900));
        var bytes = Encoding.UTF8.GetByteCount(KubernetesJson.Serialize(status));
        Assert.True(bytes < 100 * 1024, $"status is {bytes} bytes");
        var ipf = status.Findings!.Single(f => f.Check == CheckNames.IpForward);
        Assert.Equal(1000, ipf.NodeCount);
        Assert.Equal(20, ipf.Nodes!.Count);
        Assert.Equal("... and 1990 more", ipf.Evidence!.Last()); // two lines per node, each prefixed with its node
    }

    [Fact]
    public void A_completed_run_sets_phase_conditions_summary_and_a_readable_message()
    {
        var d = Diagnosis();
        var status = StatusCalculator.ForRun(Input(d, true, [OnNode("n1"), OnNode("n2"), OnNode("n1", CheckNames.Mtu, "mtu", Severity.Warning)]));
        Assert.Equal(Phases.Completed, status.Phase);
        Assert.Equal(1, status.ObservedGeneration);
        Assert.Equal("Probed 3 of 5 nodes: 1 critical, 1 warning", status.Message);
        Assert.Equal((1, 1, 3, 5), (status.Summary!.Critical, status.Summary.Warning, status.Summary.NodesProbed, status.Summary.NodesSelected));
        Assert.Equal(40, status.Summary.DurationSeconds);
        Assert.Equal(T0.AddSeconds(40).UtcDateTime, status.LastRunTime);
        var ready = status.Conditions!.Single(c => c.Type == ConditionTypes.Ready);
        Assert.Equal(("True", Reasons.RunCompleted), (ready.Status, ready.Reason));
        var healthy = status.Conditions!.Single(c => c.Type == ConditionTypes.Healthy);
        Assert.Equal(("False", Reasons.FindingsPresent, "1 critical, 1 warning"), (healthy.Status, healthy.Reason, healthy.Message));
        var h = Assert.Single(status.History!);
        Assert.Equal(["ipForward/ip_forward=0", "mtu/mtu"], h.New);
    }

    [Fact]
    public void Polling_a_running_run_with_nothing_new_produces_the_identical_status()
    {
        var d = Diagnosis();
        var first = StatusCalculator.ForRun(Input(d, false, [OnNode("n1")], now: T0.AddSeconds(2)));
        d.Status = first;
        var second = StatusCalculator.ForRun(Input(d, false, [OnNode("n1")], now: T0.AddSeconds(9)));
        Assert.Equal(KubernetesJson.Serialize(first), KubernetesJson.Serialize(second));
        Assert.Equal(Phases.Running, second.Phase);
        Assert.Equal("Run g1: 3 of 5 nodes reported", second.Message);
    }

    [Fact]
    public void Condition_lastTransitionTime_is_kept_while_its_status_is_unchanged()
    {
        var d = Diagnosis();
        var running = StatusCalculator.ForRun(Input(d, false, [], now: T0.AddSeconds(1)));
        d.Status = running;
        var done = StatusCalculator.ForRun(Input(d, true, [], now: T0.AddSeconds(30)));
        var readyBefore = running.Conditions!.Single(c => c.Type == "Ready");
        var readyAfter = done.Conditions!.Single(c => c.Type == "Ready");
        Assert.Equal(T0.AddSeconds(1).UtcDateTime, readyBefore.LastTransitionTime);
        Assert.Equal(T0.AddSeconds(30).UtcDateTime, readyAfter.LastTransitionTime); // False -> True
        d.Status = done;
        d.Metadata.Generation = 2;
        var again = StatusCalculator.ForRun(Input(d, true, [], now: T0.AddSeconds(90)) with { RunId = "g2" });
        Assert.Equal(T0.AddSeconds(30).UtcDateTime, again.Conditions!.Single(c => c.Type == "Ready").LastTransitionTime);
    }

    [Fact]
    public void No_report_from_any_node_is_phase_Failed()
    {
        var status = StatusCalculator.ForRun(Input(Diagnosis(), true, [OnNode("n1", CheckNames.ProbeFailed, "probe timed out", Severity.Unknown)], reported: 0));
        Assert.Equal(Phases.Failed, status.Phase);
        var healthy = status.Conditions!.Single(c => c.Type == "Healthy");
        Assert.Equal(("Unknown", StatusCalculator.ChecksUnknown), (healthy.Status, healthy.Reason)); // nothing verified is not a pass
        Assert.Equal(1, status.Summary!.Unknown);
    }

    [Fact]
    public void Invalid_spec_status_names_the_field()
    {
        var status = StatusCalculator.ForInvalidSpec(Diagnosis(generation: 2), "spec.timeout: \"soon\" is not a duration", T0);
        Assert.Equal(Phases.Invalid, status.Phase);
        Assert.Equal(2, status.ObservedGeneration);
        var ready = status.Conditions!.Single(c => c.Type == "Ready");
        Assert.Equal(("False", Reasons.InvalidSpec), (ready.Status, ready.Reason));
        Assert.Contains("spec.timeout", ready.Message);
    }

    // ---------------------------------------------------------------- events

    [Fact]
    public void Events_fire_on_transitions_only()
    {
        // While a run is in progress status keeps the last finished run's findings (none here), so
        // polling emits nothing; the run's findings and RunCompleted arrive when it completes.
        var d = Diagnosis();
        var running = StatusCalculator.ForRun(Input(d, false, [OnNode("n1")]));
        Assert.Empty(Transitions.Events(null, running));

        d.Status = running;
        var same = StatusCalculator.ForRun(Input(d, false, [OnNode("n1"), OnNode("n2")]));
        Assert.Empty(Transitions.Events(running, same));

        d.Status = same;
        var done = StatusCalculator.ForRun(Input(d, true, [OnNode("n1"), OnNode("n2"), OnNode("n3", CheckNames.ProbeFailed, "probe timed out", Severity.Unknown)]));
        var e3 = Transitions.Events(same, done);
        Assert.Equal([Reasons.FindingDetected, Reasons.ProbeFailed, Reasons.RunCompleted], e3.Select(e => e.Reason));
        Assert.Equal("Critical ipForward on 2 of 5 nodes: IPv4 forwarding is off: pods on this node cannot reach other nodes.", e3[0].Message);
        Assert.Equal("Probed 3 of 5 nodes: 1 critical, 1 unknown", e3[2].Message);
        Assert.Empty(Transitions.Events(done, done));

        // The next run of the same diagnosis: a finding the previous run had already is no new Event.
        d.Status = done;
        var again = StatusCalculator.ForRun(Input(d, true, [OnNode("n1")]) with { RunId = "g1-202503011300" });
        Assert.Equal([Reasons.RunCompleted], Transitions.Events(done, again).Select(e => e.Reason));
    }

    [Fact]
    public void InvalidSpec_event_once_per_distinct_problem()
    {
        var bad = StatusCalculator.ForInvalidSpec(Diagnosis(), "spec.checks[0]: unknown check \"dnsloop\"", T0);
        Assert.Equal(Reasons.InvalidSpec, Assert.Single(Transitions.Events(null, bad)).Reason);
        Assert.Empty(Transitions.Events(bad, bad));
    }

    [Fact]
    public void Status_patch_clears_fields_that_became_empty()
    {
        var body = KubernetesStatusWriter.PatchBody(new NetworkDiagnosisStatus { Phase = Phases.Running });
        Assert.Contains("\"phase\":\"Running\"", body);
        Assert.Contains("\"findings\":null", body);
        Assert.StartsWith("{\"status\":{", body);
    }
}
