using Humanizer;
using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Planning;

namespace NetDiag.Operator.Status;

/// <summary>Everything the status of a run depends on; the calculator adds nothing of its own.</summary>
public sealed record RunStatusInput
{
    public required V1alpha1NetworkDiagnosis Diagnosis { get; init; }
    public required DateTimeOffset Now { get; init; }
    public required string RunId { get; init; }
    public required DateTimeOffset RunStart { get; init; }
    /// <summary>All selected nodes are settled, or the deadline passed.</summary>
    public required bool Complete { get; init; }
    public required int NodesSelected { get; init; }
    /// <summary>Nodes whose probe delivered a report.</summary>
    public required int NodesReported { get; init; }
    /// <summary>Whether the run launches probes at all (some node check selected).</summary>
    public required bool ProbesNeeded { get; init; }
    public required IReadOnlyList<string> ChecksRun { get; init; }
    public IReadOnlyList<string> Skipped { get; init; } = [];
    public required IReadOnlyList<ScopedFinding> Findings { get; init; }
    public string RemediationMode { get; init; } = RemediationModes.Suggest;
    public int HistoryLimit { get; init; } = NetworkDiagnosisSpec.Defaults.HistoryLimit;
    public AggregationLimits Limits { get; init; } = AggregationLimits.Default;
    /// <summary>Pod IP → node (CoreDNS pods), so a dead DNS target can be traced to a broken node.</summary>
    public IReadOnlyDictionary<string, string>? PodNodes { get; init; }
    /// <summary>status.lastRunTime as the schedule planner set it when the run started (its slot); null: the end of a completed run.</summary>
    public DateTimeOffset? LastRunTime { get; init; }
    /// <summary>The next scheduled slot (status.nextRunTime), null without a schedule.</summary>
    public DateTimeOffset? NextRunTime { get; init; }
}

/// <summary>
/// Computes a diagnosis's next status in one pure function: phase, observedGeneration,
/// conditions (lastTransitionTime kept while a condition's status is unchanged), summary,
/// aggregated findings, history. The reconciler writes it only if it differs from the current one.
/// While a run is in progress nothing in it depends on "now", so polling writes nothing.
/// </summary>
public static class StatusCalculator
{
    /// <summary>Healthy=Unknown: no Critical or Warning finding, but some check could not run.</summary>
    public const string ChecksUnknown = "ChecksUnknown";

