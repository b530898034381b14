using NetDiag.Entities;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Planning;

/// <summary>A spec's run settings with the defaults of api.md applied.</summary>
public sealed record RunSettings(TimeSpan Timeout, int MaxConcurrentProbes, string RemediationMode, int HistoryLimit)
{
    public static RunSettings From(NetworkDiagnosisSpec spec)
    {
        var timeout = TryParseDuration(spec.Timeout ?? NetworkDiagnosisSpec.Defaults.Timeout, out var t) && t > TimeSpan.Zero
            ? t
            : TimeSpan.FromMinutes(2);
        return new RunSettings(
            timeout,
            Math.Max(1, spec.MaxConcurrentProbes ?? NetworkDiagnosisSpec.Defaults.MaxConcurrentProbes),
            spec.Remediation?.Mode ?? RemediationModes.Suggest,
            Math.Max(0, spec.HistoryLimit ?? NetworkDiagnosisSpec.Defaults.HistoryLimit));
    }

    /// <summary>Go-style durations as users write them in YAML (<c>90s</c>, <c>2m</c>, <c>1h30m</c>), via the shared parser.</summary>
    public static bool TryParseDuration(string? text, out TimeSpan value) => DurationParser.TryParse(text, out value, out _);
}
