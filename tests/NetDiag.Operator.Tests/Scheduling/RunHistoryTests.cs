using NetDiag.Entities.Api;
using NetDiag.Operator.Planning;

namespace NetDiag.Operator.Tests.Scheduling;

public class RunHistoryTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2025-03-10T03:00:00Z");

    private static DiagnosisFinding F(string check, string? cause, string severity = "Critical") =>
        new() { Check = check, Cause = cause, Severity = severity, Message = $"{check} {cause}" };

    private static RunRecord Run(string id) => new() { Run = id, Phase = Phases.Completed };

    [Fact]
    public void A_regression_after_a_reboot_shows_as_new_and_the_fixed_fault_as_resolved()
    {
        var before = new[] { F("flannelPort", "udp/8472 dropped"), F("conntrack", "usage>=90%", "Warning") };
        var after = new[] { F("conntrack", "usage>=90%", "Warning"), F("ipForward", "ip_forward=0") };

        var record = RunHistory.Finished("g1-202503100300", Start, Start.AddSeconds(40), Phases.Completed, after, before);

        Assert.Equal(["ipForward/ip_forward=0"], record.New);
        Assert.Equal(["flannelPort/udp/8472 dropped"], record.Resolved);
        Assert.Equal(1, record.Critical);
        Assert.Equal(1, record.Warning);
        Assert.Equal(0, record.Unknown);
        Assert.Equal(Start.AddSeconds(40).UtcDateTime, record.EndTime);
    }

    [Fact]
    public void The_same_check_with_another_cause_is_a_different_finding()
    {
        var changes = RunHistory.Diff([F("dnsLoop", "loop logged")], [F("dnsLoop", "loopback nameserver", "Warning")]);
        Assert.Equal(["dnsLoop/loopback nameserver"], changes.New);
        Assert.Equal(["dnsLoop/loop logged"], changes.Resolved);
    }

    [Fact]
    public void A_severity_change_alone_is_not_new_and_info_findings_are_not_tracked()
    {
        var changes = RunHistory.Diff(
            [F("conntrack", "usage", "Warning")],
            [F("conntrack", "usage", "Critical"), F("mtu", null, "Info")]);
        Assert.Empty(changes.New);
        Assert.Empty(changes.Resolved);
    }

    [Fact]
    public void A_first_run_has_nothing_to_compare_against()
    {
        var record = RunHistory.Finished("g1", Start, Start.AddSeconds(5), Phases.Completed, [F("ipForward", "ip_forward=0")], previousFindings: null);
        Assert.Null(record.New);
        Assert.Null(record.Resolved);
        Assert.Equal(1, record.Critical);
    }

    [Fact]
    public void History_is_newest_first_and_bounded_by_the_limit()
    {
        List<RunRecord> history = [];
        foreach (var id in new[] { "g1-1", "g1-2", "g1-3", "g1-4" })
            history = RunHistory.Append(history, Run(id), limit: 3);
        Assert.Equal(["g1-4", "g1-3", "g1-2"], history.Select(r => r.Run));
    }

    [Fact]
    public void Appending_the_same_run_twice_replaces_it()
    {
        var history = RunHistory.Append([Run("g1-2"), Run("g1-1")], new RunRecord { Run = "g1-2", Phase = Phases.Failed }, limit: 5);
        Assert.Equal(["g1-2", "g1-1"], history.Select(r => r.Run));
        Assert.Equal(Phases.Failed, history[0].Phase);
    }

    [Fact]
    public void A_limit_of_zero_keeps_no_history_and_the_input_is_not_modified()
    {
        List<RunRecord> input = [Run("g1-1")];
        Assert.Empty(RunHistory.Append(input, Run("g1-2"), limit: 0));
        Assert.Single(input);
    }

    [Fact]
    public void Jobs_of_runs_no_longer_in_history_are_cleaned_up_but_never_the_current_run()
    {
        var history = new[] { Run("g2-0300"), Run("g2-0200") };
        var runsWithJobs = new[] { "g2-0300", "g2-0200", "g2-0100", "g1-0000", "g2-0400", "g2-0100" };
        var delete = RunHistory.RunsToCleanUp(runsWithJobs, history, currentRun: "g2-0400");
        Assert.Equal(["g1-0000", "g2-0100"], delete);
    }

    [Fact]
    public void A_superseded_run_is_recorded_without_counts()
    {
        var r = RunHistory.SupersededRun("g1", Start, Start.AddMinutes(1));
        Assert.Equal(RunHistory.Superseded, r.Phase);
        Assert.Equal(0, r.Critical);
    }

    [Fact]
    public void The_planner_state_reads_a_superseded_run_from_history()
    {
        var diagnosis = new V1alpha1NetworkDiagnosis
        {
            Metadata = new() { Name = "x", Generation = 2, CreationTimestamp = Start.UtcDateTime },
            Spec = new() { Schedule = "0 * * * *" },
            Status = new()
            {
                Phase = Phases.Pending,
                CurrentRun = "g1-202503100300",
                LastRunTime = Start.UtcDateTime,
                History = [RunHistory.SupersededRun("g1-202503100300", Start, Start.AddMinutes(2))],
            },
        };
        var state = ScheduleState.From(diagnosis, []);
        Assert.Equal(CurrentRunState.Superseded, state.CurrentRunState);
        Assert.Equal(Start, state.LastRunTime);

        var decision = SchedulePlanner.Decide(state, Start.AddMinutes(3));
        Assert.Equal(ScheduleAction.RunNow, decision.Action);
        Assert.Equal("g2-202503100300", decision.RunId);

        diagnosis.Status.Phase = Phases.Running;
        diagnosis.Status.History = null;
        Assert.Equal(CurrentRunState.Running, ScheduleState.From(diagnosis, ["g1-202503100300"]).CurrentRunState);
    }
}
