using NetDiag.Entities.Api;

namespace NetDiag.Operator.Planning;

/// <summary>Whether a run is due, and which.</summary>
public abstract record RunDecision
{
    /// <summary>Nothing to do: the run for this generation has finished (or the diagnosis is suspended).</summary>
    public sealed record NotDue(string Reason) : RunDecision;

    /// <summary>Run <paramref name="RunId"/>, which started at <paramref name="StartTime"/> (now, when <paramref name="IsNew"/>).</summary>
    public sealed record Run(string RunId, DateTimeOffset StartTime, bool IsNew) : RunDecision;
}

/// <summary>
/// Decides whether a run is due from the spec, the status and now. The one-shot rule: one run per
/// spec generation, identified as <c>g&lt;generation&gt;</c>; once it is Completed (or Failed) it is
/// not run again. The scheduling engineer extends this seam for <c>spec.schedule</c> (run ids
/// <c>g3-20261130t0215</c>), without touching the reconcile.
/// <code>
///   (no status / other run) --start--> Running(gN) --all nodes settled or deadline--> Completed(gN)
///                                        ^ spec changes: generation N+1 starts gN+1
/// </code>
/// </summary>
public static class RunPlanner
{
    public static string RunId(long generation) => $"g{generation}";

    public static RunDecision Decide(V1alpha1NetworkDiagnosis diagnosis, DateTimeOffset now)
    {
        var generation = diagnosis.Metadata.Generation ?? 1;
        var runId = RunId(generation);
        var status = diagnosis.Status;
        if (status?.CurrentRun == runId)
        {
            if (status.Phase is Phases.Completed or Phases.Failed)
                return new RunDecision.NotDue($"run {runId} finished");
            if (status.Phase == Phases.Running)
                return new RunDecision.Run(runId, status.RunStartTime is { } t ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)) : now, false);
        }
        if (diagnosis.Spec.Suspend == true)
            return new RunDecision.NotDue("suspended");
        return new RunDecision.Run(runId, now, true);
    }
}
