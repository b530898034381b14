using k8s.Models;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Planning;

/// <summary>Which probe Jobs to create and delete now.</summary>
public sealed record LaunchPlan(IReadOnlyList<string> CreateFor, IReadOnlyList<V1Job> Delete, int Alive);

/// <summary>
/// Keeps at most <c>maxConcurrentProbes</c> probe Jobs alive per diagnosis: creates Jobs for the
/// nodes still waiting (in name order, so every reconcile agrees) while there is room, and deletes
/// Jobs of other runs (an older generation's probes are obsolete and would hold slots).
/// </summary>
public static class LaunchPlanner
{
    /// <param name="pendingCreations">Jobs created but not yet in the cache: alive too.</param>
    public static LaunchPlan Plan(IReadOnlyList<string> waitingNodes, IReadOnlyList<V1Job> ownedJobs, string runId, int maxConcurrent, bool deadlinePassed, int pendingCreations = 0)
    {
        var runLabel = Names.LabelValue(runId);
        var stale = ownedJobs.Where(j => j.Metadata?.Labels?.TryGetValue(WellKnown.LabelRun, out var r) != true || r != runLabel).ToList();
        var alive = ownedJobs.Count(j => !IsFinished(j) && j.Metadata?.DeletionTimestamp is null && !stale.Contains(j))
                    + stale.Count(j => !IsFinished(j)) // deleting ones still run until gone
                    + pendingCreations;
        if (deadlinePassed) return new LaunchPlan([], stale, alive);
        var room = Math.Max(0, maxConcurrent - alive);
        var create = waitingNodes.OrderBy(n => n, StringComparer.Ordinal).Take(room).ToList();
        return new LaunchPlan(create, stale.Where(j => j.Metadata?.DeletionTimestamp is null).ToList(), alive);
    }

    /// <summary>A Job is finished when it has a Complete or Failed condition that is True.</summary>
    public static bool IsFinished(V1Job job) =>
        job.Status?.Conditions?.Any(c => c.Type is "Complete" or "Failed" && c.Status == "True") == true;
}
