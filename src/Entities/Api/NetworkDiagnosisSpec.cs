using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s.Models;

namespace NetDiag.Entities.Api;

/// <summary>What to diagnose, where, when, and what may be fixed automatically.</summary>
public sealed class NetworkDiagnosisSpec
{
    /// <summary>Check names from the catalog; empty or omitted means all that apply to the detected CNI.</summary>
    [EnumValues(typeof(CheckNames), nameof(CheckNames.All))]
    [JsonPropertyName("checks")] public List<string>? Checks { get; set; }

    /// <summary>Label selector for the nodes to probe (default: all nodes, control plane included).</summary>
    [JsonPropertyName("nodeSelector")] public V1LabelSelector? NodeSelector { get; set; }

    /// <summary>Cron expression (5 fields); absent: run once per spec generation.</summary>
    [JsonPropertyName("schedule")] public string? Schedule { get; set; }

    /// <summary>IANA time zone for the schedule (default UTC).</summary>
    [JsonPropertyName("timeZone")] public string? TimeZone { get; set; }

    /// <summary>Stop scheduling without deleting.</summary>
    [JsonPropertyName("suspend")] public bool? Suspend { get; set; }

    /// <summary>Deadline for one run as a duration like <c>2m</c> or <c>90s</c>; probes still out then are Unknown.</summary>
    [DefaultValue(Defaults.Timeout)]
    [Pattern(DurationParser.Pattern)]
    [JsonPropertyName("timeout")] public string? Timeout { get; set; }

    /// <summary>Bound on probe Jobs alive at once.</summary>
    [Range(1, 1000)]
    [DefaultValue(Defaults.MaxConcurrentProbes)]
    [JsonPropertyName("maxConcurrentProbes")] public int? MaxConcurrentProbes { get; set; }

    /// <summary>What may be fixed, and how: off, suggested in findings, or applied automatically.</summary>
    [JsonPropertyName("remediation")] public RemediationSpec? Remediation { get; set; }

    /// <summary>Completed runs kept in status.</summary>
    [Range(0, 50)]
    [DefaultValue(Defaults.HistoryLimit)]
    [JsonPropertyName("historyLimit")] public int? HistoryLimit { get; set; }

    /// <summary>Upstream DNS servers for <c>patchCorefileForward</c>; else the probe's non-loopback servers.</summary>
    [JsonPropertyName("dnsUpstreams")] public List<string>? DnsUpstreams { get; set; }

    /// <summary>An external name (e.g. <c>example.com</c>) every probed node resolves through cluster DNS (dnsService); skipped when absent.</summary>
    [JsonPropertyName("externalDnsName")] public string? ExternalDnsName { get; set; }

    /// <summary>
    /// Values the API server fills in (CRD schema defaults) and the operator assumes when a field is
    /// absent. The time zone has no schema default: a zone is only meaningful with a schedule.
    /// </summary>
    public static class Defaults
    {
        public const string Timeout = "2m";
        public const int MaxConcurrentProbes = 50;
        public const int HistoryLimit = 5;
        public const string TimeZone = "UTC";
    }
}

/// <summary>The remediation policy of a diagnosis (api.md "Auto-remediation guard rails").</summary>
public sealed class RemediationSpec
{
    /// <summary>Off (findings only), Suggest (default: findings plus remediation text), Auto.</summary>
    [EnumValues(typeof(RemediationModes), nameof(RemediationModes.All))]
    [DefaultValue(RemediationModes.Suggest)]
    [JsonPropertyName("mode")] public string? Mode { get; set; }

    /// <summary>Allowlist of auto actions; Auto applies only these.</summary>
    [EnumValues(typeof(ActionNames), nameof(ActionNames.All))]
    [JsonPropertyName("actions")] public List<string>? Actions { get; set; }

    /// <summary>Report what Auto would do, change nothing.</summary>
    [JsonPropertyName("dryRun")] public bool? DryRun { get; set; }
}

/// <summary>Values of <c>spec.remediation.mode</c>.</summary>
public static class RemediationModes
{
    public const string Off = "Off";
    public const string Suggest = "Suggest";
    public const string Auto = "Auto";
    public static readonly IReadOnlyList<string> All = [Off, Suggest, Auto];
}
