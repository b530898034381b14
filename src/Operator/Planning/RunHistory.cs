using NetDiag.Entities;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Planning;

/// <summary>What changed between two runs: finding keys (<c>check/cause</c>) that appeared and that went away.</summary>
public sealed record RunChanges(IReadOnlyList<string> New, IReadOnlyList<string> Resolved);

/// <summary>
/// <c>status.history</c> bookkeeping, pure. History is newest first (<c>history[0]</c> is the latest
/// finished run), bounded by <c>spec.historyLimit</c>, and each entry says which findings are new
/// and which were resolved since the run before it, so a regression after a reboot reads at a glance:
/// <code>
///   g4-202503100300  Completed  critical 1  new: ipForward/ip_forward=0
///   g4-202503090300  Completed  critical 0  resolved: flannelPort/udp/8472 dropped
/// </code>
/// Jobs of runs that fell out of history are deleted (<see cref="RunsToCleanUp"/>), so the pod logs
/// of the kept runs stay readable and nothing else piles up.
/// </summary>
public static class RunHistory
{
    /// <summary>History phase of a run stopped because a newer spec generation replaced it.</summary>
    public const string Superseded = "Superseded";

    /// <summary>The identity of a finding across runs: check and cause, as the operator merges them.</summary>
    public static string KeyOf(string check, string? cause) =>
        string.IsNullOrEmpty(cause) ? check : $"{check}/{cause}";

    public static string KeyOf(DiagnosisFinding finding) => KeyOf(finding.Check, finding.Cause);

    /// <summary>
    /// Findings new and resolved since the previous run. Info findings are context, not faults, and
    /// are left out. <paramref name="previous"/> null means there was no previous run: nothing to
    /// compare, so both lists are empty (a first run does not call every finding "new").
    /// </summary>
    public static RunChanges Diff(IEnumerable<DiagnosisFinding>? previous, IEnumerable<DiagnosisFinding> current)
    {
        if (previous is null)
            return new RunChanges([], []);
        var before = Keys(previous);
        var after = Keys(current);
        return new RunChanges(
            after.Except(before, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
            before.Except(after, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>The history entry of a finished run: times, phase, counts by severity, and the changes.</summary>
    public static RunRecord Finished(
        string runId,
        DateTimeOffset? startTime,
        DateTimeOffset endTime,
        string phase,
        IReadOnlyCollection<DiagnosisFinding> findings,
        IEnumerable<DiagnosisFinding>? previousFindings)
    {
        var changes = Diff(previousFindings, findings);
        return new RunRecord
        {
            Run = runId,
            StartTime = startTime?.UtcDateTime,
            EndTime = endTime.UtcDateTime,
            Phase = phase,
            Critical = Count(findings, nameof(Severity.Critical)),
            Warning = Count(findings, nameof(Severity.Warning)),
            Unknown = Count(findings, nameof(Severity.Unknown)),
            New = changes.New.Count > 0 ? changes.New.ToList() : null,
            Resolved = changes.Resolved.Count > 0 ? changes.Resolved.ToList() : null,
        };
    }

    /// <summary>The history entry of a run stopped by a spec change (no counts: it did not finish).</summary>
    public static RunRecord SupersededRun(string runId, DateTimeOffset? startTime, DateTimeOffset endTime) => new()
    {
        Run = runId,
        StartTime = startTime?.UtcDateTime,
        EndTime = endTime.UtcDateTime,
        Phase = Superseded,
    };

    /// <summary>
    /// History with <paramref name="record"/> in front, bounded by <paramref name="limit"/>. Idempotent:
    /// appending a run already present replaces that entry, so a reconcile that runs twice (a status
    /// write that failed) never lists a run twice. The input list is not modified.
    /// </summary>
    public static List<RunRecord> Append(IReadOnlyList<RunRecord>? history, RunRecord record, int limit)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (limit <= 0)
            return [];
        var result = new List<RunRecord>(Math.Min(limit, (history?.Count ?? 0) + 1)) { record };
        foreach (var r in history ?? [])
        {
            if (result.Count >= limit)
                break;
            if (r.Run != record.Run)
                result.Add(r);
        }

        return result;
    }

    /// <summary>
    /// Run ids whose Jobs (label <c>netdiag.io/run</c>) should be deleted: every run that has Jobs
    /// but is neither the current run nor in the kept history. Sorted, distinct.
    /// </summary>
    public static IReadOnlyList<string> RunsToCleanUp(
        IEnumerable<string> runsWithJobs, IEnumerable<RunRecord>? history, string? currentRun)
    {
        var keep = new HashSet<string>((history ?? []).Select(r => r.Run), StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(currentRun))
            keep.Add(currentRun);
        return runsWithJobs
            .Where(r => !string.IsNullOrEmpty(r) && !keep.Contains(r))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static HashSet<string> Keys(IEnumerable<DiagnosisFinding> findings) =>
        findings
            .Where(f => !string.Equals(f.Severity, nameof(Severity.Info), StringComparison.OrdinalIgnoreCase))
            .Select(KeyOf)
            .ToHashSet(StringComparer.Ordinal);

    private static int Count(IEnumerable<DiagnosisFinding> findings, string severity) =>
        findings.Count(f => string.Equals(f.Severity, severity, StringComparison.OrdinalIgnoreCase));
}
