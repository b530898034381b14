using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Planning;
using NetDiag.Operator.Remediation;

namespace NetDiag.Operator.Status;

/// <summary>The <c>Remediated</c> condition's verdict; null means the condition is absent.</summary>
public sealed record RemediatedVerdict(string Status, string Reason, string Message);

/// <summary>
/// How auto-remediation shows in status, pure: <c>status.remediations</c>, the findings' texts,
/// the <c>Remediated</c> condition, and what a re-check changes.
/// <code>
///   mode ≠ Auto, or nothing to act on       → no Remediated condition
///   some action Failed                       → False / RemediationFailed
///   applied, re-check not yet run            → Unknown / Verifying
///   applied, re-check still failing          → False / Unverified
///   applied, every re-check passed           → True / Verified
///   only Planned (dry run) / Skipped records → False / DryRun, NotApplied (message says which rail)
/// </code>
/// </summary>
public static class RemediationStatus
{
    public const string Verified = "Verified";
    public const string Verifying = "Verifying";
    public const string Unverified = "Unverified";
    public const string NotApplied = "NotApplied";
    public const string DryRun = "DryRun";

    /// <summary>Bound on <c>status.remediations</c>: records of the runs still in history, newest run first.</summary>
    public const int MaxRecords = 50;

    /// <summary>The verdict for the records of <paramref name="runId"/> under <paramref name="mode"/>.</summary>
    public static RemediatedVerdict? Verdict(string mode, IReadOnlyList<RemediationRecord>? records, string? runId)
    {
        if (mode != RemediationModes.Auto)
            return null;
        var run = (records ?? []).Where(r => r.Run == runId).ToList();
        if (run.Count == 0)
            return null;
        if (run.FirstOrDefault(r => r.Result == RemediationResults.Failed) is { } failed)
            return new("False", Reasons.RemediationFailed, $"{failed.Action} on {failed.Target} failed: {failed.Message}");
        var applied = run.Where(r => r.Result == RemediationResults.Applied).ToList();
        if (applied.Count > 0)
        {
            if (applied.FirstOrDefault(r => r.Recheck == RemediationResults.RecheckStillFailing) is { } still)
                return new("False", Unverified, $"{still.Action} was applied but the re-check still fails: {still.Message}");
            if (applied.Any(r => r.Recheck is null or RemediationResults.RecheckPending))
                return new("Unknown", Verifying, $"{Actions(applied)} applied; re-check pending");
            return new("True", Verified, $"{Actions(applied)} applied and verified by a re-check");
        }
        var first = run[0];
        return first.Result == RemediationResults.Planned
            ? new("False", DryRun, $"Dry run: nothing changed. {first.Message}")
            : new("False", NotApplied, first.Message ?? $"{first.Action} was not applied");
    }

    /// <summary>The records of <paramref name="runId"/> replace that run's; records of runs in <paramref name="keepRuns"/> stay; bounded.</summary>
    public static List<RemediationRecord>? Merge(IReadOnlyList<RemediationRecord>? old, IReadOnlyList<RemediationRecord> run, string runId, IEnumerable<string> keepRuns)
    {
        var keep = keepRuns.ToHashSet(StringComparer.Ordinal);
        var merged = run.Concat((old ?? []).Where(r => r.Run != runId && r.Run is not null && keep.Contains(r.Run)))
                        .Take(MaxRecords).ToList();
        return merged.Count == 0 ? null : merged;
    }

    /// <summary>
    /// Findings an action was meant for but did not act on say why in their remediation text
    /// (the rail that stopped it, or "Dry run: Auto would …"), so the reason is where a person reads.
    /// </summary>
    public static List<DiagnosisFinding> Explain(IReadOnlyList<DiagnosisFinding> findings, IReadOnlyList<RemediationRecord> records)
    {
        var result = new List<DiagnosisFinding>(findings.Count);
        foreach (var f in findings)
        {
            var notes = records.Where(r => r.Result is RemediationResults.Skipped or RemediationResults.Planned or RemediationResults.Failed &&
                                           !string.IsNullOrEmpty(r.Message) &&
                                           RemediationVerification.ChecksFixedBy(r.Action).Contains(f.Check))
                               .Select(r => $"Auto-remediation ({r.Result}): {r.Message}")
                               .Distinct().ToList();
            if (notes.Count == 0)
            {
                result.Add(f);
                continue;
            }
            var copy = Clone(f);
            copy.Remediation = string.Join("\n", new[] { f.Remediation }.Concat(notes).Where(s => !string.IsNullOrWhiteSpace(s)));
            result.Add(copy);
        }
        return result;
    }

