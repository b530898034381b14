using System.Text.Json.Serialization;

namespace NetDiag.Entities;

/// <summary>
/// How bad a finding is (checks.md). Critical: traffic is broken now. Warning: degraded or a trap.
/// Info: context. Unknown: the check could not run, with the reason; never a silent pass.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<Severity>))]
public enum Severity
{
    Info,
    Warning,
    Critical,
    Unknown,
}

/// <summary>
/// The outcome of one check on one node. Declared in order of badness for "worst of":
/// Unknown ranks above Warning (we could not verify) and below Critical (known broken).
/// The probe's exit code is the worst status's numeric value.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckStatus>))]
public enum CheckStatus
{
    Pass = 0,
    Warning = 1,
    Unknown = 2,
    Critical = 3,
}

public static class SeverityExtensions
{
    /// <summary>The check status a finding of this severity implies.</summary>
    public static CheckStatus ToStatus(this Severity severity) => severity switch
    {
        Severity.Info => CheckStatus.Pass,
        Severity.Warning => CheckStatus.Warning,
        Severity.Critical => CheckStatus.Critical,
        _ => CheckStatus.Unknown,
    };

    public static CheckStatus Worst(this IEnumerable<CheckStatus> statuses) =>
        statuses.DefaultIfEmpty(CheckStatus.Pass).Max();
}
