using System.Text.Json.Serialization;

namespace NetDiag.Entities.Reports;

/// <summary>
/// What one probe run found on one node. The full report goes to stdout (the pod log); a compact
/// form (<see cref="ProbeReportCodec"/>) goes to the termination message, which the kubelet caps at
/// 4 KiB. Both travel through the kubelet, never through the pod network that may be broken.
/// </summary>
public sealed record ProbeReport
{
    public const string CurrentSchemaVersion = "netdiag.io/probe-report/v1";

    [JsonPropertyName("schemaVersion")] public string SchemaVersion { get; init; } = CurrentSchemaVersion;
    [JsonPropertyName("node")] public string Node { get; init; } = "";
    [JsonPropertyName("startedAt")] public DateTimeOffset StartedAt { get; init; }
    [JsonPropertyName("durationMs")] public long DurationMs { get; init; }

    /// <summary>Whether this is the compact form (evidence trimmed to fit the termination message).</summary>
    [JsonPropertyName("compact")] public bool Compact { get; init; }

    /// <summary>The status of every check that ran.</summary>
    [JsonPropertyName("checks")] public List<CheckResult> Checks { get; init; } = [];

    [JsonPropertyName("findings")] public List<Finding> Findings { get; init; } = [];
}

/// <summary>The status of one check on one node, with why when it is not Pass.</summary>
public sealed record CheckResult
{
    [JsonPropertyName("check")] public string Check { get; init; } = "";
    [JsonPropertyName("status")] public CheckStatus Status { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
}

/// <summary>
/// One thing found. <see cref="Cause"/> is a short stable key (e.g. <c>ip_forward=0</c>,
/// <c>udp/8472 dropped</c>): findings with the same check and cause on many nodes are merged by
/// the operator into one finding listing the nodes, so node-specific detail belongs in evidence.
/// </summary>
public sealed record Finding
{
    [JsonPropertyName("check")] public string Check { get; init; } = "";
    [JsonPropertyName("severity")] public Severity Severity { get; init; }
    [JsonPropertyName("cause")] public string Cause { get; init; } = "";
    [JsonPropertyName("message")] public string Message { get; init; } = "";
    [JsonPropertyName("evidence")] public List<string> Evidence { get; init; } = [];
    [JsonPropertyName("remediation")] public string? Remediation { get; init; }
    /// <summary>The auto action that would fix it (ActionNames), if one exists.</summary>
    [JsonPropertyName("autoAction")] public string? AutoAction { get; init; }
    /// <summary>Structured values an auto action needs (e.g. a passing port, upstream servers).</summary>
    [JsonPropertyName("data")] public Dictionary<string, string>? Data { get; init; }
}
