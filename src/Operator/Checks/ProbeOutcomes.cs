using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Kubernetes;
using static NetDiag.Operator.Checks.FindingFactory;

namespace NetDiag.Operator.Checks;

/// <summary>Where one node's probe stands.</summary>
public enum ProbeState
{
    /// <summary>No Job yet (waiting for a slot under maxConcurrentProbes).</summary>
    Waiting,
    /// <summary>Job created, pod not finished.</summary>
    Running,
    /// <summary>A valid report was read.</summary>
    Reported,
    /// <summary>The probe ran but delivered no usable report, or the Job failed.</summary>
    Failed,
    /// <summary>The node is NotReady: no Job is launched.</summary>
    NodeNotReady,
    /// <summary>Still out (or never launched) at the run deadline.</summary>
    TimedOut,
}

/// <summary>One node's probe outcome: its report, or the Unknown finding saying why there is none.</summary>
public sealed record NodeProbeOutcome(string Node, ProbeState State, ProbeReport? Report = null, ScopedFinding? Problem = null, string? PodName = null, bool NeedsLog = false)
{
    /// <summary>Nothing more will change for this node in this run.</summary>
    public bool Settled => State is ProbeState.Reported or ProbeState.Failed or ProbeState.NodeNotReady or ProbeState.TimedOut;
}

/// <summary>What the analyzer needs about the run.</summary>
public sealed record ProbeRunContext(DateTimeOffset Now, DateTimeOffset Deadline, TimeSpan Timeout, int MaxConcurrentProbes);

/// <summary>
/// Turns the probe Jobs and pods of a run into per-node outcomes. Reports travel through the
/// kubelet: the termination message first (compact), the pod log when that is compact or missing
/// (<paramref name="logs"/>, read by the caller only for pods that <see cref="NodeProbeOutcome.NeedsLog"/>).
/// A malformed or oversized report, a failed pod, a NotReady node, a probe past the deadline: each is
/// an Unknown finding naming the node, never an exception.
/// </summary>
public static class ProbeOutcomes
{
    public const string CauseNotReady = "node NotReady";
    public const string CauseTimedOut = "probe timed out";
    public const string CauseNotLaunched = "probe not launched";
    public const string CauseFailed = "probe failed";
    public const string CauseMalformed = "malformed report";

