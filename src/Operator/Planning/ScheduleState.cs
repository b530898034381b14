using NetDiag.Entities.Api;

namespace NetDiag.Operator.Planning;

/// <summary>Where the latest run (<c>status.currentRun</c>) stands.</summary>
public enum CurrentRunState
{
    /// <summary>No run has been started yet.</summary>
    None,

    /// <summary>Started and not finished: its Jobs may still be out.</summary>
    Running,

    /// <summary>Finished (Completed or Failed), whatever it found.</summary>
    Finished,

    /// <summary>Stopped because a newer spec generation replaced it; its slot is owed to the new generation.</summary>
    Superseded,
}

/// <summary>
/// What the schedule planner needs from the diagnosis: its spec (schedule, zone, suspend), its
/// generation and creation time, and the run bookkeeping from status plus the live Jobs.
/// </summary>
/// <param name="Schedule">Cron expression (5 fields) or null for one run per generation.</param>
/// <param name="TimeZone">IANA zone for the schedule; null or empty means UTC.</param>
/// <param name="Suspend">Stop starting runs (a running run of an older generation is still superseded).</param>
/// <param name="Generation">metadata.generation: every spec change bumps it.</param>
/// <param name="CreatedAt">metadata.creationTimestamp: slots before it were never owed.</param>
/// <param name="CurrentRun">status.currentRun: the run in progress or the latest one.</param>
/// <param name="CurrentRunState">Where that run stands.</param>
/// <param name="LastRunTime">status.lastRunTime: the scheduled slot of the latest run started (start time for one-shot runs).</param>
/// <param name="LiveRuns">Run ids (label <c>netdiag.io/run</c>) that still have unfinished Jobs.</param>
public sealed record ScheduleState(
    string? Schedule,
    string? TimeZone,
    bool Suspend,
    long Generation,
    DateTimeOffset CreatedAt,
    string? CurrentRun,
    CurrentRunState CurrentRunState,
    DateTimeOffset? LastRunTime,
    IReadOnlyCollection<string> LiveRuns)
{
    /// <summary>
    /// Reads the state from a diagnosis and the run ids of its unfinished Jobs. A run counts as
    /// Superseded when history records it so (<see cref="RunHistory.Superseded"/>), Running while
    /// the phase says so, else Finished.
    /// </summary>
    public static ScheduleState From(V1alpha1NetworkDiagnosis diagnosis, IReadOnlyCollection<string> liveRuns)
    {
        var status = diagnosis.Status;
        var spec = diagnosis.Spec;
        var current = status?.CurrentRun;
        var state = CurrentRunState.None;
        if (!string.IsNullOrEmpty(current))
        {
            var recorded = status?.History?.FirstOrDefault(r => r.Run == current);
            state = recorded?.Phase == RunHistory.Superseded ? CurrentRunState.Superseded
                : status?.Phase == Phases.Running ? CurrentRunState.Running
                : CurrentRunState.Finished;
        }

        return new ScheduleState(
            spec.Schedule,
            spec.TimeZone,
            spec.Suspend ?? false,
            diagnosis.Metadata.Generation ?? 1,
            ToOffset(diagnosis.Metadata.CreationTimestamp) ?? DateTimeOffset.MinValue,
            current,
            state,
            ToOffset(status?.LastRunTime),
            liveRuns);
    }

    // The client may hand back Local or Unspecified kinds; API times are always UTC.
    private static DateTimeOffset? ToOffset(DateTime? t) => t switch
    {
        null => null,
        { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime()),
        { } other => new DateTimeOffset(DateTime.SpecifyKind(other, DateTimeKind.Utc)),
    };
}
