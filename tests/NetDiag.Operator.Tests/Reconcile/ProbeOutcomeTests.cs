using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Kubernetes;
using static NetDiag.Operator.Tests.Reconcile.Cluster;

namespace NetDiag.Operator.Tests.Reconcile;

public sealed class ProbeOutcomeTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ProbeRunContext Before = new(Start.AddSeconds(5), Start.AddSeconds(10), TimeSpan.FromSeconds(10), 50);
    private static readonly ProbeRunContext After = Before with { Now = Start.AddSeconds(11) };
    private static readonly Dictionary<string, LogReadResult> NoLogs = [];

    private static V1Job Job(string node, string? failedReason = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"nd-x-{node}", NamespaceProperty = "netdiag-system" },
        Status = new V1JobStatus { Conditions = failedReason is null ? null : [new V1JobCondition { Type = "Failed", Status = "True", Reason = failedReason, Message = "Job was active longer than specified deadline" }] },
    };

    private static V1Pod ProbePod(string node, string phase = "Pending", string? message = null, int exitCode = 0, bool terminated = false)
    {
        var pod = Pod("netdiag-system", $"nd-x-{node}-abcde", node, phase, ready: false, labels: new Dictionary<string, string> { ["job-name"] = $"nd-x-{node}" });
        if (terminated)
            pod.Status.ContainerStatuses = [new V1ContainerStatus { Name = "probe", Image = "i", ImageID = "", Ready = false,
                State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Message = message, Reason = exitCode == 0 ? "Completed" : "Error" } } }];
        return pod;
    }

    private static ProbeReport Report(string node, bool compact = false, params Finding[] findings) => new()
    {
        Node = node, StartedAt = Start, DurationMs = 800, Compact = compact,
        Checks = [new CheckResult { Check = CheckNames.IpForward, Status = findings.Length == 0 ? CheckStatus.Pass : CheckStatus.Critical }],
        Findings = findings.ToList(),
    };

    private static readonly Finding IpForwardOff = new()
    {
        Check = CheckNames.IpForward, Severity = Severity.Critical, Cause = "ip_forward=0", Message = "IPv4 forwarding is off",
        Evidence = ["/proc/sys/net/ipv4/ip_forward = 0", "/etc/sysctl.d/99-hardening.conf:3 sets net.ipv4.ip_forward = 0"],
    };

    [Fact]
    public void NotReady_node_is_unknown_naming_the_node_without_a_job()
    {
        var nodes = new[] { Node("n1", ready: false) };
        var o = Assert.Single(ProbeOutcomes.Evaluate(nodes, new Dictionary<string, V1Job>(), [], NoLogs, Before));
        Assert.Equal(ProbeState.NodeNotReady, o.State);
        Assert.True(o.Settled);
        Assert.Equal("n1", o.Problem!.Node);
        Assert.Equal(Severity.Unknown, o.Problem.Finding.Severity);
        Assert.Contains("Node n1 is NotReady", o.Problem.Finding.Message);
    }

    [Fact]
    public void A_pending_probe_is_running_before_the_deadline_and_timed_out_after_it()
    {
        var nodes = new[] { Node("n1") };
        var jobs = new Dictionary<string, V1Job> { ["n1"] = Job("n1") };
        Assert.Equal(ProbeState.Running, ProbeOutcomes.Evaluate(nodes, jobs, [ProbePod("n1")], NoLogs, Before)[0].State);
        var late = ProbeOutcomes.Evaluate(nodes, jobs, [ProbePod("n1")], NoLogs, After)[0];
        Assert.Equal(ProbeState.TimedOut, late.State);
        Assert.Equal(ProbeOutcomes.CauseTimedOut, late.Problem!.Cause);
        Assert.Contains("did not finish within 10s", late.Problem.Finding.Message);
        Assert.Contains(late.Problem.Finding.Evidence, e => e.Contains("no kubelet has started the pod"));
    }

    [Fact]
    public void A_job_failed_for_its_deadline_is_timed_out_even_before_the_run_deadline()
    {
        var o = ProbeOutcomes.Evaluate([Node("n1")], new Dictionary<string, V1Job> { ["n1"] = Job("n1", "DeadlineExceeded") }, [ProbePod("n1", "Failed")], NoLogs, Before)[0];
        Assert.Equal(ProbeState.TimedOut, o.State);
    }

    [Fact]
    public void Nodes_never_launched_by_the_deadline_are_unknown()
    {
        var o = ProbeOutcomes.Evaluate([Node("n1")], new Dictionary<string, V1Job>(), [], NoLogs, After)[0];
        Assert.Equal((ProbeState.TimedOut, ProbeOutcomes.CauseNotLaunched), (o.State, o.Problem!.Cause));
    }

    [Fact]
    public void A_full_report_in_the_termination_message_is_used_directly()
    {
        var message = ProbeReportCodec.Serialize(Report("n1", false, IpForwardOff));
        var o = ProbeOutcomes.Evaluate([Node("n1")], new Dictionary<string, V1Job> { ["n1"] = Job("n1") },
            [ProbePod("n1", "Failed", message, exitCode: 3, terminated: true)], NoLogs, Before)[0];
        Assert.Equal(ProbeState.Reported, o.State);
        var f = Assert.Single(ProbeOutcomes.Findings([o]));
        Assert.Equal(("n1", "ip_forward=0"), (f.Node, f.Cause));
    }

    [Fact]
    public void A_compact_report_asks_for_the_log_and_the_full_report_from_the_log_wins()
    {
        var compact = ProbeReportCodec.Serialize(Report("n1", true, IpForwardOff with { Evidence = [] }));
        var full = "probe: starting\n" + ProbeReportCodec.Serialize(Report("n1", false, IpForwardOff)) + "\n";
        var nodes = new[] { Node("n1") };
        var jobs = new Dictionary<string, V1Job> { ["n1"] = Job("n1") };
        var pods = new[] { ProbePod("n1", "Failed", compact, 3, terminated: true) };
        var first = ProbeOutcomes.Evaluate(nodes, jobs, pods, NoLogs, Before)[0];
        Assert.True(first.NeedsLog);
        Assert.False(first.Settled);
        var second = ProbeOutcomes.Evaluate(nodes, jobs, pods, new Dictionary<string, LogReadResult> { [first.PodName!] = LogReadResult.Ok(full) }, Before)[0];
        Assert.Equal(ProbeState.Reported, second.State);
        Assert.Equal(2, second.Report!.Findings[0].Evidence.Count);
    }

    [Fact]
    public void A_log_read_error_falls_back_to_the_compact_report()
    {
        var compact = ProbeReportCodec.Serialize(Report("n1", true, IpForwardOff));
        var pods = new[] { ProbePod("n1", "Succeeded", compact, 0, terminated: true) };
        var o = ProbeOutcomes.Evaluate([Node("n1")], new Dictionary<string, V1Job> { ["n1"] = Job("n1") }, pods,
            new Dictionary<string, LogReadResult> { [pods[0].Metadata.Name] = LogReadResult.Failed("502 BadGateway: kubelet unreachable") }, Before)[0];
        Assert.Equal(ProbeState.Reported, o.State);
        Assert.True(o.Report!.Compact);
    }

    [Theory]
    [InlineData("{\"schemaVersion\":\"netdiag.io/probe-report/v1\",\"node\":\"n1\",\"findings\":[{\"check\":\"noSuchCheck\",\"message\":\"x\"}]}", "unknown check")]
    [InlineData("panic: runtime error: index out of range", "not a probe report")]
    [InlineData("{\"schemaVersion\":\"netdiag.io/probe-report/v9\",\"node\":\"n1\"}", "unsupported schemaVersion")]
    public void A_malformed_report_is_a_ProbeFailed_finding_naming_the_node(string message, string reason)
    {
        var pods = new[] { ProbePod("n1", "Failed", message, 2, terminated: true) };
        var logs = new Dictionary<string, LogReadResult> { [pods[0].Metadata.Name] = LogReadResult.Ok(message) };
        var o = ProbeOutcomes.Evaluate([Node("n1")], new Dictionary<string, V1Job> { ["n1"] = Job("n1") }, pods, logs, Before)[0];
        Assert.Equal(ProbeState.Failed, o.State);
        Assert.Equal((CheckNames.ProbeFailed, ProbeOutcomes.CauseMalformed, "n1"), (o.Problem!.Check, o.Problem.Cause, o.Problem.Node));
        Assert.Contains(o.Problem.Finding.Evidence, e => e.Contains(reason));
    }

    [Fact]
    public void An_oversized_report_is_refused_not_parsed()
    {
        var huge = ProbeReportCodec.Serialize(Report("n1", false, IpForwardOff with { Evidence = [new string('x', ProbeReportCodec.MaxReportBytes)] }));
        var pods = new[] { ProbePod("n1", "Succeeded", null, 0, terminated: true) };
        var o = ProbeOutcomes.Evaluate([Node("n1")], new Dictionary<string, V1Job> { ["n1"] = Job("n1") }, pods,
            new Dictionary<string, LogReadResult> { [pods[0].Metadata.Name] = LogReadResult.Ok(huge) }, Before)[0];
        Assert.Equal(ProbeState.Failed, o.State);
        Assert.Equal(ProbeOutcomes.CauseFailed, o.Problem!.Cause);
        Assert.Contains("without a report", o.Problem.Finding.Message);
    }

    [Fact]
    public void A_report_for_another_node_is_rejected()
    {
        var pods = new[] { ProbePod("n1", "Succeeded", ProbeReportCodec.Serialize(Report("n7")), 0, terminated: true) };
        var o = ProbeOutcomes.Evaluate([Node("n1")], new Dictionary<string, V1Job> { ["n1"] = Job("n1") }, pods, NoLogs, Before)[0];
        Assert.Equal(ProbeState.Failed, o.State);
        Assert.Contains("'n7'", o.Problem!.Finding.Message);
    }

    [Fact]
    public void A_check_reported_unknown_without_a_finding_still_surfaces()
    {
        var report = Report("n1") with { Checks = [new CheckResult { Check = CheckNames.Conntrack, Status = CheckStatus.Unknown, Reason = "nf_conntrack not loaded" }] };
        var o = new NodeProbeOutcome("n1", ProbeState.Reported, report);
        var f = Assert.Single(ProbeOutcomes.Findings([o]));
        Assert.Equal((CheckNames.Conntrack, Severity.Unknown), (f.Check, f.Finding.Severity));
    }
}