    public static IReadOnlyList<NodeProbeOutcome> Evaluate(
        IReadOnlyList<V1Node> selected,
        IReadOnlyDictionary<string, V1Job> jobsByNode,
        IReadOnlyList<V1Pod> pods,
        IReadOnlyDictionary<string, LogReadResult> logs,
        ProbeRunContext run)
    {
        var podsByJob = pods
            .Where(p => p.Metadata?.Labels?.ContainsKey("job-name") == true)
            .GroupBy(p => p.Metadata.Labels["job-name"])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Metadata.CreationTimestamp ?? DateTime.MinValue).First());
        var deadlinePassed = run.Now >= run.Deadline;
        var outcomes = new List<NodeProbeOutcome>(selected.Count);
        foreach (var node in selected)
        {
            var name = node.Metadata.Name;
            if (jobsByNode.TryGetValue(name, out var job))
            {
                podsByJob.TryGetValue(job.Metadata.Name, out var pod);
                outcomes.Add(FromJob(name, job, pod, logs, run, deadlinePassed));
            }
            else if (!PodFacts.NodeReady(node))
            {
                var ready = PodFacts.NodeCondition(node, "Ready");
                outcomes.Add(new(name, ProbeState.NodeNotReady, Problem: new(Unknown(CheckNames.ProbeFailed, CauseNotReady,
                    $"Node {name} is NotReady: it was not probed, its node checks are Unknown.",
                    [$"{name}: Ready={ready?.Status ?? "missing"}{(ready?.Reason is { } r ? " " + r : "")}{(ready?.Message is { } m ? ": " + m : "")}"]), name)));
            }
            else if (deadlinePassed)
            {
                outcomes.Add(new(name, ProbeState.TimedOut, Problem: new(Unknown(CheckNames.ProbeFailed, CauseNotLaunched,
                    $"Node {name} was not probed before the run deadline ({Seconds(run.Timeout)}): too many nodes for maxConcurrentProbes={run.MaxConcurrentProbes} within the timeout.",
                    [$"{name}: no probe Job created"]), name)));
            }
            else
            {
                outcomes.Add(new(name, ProbeState.Waiting));
            }
        }
        return outcomes;
    }

    private static NodeProbeOutcome FromJob(string node, V1Job job, V1Pod? pod, IReadOnlyDictionary<string, LogReadResult> logs, ProbeRunContext run, bool deadlinePassed)
    {
        var podName = pod?.Metadata?.Name;
        var terminated = pod?.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Terminated;
        if (terminated is not null)
        {
            var message = terminated.Message;
            var fromMessage = ProbeReportCodec.TryParse(message, out var report, out var messageError);
            if (fromMessage && !report!.Compact) return Accept(node, report, podName, terminated);
            // Compact or missing: the full report is on stdout, read through the kubelet.
            if (!logs.TryGetValue(podName!, out var log))
                return new(node, ProbeState.Running, PodName: podName, NeedsLog: true);
            if (log.Text is not null && ProbeReportCodec.TryParseFromLog(log.Text, out var full, out _))
                return Accept(node, full!, podName, terminated);
            if (fromMessage) return Accept(node, report!, podName, terminated); // the compact one is still a report
            var why = string.IsNullOrWhiteSpace(message) ? "no termination message" : messageError;
            var logNote = log.Error is not null ? $"pod log unreadable: {log.Error}" : "no report line in the pod log";
            var cause = string.IsNullOrWhiteSpace(message) ? CauseFailed : CauseMalformed;
            return new(node, ProbeState.Failed, PodName: podName, Problem: new(Unknown(CheckNames.ProbeFailed, cause,
                cause == CauseMalformed
                    ? $"The probe on node {node} returned a report that is not valid: {why}."
                    : $"The probe on node {node} exited with code {terminated.ExitCode} without a report.",
                [$"{node}: pod {podName} exit code {terminated.ExitCode}{(terminated.Reason is { } r ? $" ({r})" : "")}", $"{node}: {why}", $"{node}: {logNote}"]), node));
        }

        var failed = job.Status?.Conditions?.FirstOrDefault(c => c.Type == "Failed" && c.Status == "True");
        if (failed is not null)
        {
            if (failed.Reason == "DeadlineExceeded")
                return TimedOut(node, podName, pod, run, $"Job {job.Metadata.Name}: DeadlineExceeded");
            return new(node, ProbeState.Failed, PodName: podName, Problem: new(Unknown(CheckNames.ProbeFailed, CauseFailed,
                $"The probe Job on node {node} failed: {failed.Reason}{(failed.Message is { } m ? $" ({m})" : "")}.",
                [$"{node}: Job {job.Metadata.Name} Failed {failed.Reason}: {failed.Message}", .. PodEvidence(node, pod)]), node));
        }
        if (pod?.Status?.Phase == "Failed")
        {
            return new(node, ProbeState.Failed, PodName: podName, Problem: new(Unknown(CheckNames.ProbeFailed, CauseFailed,
                $"The probe pod on node {node} failed before its container ran: {pod.Status.Reason ?? "unknown reason"}.",
                PodEvidence(node, pod)), node));
        }
        if (deadlinePassed) return TimedOut(node, podName, pod, run, $"Job {job.Metadata.Name} still active");
        return new(node, ProbeState.Running, PodName: podName);
    }

    private static NodeProbeOutcome Accept(string node, ProbeReport report, string? podName, V1ContainerStateTerminated terminated)
    {
        if (!string.Equals(report.Node, node, StringComparison.Ordinal))
        {
            return new(node, ProbeState.Failed, PodName: podName, Problem: new(Unknown(CheckNames.ProbeFailed, CauseMalformed,
                $"The probe on node {node} returned a report for node '{report.Node}'.",
                [$"{node}: pod {podName} report.node={report.Node}"]), node));
        }
        return new(node, ProbeState.Reported, report, PodName: podName);
    }

    private static NodeProbeOutcome TimedOut(string node, string? podName, V1Pod? pod, ProbeRunContext run, string what) =>
        new(node, ProbeState.TimedOut, PodName: podName, Problem: new(Unknown(CheckNames.ProbeFailed, CauseTimedOut,
            $"The probe on node {node} did not finish within {Seconds(run.Timeout)}: its node checks are Unknown.",
            [$"{node}: {what}", .. PodEvidence(node, pod)]), node));

    private static IEnumerable<string> PodEvidence(string node, V1Pod? pod)
    {
        if (pod is null) return [$"{node}: no probe pod was created"];
        var lines = new List<string> { $"{node}: pod {pod.Metadata.Name} phase {pod.Status?.Phase ?? "unknown"}{(pod.Status?.Reason is { } r ? $" ({r})" : "")}" };
        if (pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting is { } w) lines.Add($"{node}: container waiting: {w.Reason} {w.Message}".TrimEnd());
        if (pod.Status?.Phase == "Pending" && pod.Status.ContainerStatuses is null) lines.Add($"{node}: no kubelet has started the pod");
        return lines;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds < 120 ? $"{t.TotalSeconds:0}s" : $"{t.TotalMinutes:0.#}m";

    /// <summary>The findings of a run's node reports and probe problems, each attributed to its node.</summary>
    public static IEnumerable<ScopedFinding> Findings(IEnumerable<NodeProbeOutcome> outcomes)
    {
        foreach (var o in outcomes)
        {
            if (o.Problem is not null) yield return o.Problem;
            if (o.Report is null) continue;
            foreach (var f in o.Report.Findings) yield return new ScopedFinding(f, o.Node);
            // A check the probe could not run, reported only as a status, still must not pass silently.
            foreach (var c in o.Report.Checks.Where(c => c.Status == CheckStatus.Unknown && !o.Report.Findings.Any(f => f.Check == c.Check)))
                yield return new ScopedFinding(Unknown(c.Check, "check could not run", $"The {c.Check} check could not run on the node: {c.Reason ?? "no reason given"}."), o.Node);
        }
    }
}