    /// <summary>
    /// Folds a re-check into the status: records get Passed/StillFailing, findings that stay are
    /// marked <c>verified: false</c>, fixed ones stay listed as Info with <c>verified: true</c>
    /// (so the fix is visible and no longer counts as a fault), the summary, Healthy and Remediated
    /// conditions and the run's history entry (resolved) follow.
    /// </summary>
    public static NetworkDiagnosisStatus AfterRecheck(NetworkDiagnosisStatus old, RecheckResult recheck, string mode, DateTimeOffset now)
    {
        var runId = old.CurrentRun;
        var fixedFindings = recheck.Resolved.Select(f =>
        {
            var c = Clone(f);
            c.Severity = nameof(Severity.Info);
            c.Verified = true;
            c.Message = $"Fixed by auto-remediation, verified by a re-check: {f.Message}";
            return c;
        });
        var findings = recheck.Findings.Concat(fixedFindings).ToList();
        var records = recheck.Records.Concat((old.Remediations ?? []).Where(r => r.Run != runId)).ToList();
        var counts = StatusCalculator.Count(findings);
        var generation = old.ObservedGeneration ?? 1;

        var history = old.History?.Select(h => h).ToList();
        if (history?.FindIndex(h => h.Run == runId) is >= 0 and var i)
        {
            var h = history[i];
            history[i] = new RunRecord
            {
                Run = h.Run, StartTime = h.StartTime, EndTime = h.EndTime, Phase = h.Phase,
                Critical = counts.Critical, Warning = counts.Warning, Unknown = counts.Unknown,
                New = h.New,
                Resolved = (h.Resolved ?? []).Concat(recheck.Resolved.Select(RunHistory.KeyOf)).Distinct().ToList() is { Count: > 0 } r ? r : null,
            };
        }

        var summary = old.Summary is null ? new DiagnosisSummary() : Copy(old.Summary);
        summary.Critical = counts.Critical; summary.Warning = counts.Warning; summary.Info = counts.Info; summary.Unknown = counts.Unknown;
        var healthy = counts.Critical + counts.Warning > 0
            ? Condition(ConditionTypes.Healthy, "False", Reasons.FindingsPresent, StatusCalculator.Counts(counts), generation)
            : counts.Unknown > 0
                ? Condition(ConditionTypes.Healthy, "Unknown", StatusCalculator.ChecksUnknown, $"No critical or warning findings, but {counts.Unknown} unknown", generation)
                : Condition(ConditionTypes.Healthy, "True", Reasons.NoFindings, "No critical or warning findings", generation);
        var next = new NetworkDiagnosisStatus
        {
            Phase = old.Phase, ObservedGeneration = old.ObservedGeneration, Summary = summary, Findings = findings,
            Remediations = records, CurrentRun = old.CurrentRun, RunStartTime = old.RunStartTime,
            LastRunTime = old.LastRunTime, NextRunTime = old.NextRunTime, History = history,
            Message = recheck.Resolved.Count > 0
                ? $"{old.Message}. Auto-remediation fixed {recheck.Resolved.Count} finding(s), verified by a re-check"
                : $"{old.Message}. Auto-remediation re-check: {recheck.Findings.Count(f => f.Verified == false)} finding(s) still failing",
        };
        next.Conditions = StatusCalculator.MergeConditions(old.Conditions, [healthy], now);
        return WithRemediated(next, Verdict(mode, next.Remediations, runId), now);
    }

    /// <summary>Sets (or removes, for a null verdict) the Remediated condition.</summary>
    public static NetworkDiagnosisStatus WithRemediated(NetworkDiagnosisStatus status, RemediatedVerdict? verdict, DateTimeOffset now)
    {
        var generation = status.ObservedGeneration ?? 1;
        status.Conditions = verdict is null
            ? status.Conditions?.Where(c => c.Type != ConditionTypes.Remediated).ToList()
            : StatusCalculator.MergeConditions(status.Conditions,
                [Condition(ConditionTypes.Remediated, verdict.Status, verdict.Reason, verdict.Message, generation)], now);
        return status;
    }

    private static string Actions(IEnumerable<RemediationRecord> records) => string.Join(", ", records.Select(r => r.Action).Distinct());

    private static V1Condition Condition(string type, string status, string reason, string message, long generation) => new()
    {
        Type = type, Status = status, Reason = reason,
        Message = message.Length > 1000 ? message[..999] + "…" : message,
        ObservedGeneration = generation,
    };

    private static DiagnosisSummary Copy(DiagnosisSummary s) => new()
    {
        Critical = s.Critical, Warning = s.Warning, Info = s.Info, Unknown = s.Unknown, NodesProbed = s.NodesProbed,
        NodesSelected = s.NodesSelected, ChecksRun = s.ChecksRun?.ToList(), DurationSeconds = s.DurationSeconds,
    };

    private static DiagnosisFinding Clone(DiagnosisFinding f) => new()
    {
        Check = f.Check, Severity = f.Severity, Cause = f.Cause, Nodes = f.Nodes?.ToList(), NodeCount = f.NodeCount,
        Objects = f.Objects?.ToList(), Message = f.Message, Evidence = f.Evidence?.ToList(), Remediation = f.Remediation,
        AutoAction = f.AutoAction, Verified = f.Verified,
    };
}
