using Microsoft.Extensions.Time.Testing;
using NetDiag.Operator.Planning;

namespace NetDiag.Operator.Tests.Scheduling;

/// <summary>
/// Drives the planner the way the reconcile will, minute by minute on a fake clock: runs take a
/// while, the operator goes down for hours, the spec changes mid-run. Checks the promises users
/// see: never two runs alive, one run per missed window, no run id reused.
/// </summary>
public class ScheduleSimulationTests
{
    private sealed class SimulatedDiagnosis(string schedule, FakeTimeProvider clock, TimeSpan runDuration)
    {
        public long Generation { get; set; } = 1;
        public bool Suspend { get; set; }
        public string? CurrentRun { get; private set; }
        public CurrentRunState RunState { get; private set; }
        public DateTimeOffset? LastRunTime { get; private set; }
        public Dictionary<string, DateTimeOffset> Live { get; } = new();
        public List<(string Run, DateTimeOffset At)> Started { get; } = [];
        public List<string> Superseded { get; } = [];
        public int MaxAlive { get; private set; }
        public DateTimeOffset Created { get; } = clock.GetUtcNow();

        /// <summary>One reconcile: reap finished runs, ask the planner, act on the decision.</summary>
        public ScheduleDecision Reconcile()
        {
            var now = clock.GetUtcNow();
            foreach (var (run, end) in Live.ToList())
            {
                if (end > now) continue;
                Live.Remove(run);
                if (run == CurrentRun && RunState == CurrentRunState.Running)
                    RunState = CurrentRunState.Finished;
            }

            var decision = SchedulePlanner.Decide(
                new ScheduleState(schedule, "Europe/Berlin", Suspend, Generation, Created, CurrentRun, RunState, LastRunTime, Live.Keys.ToList()),
                now);
            switch (decision.Action)
            {
                case ScheduleAction.RunNow:
                    Assert.Empty(Live); // the invariant, checked at the moment a run starts
                    CurrentRun = decision.RunId;
                    RunState = CurrentRunState.Running;
                    LastRunTime = decision.Slot ?? now;
                    Live[decision.RunId!] = now + runDuration;
                    Started.Add((decision.RunId!, now));
                    break;
                case ScheduleAction.Supersede:
                    foreach (var run in decision.SupersededRuns)
                    {
                        Live.Remove(run); // the reconcile deletes the run's Jobs
                        Superseded.Add(run);
                        if (run == CurrentRun)
                            RunState = CurrentRunState.Superseded;
                    }

                    break;
            }

            MaxAlive = Math.Max(MaxAlive, Live.Count);
            return decision;
        }
    }

    [Fact]
    public void Hourly_runs_survive_downtime_and_spec_changes_without_overlap()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2025-03-29T20:10:00Z"));
        var diagnosis = new SimulatedDiagnosis("0 * * * *", clock, runDuration: TimeSpan.FromMinutes(7));

        void RunFor(TimeSpan span)
        {
            var end = clock.GetUtcNow() + span;
            while (clock.GetUtcNow() < end)
            {
                diagnosis.Reconcile();
                clock.Advance(TimeSpan.FromMinutes(1));
            }
        }

        // Five hours up: five slots, five runs (across the Berlin spring change at 01:00Z).
        RunFor(TimeSpan.FromHours(5));
        Assert.Equal(5, diagnosis.Started.Count);

        // Operator down for six hours: the clock moves, nothing reconciles.
        clock.Advance(TimeSpan.FromHours(6));
        var before = diagnosis.Started.Count;
        RunFor(TimeSpan.FromMinutes(10));
        Assert.Equal(before + 1, diagnosis.Started.Count); // six missed slots, one run

        // A spec change two minutes into the next run supersedes it; the slot is re-run at once.
        RunFor(TimeSpan.FromMinutes(42));
        var interrupted = diagnosis.Started[^1].Run;
        diagnosis.Generation = 2;
        RunFor(TimeSpan.FromMinutes(3));
        Assert.Contains(interrupted, diagnosis.Superseded);
        Assert.StartsWith("g2-", diagnosis.Started[^1].Run);
        Assert.Equal(ScheduleRunIds.SlotOf(interrupted), ScheduleRunIds.SlotOf(diagnosis.Started[^1].Run));

        // Suspended: nothing more starts, however long we wait.
        RunFor(TimeSpan.FromMinutes(10));
        diagnosis.Suspend = true;
        diagnosis.Generation = 3;
        var whenSuspended = diagnosis.Started.Count;
        RunFor(TimeSpan.FromHours(3));
        Assert.Equal(whenSuspended, diagnosis.Started.Count);

        Assert.Equal(1, diagnosis.MaxAlive);
        Assert.Equal(diagnosis.Started.Count, diagnosis.Started.Select(s => s.Run).Distinct().Count());
    }

    [Fact]
    public void A_one_shot_diagnosis_reruns_only_when_its_spec_changes()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2025-06-01T00:00:00Z"));
        var diagnosis = new SimulatedDiagnosis(null!, clock, runDuration: TimeSpan.FromMinutes(2));
        for (var i = 0; i < 30; i++) { diagnosis.Reconcile(); clock.Advance(TimeSpan.FromMinutes(1)); }
        Assert.Equal(["g1"], diagnosis.Started.Select(s => s.Run));

        diagnosis.Generation = 2;
        for (var i = 0; i < 30; i++) { diagnosis.Reconcile(); clock.Advance(TimeSpan.FromMinutes(1)); }
        Assert.Equal(["g1", "g2"], diagnosis.Started.Select(s => s.Run));
    }
}
