using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Status;

/// <summary>An Event to record on the diagnosis.</summary>
public sealed record PlannedEvent(string Type, string Reason, string Message);

/// <summary>
/// The Events a status change deserves, on transitions only: a new finding (check/cause not in the
/// previous status) is FindingDetected, or ProbeFailed for probe problems; entering Completed for a
/// run is RunCompleted; entering Invalid (or a different invalid message) is InvalidSpec. Polling an
/// unchanged state emits nothing.
/// </summary>
public static class Transitions
{
    public static IReadOnlyList<PlannedEvent> Events(NetworkDiagnosisStatus? old, NetworkDiagnosisStatus next)
    {
        var events = new List<PlannedEvent>();
        if (next.Phase == Phases.Invalid)
        {
            if (old?.Phase != Phases.Invalid || old.Message != next.Message)
                events.Add(new(EventTypes.Warning, Reasons.InvalidSpec, next.Message ?? "Invalid spec"));
            return events;
        }

        var known = (old?.Findings ?? []).Select(f => FindingAggregator.Key(f.Check, f.Cause)).ToHashSet();
        var selected = next.Summary?.NodesSelected ?? 0;
        foreach (var f in next.Findings ?? [])
        {
            if (known.Contains(FindingAggregator.Key(f.Check, f.Cause))) continue;
            var where = f.NodeCount is > 0 ? $" on {f.NodeCount} of {selected} nodes" : "";
            if (f.Check == CheckNames.ProbeFailed)
                events.Add(new(EventTypes.Warning, Reasons.ProbeFailed, $"{f.Cause}{where}: {f.Message}"));
            else
                events.Add(new(f.Severity == nameof(Severity.Info) ? EventTypes.Normal : EventTypes.Warning, Reasons.FindingDetected,
                    $"{f.Severity} {f.Check}{where}: {f.Message}"));
        }

        var finished = next.Phase is Phases.Completed or Phases.Failed;
        var wasFinished = old?.Phase is Phases.Completed or Phases.Failed && old.CurrentRun == next.CurrentRun;
        if (finished && !wasFinished)
            events.Add(new(next.Phase == Phases.Failed ? EventTypes.Warning : EventTypes.Normal, Reasons.RunCompleted, next.Message ?? "Run completed"));
        return events;
    }
}
