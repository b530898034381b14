using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Checks;

namespace NetDiag.Operator.Status;

/// <summary>Caps that keep a status far below etcd's 1.5 MiB object limit on a 1000-node cluster.</summary>
public sealed record AggregationLimits
{
    public int MaxNodeNames { get; init; } = 20;
    public int MaxObjects { get; init; } = 20;
    public int MaxEvidence { get; init; } = 10;
    public int MaxEvidenceChars { get; init; } = 300;
    public int MaxMessageChars { get; init; } = 600;
    public int MaxRemediationChars { get; init; } = 2000;
    public int MaxFindings { get; init; } = 100;
    public static AggregationLimits Default { get; } = new();
}

/// <summary>
/// Merges findings with the same check and cause into one finding listing the nodes (capped, with
/// the full count), so 1000 nodes with ip_forward=0 are one finding, not 1000.
/// </summary>
public static class FindingAggregator
{
    public static string Key(string check, string? cause) => $"{check}/{cause}";

    /// <summary>Worst first: Critical, Unknown (could not verify), Warning, Info.</summary>
    public static int Rank(Severity s) => s switch
    {
        Severity.Critical => 3,
        Severity.Unknown => 2,
        Severity.Warning => 1,
        _ => 0,
    };

    public static List<DiagnosisFinding> Aggregate(IEnumerable<ScopedFinding> findings, bool includeRemediation, AggregationLimits? limits = null)
    {
        limits ??= AggregationLimits.Default;
        var result = new List<(DiagnosisFinding Finding, int Rank)>();
        foreach (var group in findings.GroupBy(f => Key(f.Check, f.Cause)))
        {
            var items = group.ToList();
            var worst = items.MaxBy(i => Rank(i.Finding.Severity))!.Finding;
            var nodes = items.Select(i => i.Node).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
            var objects = items.Select(i => i.Object).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
            var messages = items.Select(i => i.Finding.Message).Distinct().ToList();
            var message = messages.Count == 1
                ? messages[0]
                : $"{worst.Message} (the same cause on {Plural(Math.Max(nodes.Count, objects.Count) - 1, "other node")})";
            var evidence = items
                .SelectMany(i => i.Finding.Evidence.Select(e => i.Node is { } n && !e.Contains(n, StringComparison.Ordinal) ? $"{n}: {e}" : e))
                .Distinct()
                .ToList();
            var kept = evidence.Take(limits.MaxEvidence).Select(e => Cut(e, limits.MaxEvidenceChars)).ToList();
            if (evidence.Count > kept.Count) kept.Add($"... and {evidence.Count - kept.Count} more");
            result.Add((new DiagnosisFinding
            {
                Check = worst.Check,
                Severity = worst.Severity.ToString(),
                Cause = worst.Cause,
                Nodes = nodes.Count == 0 ? null : nodes.Take(limits.MaxNodeNames).ToList(),
                NodeCount = nodes.Count == 0 ? null : nodes.Count,
                Objects = objects.Count == 0 ? null : objects.Take(limits.MaxObjects).ToList(),
                Message = Cut(message, limits.MaxMessageChars),
                Evidence = kept.Count == 0 ? null : kept,
                Remediation = includeRemediation ? CutOrNull(items.Select(i => i.Finding.Remediation).FirstOrDefault(r => !string.IsNullOrWhiteSpace(r)), limits.MaxRemediationChars) : null,
                AutoAction = items.Select(i => i.Finding.AutoAction).FirstOrDefault(a => a is not null),
            }, Rank(worst.Severity)));
        }
        return result
            .OrderByDescending(r => r.Rank)
            .ThenBy(r => r.Finding.Check, StringComparer.Ordinal)
            .ThenBy(r => r.Finding.Cause, StringComparer.Ordinal)
            .Take(limits.MaxFindings)
            .Select(r => r.Finding)
            .ToList();
    }

    private static string Plural(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
    private static string? CutOrNull(string? s, int max) => s is null ? null : Cut(s, max);
}