    public static NetworkDiagnosisStatus ForRun(RunStatusInput input)
    {
        var d = input.Diagnosis;
        var old = d.Status;
        var generation = d.Metadata.Generation ?? 1;
        // While a run is in progress, status keeps showing what the last finished run found (as the
        // Healthy condition does): partial findings would flap, and the next history entry compares
        // against the previous run's findings.
        var findings = input.Complete
            ? FindingAggregator.Aggregate(RootCauses.Fold(input.Findings, input.PodNodes), input.RemediationMode != RemediationModes.Off, input.Limits)
            : old?.Findings ?? [];
        var counts = Count(findings);
        var failed = input.Complete && input.ProbesNeeded && input.NodesSelected > 0 && input.NodesReported == 0;
        var phase = !input.Complete ? Phases.Running : failed ? Phases.Failed : Phases.Completed;

        var message = input.Complete
            ? CompletedMessage(input, counts)
            : input.ProbesNeeded
                ? $"Run {input.RunId}: {input.NodesReported} of {"node".ToQuantity(input.NodesSelected)} reported"
                : $"Run {input.RunId} in progress";
        if (input.Skipped.Count > 0) message += $". Skipped: {string.Join("; ", input.Skipped)}";

        var status = new NetworkDiagnosisStatus
        {
            Phase = phase,
            ObservedGeneration = generation,
            CurrentRun = input.RunId,
            RunStartTime = input.RunStart.UtcDateTime,
            Findings = input.Complete ? findings : old?.Findings,
            Summary = new DiagnosisSummary
            {
                Critical = counts.Critical,
                Warning = counts.Warning,
                Info = counts.Info,
                Unknown = counts.Unknown,
                NodesProbed = input.NodesReported,
                NodesSelected = input.NodesSelected,
                ChecksRun = input.ChecksRun.ToList(),
                DurationSeconds = input.Complete ? Math.Round((input.Now - input.RunStart).TotalSeconds, 1) : null,
            },
            LastRunTime = input.LastRunTime?.UtcDateTime ?? (input.Complete ? input.Now.UtcDateTime : old?.LastRunTime),
            NextRunTime = input.NextRunTime?.UtcDateTime,
            Remediations = old?.Remediations,
            History = input.Complete ? History(old, input, findings, phase) : old?.History,
            Message = message,
        };

        var ready = input.Complete
            ? Condition(ConditionTypes.Ready, "True", Reasons.RunCompleted, message, generation)
            : Condition(ConditionTypes.Ready, "False", Reasons.Running, message, generation);
        var healthy = input.Complete
            ? counts.Critical + counts.Warning > 0
                ? Condition(ConditionTypes.Healthy, "False", Reasons.FindingsPresent, Counts(counts), generation)
                : counts.Unknown > 0
                    // Nothing known to be broken, but not everything could be verified: not a pass.
                    ? Condition(ConditionTypes.Healthy, "Unknown", ChecksUnknown, $"No critical or warning findings, but {counts.Unknown} unknown", generation)
                    : Condition(ConditionTypes.Healthy, "True", Reasons.NoFindings, "No critical or warning findings", generation)
            : old?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.Healthy) is { } previous && previous.Reason != Reasons.InvalidSpec
                ? previous // a run in progress does not un-know what the last run found
                : Condition(ConditionTypes.Healthy, "Unknown", Reasons.Running, "No run has finished for this generation yet", generation);
        status.Conditions = MergeConditions(old?.Conditions, [ready, healthy], input.Now);
        return status;
    }

    /// <summary>The status of an invalid spec: phase Invalid, Ready=False/InvalidSpec naming the field, findings of earlier runs kept.</summary>
    /// <param name="problems">The validation message, starting with the field path (e.g. <c>spec.timeout: ...</c>).</param>
    public static NetworkDiagnosisStatus ForInvalidSpec(V1alpha1NetworkDiagnosis d, string problems, DateTimeOffset now)
    {
        var old = d.Status;
        var generation = d.Metadata.Generation ?? 1;
        var message = $"Invalid spec: {problems}";
        return new NetworkDiagnosisStatus
        {
            Phase = Phases.Invalid,
            ObservedGeneration = generation,
            Conditions = MergeConditions(old?.Conditions,
            [
                Condition(ConditionTypes.Ready, "False", Reasons.InvalidSpec, message, generation),
                Condition(ConditionTypes.Healthy, "Unknown", Reasons.InvalidSpec, "Nothing is diagnosed while the spec is invalid", generation),
            ], now),
            Summary = old?.Summary,
            Findings = old?.Findings,
            Remediations = old?.Remediations,
            CurrentRun = old?.CurrentRun,
            RunStartTime = old?.RunStartTime,
            LastRunTime = old?.LastRunTime,
            History = old?.History,
            Message = message,
        };
    }

    public readonly record struct SeverityCounts(int Critical, int Warning, int Info, int Unknown);

    public static SeverityCounts Count(IEnumerable<DiagnosisFinding> findings)
    {
        int c = 0, w = 0, i = 0, u = 0;
        foreach (var f in findings)
        {
            switch (f.Severity)
            {
                case nameof(Severity.Critical): c++; break;
                case nameof(Severity.Warning): w++; break;
                case nameof(Severity.Info): i++; break;
                default: u++; break;
            }
        }
        return new(c, w, i, u);
    }

    /// <summary>"1 critical, 2 warnings, 1 unknown" or "no findings".</summary>
    public static string Counts(SeverityCounts c)
    {
        var parts = new List<string>();
        if (c.Critical > 0) parts.Add($"{c.Critical} critical");
        if (c.Warning > 0) parts.Add("warning".ToQuantity(c.Warning));
        if (c.Unknown > 0) parts.Add($"{c.Unknown} unknown");
        if (c.Info > 0) parts.Add($"{c.Info} info");
        return parts.Count == 0 ? "no findings" : string.Join(", ", parts);
    }

    private static string CompletedMessage(RunStatusInput input, SeverityCounts counts) =>
        input.ProbesNeeded
            ? $"Probed {input.NodesReported} of {"node".ToQuantity(input.NodesSelected)}: {Counts(counts)}"
            : $"Ran {"cluster check".ToQuantity(input.ChecksRun.Count)}: {Counts(counts)}";

    /// <summary>This run in front of the history (newest first, bounded); new/resolved against the findings status showed before.</summary>
    private static List<RunRecord> History(NetworkDiagnosisStatus? old, RunStatusInput input, List<DiagnosisFinding> findings, string phase)
    {
        var record = RunHistory.Finished(input.RunId, input.RunStart, input.Now, phase, findings, old?.Findings ?? []);
        return RunHistory.Append(old?.History, record, input.HistoryLimit);
    }

    private static V1Condition Condition(string type, string status, string reason, string message, long generation) => new()
    {
        Type = type,
        Status = status,
        Reason = reason,
        Message = message.Length > 1000 ? message[..999] + "…" : message,
        ObservedGeneration = generation,
    };

    /// <summary>metav1.Condition semantics: lastTransitionTime changes only when status changes.</summary>
    public static List<V1Condition> MergeConditions(IList<V1Condition>? old, IEnumerable<V1Condition> updates, DateTimeOffset now)
    {
        var result = old?.Select(c => c).ToList() ?? [];
        foreach (var u in updates)
        {
            var i = result.FindIndex(c => c.Type == u.Type);
            var previous = i >= 0 ? result[i] : null;
            u.LastTransitionTime = previous is not null && previous.Status == u.Status && previous.LastTransitionTime is { } t
                ? t
                : Truncate(now);
            if (i >= 0) result[i] = u; else result.Add(u);
        }
        return result;
    }

    /// <summary>The API server stores times in whole seconds; compare like with like.</summary>
    private static DateTime Truncate(DateTimeOffset t) => new(t.UtcDateTime.Ticks - t.UtcDateTime.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
}
