using NetDiag.Entities.Api;
using NetDiag.Operator.Remediation;

namespace NetDiag.Operator.Planning;

/// <summary>Whether the re-check of a run's applied fixes is owed, and when.</summary>
public abstract record RecheckDecision
{
    /// <summary>Nothing to verify: no applied action of the run waits for its re-check.</summary>
    public sealed record None : RecheckDecision;

    /// <summary>Owed, not yet: remediation Jobs still run, or restarted pods need until <paramref name="Until"/>.</summary>
    public sealed record Wait(DateTimeOffset? Until, string Why) : RecheckDecision;

    /// <summary>Run the re-check <paramref name="RunId"/> (started at <paramref name="Start"/>) limited to <paramref name="Checks"/>.</summary>
    public sealed record Run(string RunId, DateTimeOffset Start, IReadOnlyList<string> Checks) : RecheckDecision;
}

/// <summary>
/// Decides the follow-up run that verifies auto-remediation, pure, from status alone so an operator
/// restart loses nothing: a record of the current run that says Applied and has no re-check result
/// yet is owed one. It starts once the run's remediation Jobs have finished and the latest
/// <see cref="RemediationCoordinator.DelayAfter(string)"/> has passed; its start is that moment (not
/// "now"), so every reconcile agrees on it and on its deadline.
/// <code>
///   run g4 completes ─ fixes applied ─► Wait (Jobs / delay) ─► Run g4-recheck ─► records Passed/StillFailing
/// </code>
/// </summary>
public static class RecheckPlanner
{
    private const string Suffix = "-recheck";

    /// <summary>The run id of the re-check of <paramref name="runId"/> (label <c>netdiag.io/run</c> of its Jobs).</summary>
    public static string RecheckRunId(string runId) => runId + Suffix;

    /// <summary>The run a (re-check) run id belongs to: <c>g4-recheck</c> → <c>g4</c>.</summary>
    public static string BaseRunId(string runId) =>
        runId.EndsWith(Suffix, StringComparison.Ordinal) ? runId[..^Suffix.Length] : runId;

    /// <param name="currentRun">status.currentRun.</param>
    /// <param name="records">status.remediations.</param>
    /// <param name="remediationJobsRunning">How many of the run's remediation Jobs have not finished.</param>
    public static RecheckDecision Decide(string? currentRun, IReadOnlyList<RemediationRecord>? records, int remediationJobsRunning, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(currentRun))
            return new RecheckDecision.None();
        var pending = Pending(currentRun, records);
        if (pending.Count == 0)
            return new RecheckDecision.None();
        if (remediationJobsRunning > 0)
            return new RecheckDecision.Wait(null, $"waiting for {remediationJobsRunning} remediation Job(s) to finish before re-checking");

        var due = pending.Max(r => Time(r) + RemediationCoordinator.DelayAfter(r.Action));
        if (now < due)
            return new RecheckDecision.Wait(due, $"re-checking at {due:O}, once restarted components are up");
        var checks = pending.SelectMany(r => RemediationVerification.ChecksFixedBy(r.Action))
                            .Distinct(StringComparer.Ordinal).ToList();
        return new RecheckDecision.Run(RecheckRunId(currentRun), due, checks);
    }

    /// <summary>Applied records of <paramref name="runId"/> that have no re-check result yet.</summary>
    public static List<RemediationRecord> Pending(string runId, IReadOnlyList<RemediationRecord>? records) =>
        (records ?? []).Where(r => r.Run == runId && r.Result == RemediationResults.Applied &&
                                   r.Recheck is null or RemediationResults.RecheckPending).ToList();

    private static DateTimeOffset Time(RemediationRecord r) =>
        r.Time is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : DateTimeOffset.MinValue;
}
