using System.Text.Json.Serialization;
using k8s.Models;

namespace NetDiag.Entities.Api;

/// <summary>What the operator found; written only when it changed.</summary>
public sealed class NetworkDiagnosisStatus
{
    /// <summary>Pending, Running, Completed, Failed, Invalid.</summary>
    [EnumValues(typeof(Phases), nameof(Phases.All))]
    [JsonPropertyName("phase")] public string? Phase { get; set; }
    /// <summary>The spec generation (metadata.generation) this status describes.</summary>
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
    /// <summary>Ready (a run finished for this generation), Healthy (no Critical or Warning finding), Remediated (auto actions applied and verified).</summary>
    [JsonPropertyName("conditions")] public List<V1Condition>? Conditions { get; set; }
    /// <summary>Counts of the last run: findings by severity, nodes, checks, duration.</summary>
    [JsonPropertyName("summary")] public DiagnosisSummary? Summary { get; set; }
    /// <summary>Findings of the last run, worst first, each with evidence and remediation.</summary>
    [JsonPropertyName("findings")] public List<DiagnosisFinding>? Findings { get; set; }
    /// <summary>Auto actions: what, on which target, when, dry-run or applied, result, re-check outcome.</summary>
    [JsonPropertyName("remediations")] public List<RemediationRecord>? Remediations { get; set; }

    /// <summary>The id of the run in progress or last finished (e.g. <c>g3-20261130t0215</c>).</summary>
    [JsonPropertyName("currentRun")] public string? CurrentRun { get; set; }
    /// <summary>When the run in progress (or the last one) started.</summary>
    [JsonPropertyName("runStartTime")] public DateTime? RunStartTime { get; set; }
    /// <summary>When the last run finished.</summary>
    [JsonPropertyName("lastRunTime")] public DateTime? LastRunTime { get; set; }
    /// <summary>When the next scheduled run starts (scheduled diagnoses only).</summary>
    [JsonPropertyName("nextRunTime")] public DateTime? NextRunTime { get; set; }
    /// <summary>The last spec.historyLimit runs: start, end, counts, new and resolved findings.</summary>
    [JsonPropertyName("history")] public List<RunRecord>? History { get; set; }
    /// <summary>A human sentence about the latest state, shown by describe.</summary>
    [JsonPropertyName("message")] public string? Message { get; set; }
}

/// <summary>Values of <c>status.phase</c>.</summary>
public static class Phases
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string Invalid = "Invalid";

    public static readonly IReadOnlyList<string> All = [Pending, Running, Completed, Failed, Invalid];
}

/// <summary>Counts of one run.</summary>
public sealed class DiagnosisSummary
{
    [JsonPropertyName("critical")] public int Critical { get; set; }
    [JsonPropertyName("warning")] public int Warning { get; set; }
    [JsonPropertyName("info")] public int Info { get; set; }
    [JsonPropertyName("unknown")] public int Unknown { get; set; }
    /// <summary>Nodes whose probe delivered a report.</summary>
    [JsonPropertyName("nodesProbed")] public int NodesProbed { get; set; }
    /// <summary>Nodes the node selector matched.</summary>
    [JsonPropertyName("nodesSelected")] public int NodesSelected { get; set; }
    /// <summary>The checks this run executed.</summary>
    [JsonPropertyName("checksRun")] public List<string>? ChecksRun { get; set; }
    [JsonPropertyName("durationSeconds")] public double? DurationSeconds { get; set; }
}

/// <summary>One finding, merged across the nodes where the same check and cause appeared.</summary>
public sealed class DiagnosisFinding
{
    /// <summary>The check name (from spec.checks, or probe for a probe that failed).</summary>
    [JsonPropertyName("check")] public string Check { get; set; } = "";
    /// <summary>Critical, Warning, Info or Unknown.</summary>
    [JsonPropertyName("severity")] public string Severity { get; set; } = "";
    /// <summary>A short stable key of the cause within the check (e.g. ip_forward=0); merges findings across nodes.</summary>
    [JsonPropertyName("cause")] public string? Cause { get; set; }
    /// <summary>Affected nodes (capped; <see cref="NodeCount"/> has the full count).</summary>
    [JsonPropertyName("nodes")] public List<string>? Nodes { get; set; }
    [JsonPropertyName("nodeCount")] public int? NodeCount { get; set; }
    /// <summary>Affected objects that are not nodes (e.g. <c>kube-system/coredns-abc</c>).</summary>
    [JsonPropertyName("objects")] public List<string>? Objects { get; set; }
    [JsonPropertyName("message")] public string Message { get; set; } = "";
    /// <summary>What was observed, quoted from the node or the API (a resolv.conf line, a sysctl value).</summary>
    [JsonPropertyName("evidence")] public List<string>? Evidence { get; set; }
    /// <summary>What to do about it, in words a cluster admin can follow.</summary>
    [JsonPropertyName("remediation")] public string? Remediation { get; set; }
    /// <summary>The auto action that can fix this finding, if there is a safe one.</summary>
    [JsonPropertyName("autoAction")] public string? AutoAction { get; set; }
    /// <summary>For a finding an auto action targeted: whether the re-check confirmed the fix.</summary>
    [JsonPropertyName("verified")] public bool? Verified { get; set; }
}

/// <summary>One auto action, planned or applied, and its outcome.</summary>
public sealed class RemediationRecord
{
    [JsonPropertyName("action")] public string Action { get; set; } = "";
    [JsonPropertyName("target")] public string Target { get; set; } = "";
    [JsonPropertyName("time")] public DateTime? Time { get; set; }
    [JsonPropertyName("dryRun")] public bool DryRun { get; set; }
    /// <summary>Planned, Applied, Failed, Skipped.</summary>
    [JsonPropertyName("result")] public string Result { get; set; } = "";
    [JsonPropertyName("message")] public string? Message { get; set; }
    /// <summary>Pending, Passed, StillFailing.</summary>
    [JsonPropertyName("recheck")] public string? Recheck { get; set; }
    [JsonPropertyName("run")] public string? Run { get; set; }
}

/// <summary>One completed run, kept in status.history.</summary>
public sealed class RunRecord
{
    [JsonPropertyName("run")] public string Run { get; set; } = "";
    [JsonPropertyName("startTime")] public DateTime? StartTime { get; set; }
    [JsonPropertyName("endTime")] public DateTime? EndTime { get; set; }
    [JsonPropertyName("phase")] public string? Phase { get; set; }
    [JsonPropertyName("critical")] public int Critical { get; set; }
    [JsonPropertyName("warning")] public int Warning { get; set; }
    [JsonPropertyName("unknown")] public int Unknown { get; set; }
    /// <summary>Findings (check/cause) that appeared since the previous run.</summary>
    [JsonPropertyName("new")] public List<string>? New { get; set; }
    /// <summary>Findings (check/cause) of the previous run that are gone.</summary>
    [JsonPropertyName("resolved")] public List<string>? Resolved { get; set; }
}
