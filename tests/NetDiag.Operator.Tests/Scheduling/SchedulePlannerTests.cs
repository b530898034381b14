using NetDiag.Operator.Planning;

namespace NetDiag.Operator.Tests.Scheduling;

public class SchedulePlannerTests
{
    private static readonly DateTimeOffset Created = T("2025-01-01T10:15:00Z");

    private static DateTimeOffset T(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    private static ScheduleState State(
        string? schedule = null,
        string? zone = null,
        bool suspend = false,
        long generation = 1,
        string? currentRun = null,
        CurrentRunState runState = CurrentRunState.None,
        DateTimeOffset? lastRunTime = null,
        params string[] liveRuns) =>
        new(schedule, zone, suspend, generation, Created, currentRun, runState, lastRunTime, liveRuns);

    // ---- one run per generation (no schedule) ----

    [Fact]
    public void Without_schedule_a_new_diagnosis_runs_once_with_the_generation_as_run_id()
    {
        var d = SchedulePlanner.Decide(State(), Created);
        Assert.Equal(ScheduleAction.RunNow, d.Action);
        Assert.Equal("g1", d.RunId);
        Assert.Null(d.NextRunTime);
        Assert.Null(d.RequeueAfter(Created));
    }

    [Fact]
    public void Without_schedule_the_same_generation_never_runs_twice()
    {
        var d = SchedulePlanner.Decide(State(currentRun: "g1", runState: CurrentRunState.Finished), Created.AddDays(3));
        Assert.Equal(ScheduleAction.Done, d.Action);
    }

    [Fact]
    public void Without_schedule_a_spec_change_after_the_run_runs_the_new_generation()
    {
        var d = SchedulePlanner.Decide(State(generation: 2, currentRun: "g1", runState: CurrentRunState.Finished), Created.AddHours(1));
        Assert.Equal(ScheduleAction.RunNow, d.Action);
        Assert.Equal("g2", d.RunId);
    }

    [Fact]
    public void A_spec_change_during_a_run_supersedes_it_before_anything_new_starts()
    {
        var d = SchedulePlanner.Decide(State(generation: 2, currentRun: "g1", runState: CurrentRunState.Running, liveRuns: "g1"), Created.AddMinutes(1));
        Assert.Equal(ScheduleAction.Supersede, d.Action);
        Assert.Equal(["g1"], d.SupersededRuns);
        Assert.Null(d.RunId);
    }

    [Fact]
    public void Jobs_of_an_old_run_still_being_deleted_block_the_new_run()
    {
        // status already records the supersede, but the API still lists a g1 Job (foreground deletion).
        var d = SchedulePlanner.Decide(State(generation: 2, currentRun: "g1", runState: CurrentRunState.Superseded, liveRuns: "g1"), Created);
        Assert.Equal(ScheduleAction.Supersede, d.Action);

        var afterGone = SchedulePlanner.Decide(State(generation: 2, currentRun: "g1", runState: CurrentRunState.Superseded), Created);
        Assert.Equal(ScheduleAction.RunNow, afterGone.Action);
        Assert.Equal("g2", afterGone.RunId);
    }

    [Fact]
    public void A_run_of_the_current_generation_in_progress_is_left_alone()
    {
        var d = SchedulePlanner.Decide(State(currentRun: "g1", runState: CurrentRunState.Running, liveRuns: "g1"), Created);
        Assert.Equal(ScheduleAction.Busy, d.Action);
        Assert.Equal("g1", d.RunId);
    }

    [Fact]
    public void Suspend_starts_nothing_but_still_supersedes_an_old_generation()
    {
        Assert.Equal(ScheduleAction.Suspended, SchedulePlanner.Decide(State(suspend: true), Created).Action);
        Assert.Equal(ScheduleAction.Suspended,
            SchedulePlanner.Decide(State(schedule: "0 * * * *", suspend: true), Created.AddDays(1)).Action);

        var d = SchedulePlanner.Decide(State(suspend: true, generation: 3, currentRun: "g2", runState: CurrentRunState.Running), Created);
        Assert.Equal(ScheduleAction.Supersede, d.Action);
        Assert.Equal(["g2"], d.SupersededRuns);
        Assert.Null(SchedulePlanner.Decide(State(schedule: "0 * * * *", suspend: true), Created).NextRunTime);
    }

    // ---- scheduled ----

    [Fact]
    public void A_scheduled_diagnosis_waits_for_its_first_slot_after_creation()
    {
        var now = T("2025-01-01T10:40:00Z");
        var d = SchedulePlanner.Decide(State(schedule: "0 * * * *"), now);
        Assert.Equal(ScheduleAction.Wait, d.Action);
        Assert.Equal(T("2025-01-01T11:00:00Z"), d.NextRunTime);
        Assert.Equal(TimeSpan.FromMinutes(20), d.RequeueAfter(now));
    }

    [Fact]
    public void A_slot_that_passed_runs_with_an_id_naming_the_slot_in_UTC()
    {
        var d = SchedulePlanner.Decide(State(schedule: "0 * * * *"), T("2025-01-01T11:00:30Z"));
        Assert.Equal(ScheduleAction.RunNow, d.Action);
        Assert.Equal("g1-202501011100", d.RunId);
        Assert.Equal(T("2025-01-01T11:00:00Z"), d.Slot);
        Assert.Equal(T("2025-01-01T12:00:00Z"), d.NextRunTime);
        Assert.Equal(0, d.MissedSlots);
    }

    [Fact]
    public void After_downtime_missed_slots_collapse_into_one_run_for_the_latest_slot()
    {
        var d = SchedulePlanner.Decide(
            State(schedule: "0 * * * *", currentRun: "g1-202501011100", runState: CurrentRunState.Finished, lastRunTime: T("2025-01-01T11:00:00Z")),
            T("2025-01-01T16:20:00Z"));
        Assert.Equal(ScheduleAction.RunNow, d.Action);
        Assert.Equal("g1-202501011600", d.RunId);
        Assert.Equal(4, d.MissedSlots); // 12:00, 13:00, 14:00, 15:00
        Assert.Contains("4 slots missed", d.Message);

        // The next reconcile (status now records the 16:00 run) starts nothing more.
        var again = SchedulePlanner.Decide(
            State(schedule: "0 * * * *", currentRun: d.RunId, runState: CurrentRunState.Finished, lastRunTime: d.Slot),
            T("2025-01-01T16:21:00Z"));
        Assert.Equal(ScheduleAction.Wait, again.Action);
        Assert.Equal(T("2025-01-01T17:00:00Z"), again.NextRunTime);
    }

    [Fact]
    public void Counting_missed_slots_is_bounded_after_a_very_long_downtime()
    {
        var d = SchedulePlanner.Decide(
            State(schedule: "* * * * *", currentRun: "g1-202501011100", runState: CurrentRunState.Finished, lastRunTime: T("2025-01-01T11:00:00Z")),
            T("2026-01-01T00:00:00Z"));
        Assert.Equal(ScheduleAction.RunNow, d.Action);
        Assert.Equal("g1-202601010000", d.RunId);
        Assert.Equal(SchedulePlanner.MissedSlotCountCap, d.MissedSlots);
        Assert.Contains("1000+ slots", d.Message);
    }

    [Fact]
    public void The_run_id_guards_against_a_second_start_when_the_status_write_was_lost()
    {
        // currentRun was written, lastRunTime was not.
        var d = SchedulePlanner.Decide(
            State(schedule: "0 * * * *", currentRun: "g1-202501011100", runState: CurrentRunState.Finished),
            T("2025-01-01T11:30:00Z"));
        Assert.Equal(ScheduleAction.Wait, d.Action);
    }

    [Fact]
    public void A_slot_passing_during_a_long_run_runs_once_after_it_never_concurrently()
    {
        var during = SchedulePlanner.Decide(
            State(schedule: "0 * * * *", currentRun: "g1-202501011100", runState: CurrentRunState.Running, lastRunTime: T("2025-01-01T11:00:00Z"), liveRuns: "g1-202501011100"),
            T("2025-01-01T12:05:00Z"));
        Assert.Equal(ScheduleAction.Busy, during.Action);
        Assert.Equal(T("2025-01-01T13:00:00Z"), during.NextRunTime);

        var after = SchedulePlanner.Decide(
            State(schedule: "0 * * * *", currentRun: "g1-202501011100", runState: CurrentRunState.Finished, lastRunTime: T("2025-01-01T11:00:00Z")),
            T("2025-01-01T12:10:00Z"));
        Assert.Equal(ScheduleAction.RunNow, after.Action);
        Assert.Equal("g1-202501011200", after.RunId);
        Assert.Equal(0, after.MissedSlots);
    }

    [Fact]
    public void A_superseded_scheduled_run_gives_its_slot_to_the_new_generation()
    {
        var d = SchedulePlanner.Decide(
            State(schedule: "0 * * * *", generation: 2, currentRun: "g1-202501011100", runState: CurrentRunState.Superseded, lastRunTime: T("2025-01-01T11:00:00Z")),
            T("2025-01-01T11:05:00Z"));
        Assert.Equal(ScheduleAction.RunNow, d.Action);
        Assert.Equal("g2-202501011100", d.RunId);
    }

    [Fact]
    public void A_spec_change_between_runs_waits_for_the_next_slot_like_a_CronJob()
    {
        var d = SchedulePlanner.Decide(
            State(schedule: "0 * * * *", generation: 2, currentRun: "g1-202501011100", runState: CurrentRunState.Finished, lastRunTime: T("2025-01-01T11:00:00Z")),
            T("2025-01-01T11:30:00Z"));
        Assert.Equal(ScheduleAction.Wait, d.Action);
        Assert.Equal(T("2025-01-01T12:00:00Z"), d.NextRunTime);
    }

    [Theory]
    [InlineData("not a cron", null, "spec.schedule")]
    [InlineData("0 * * * * *", null, "spec.schedule")] // 6 fields: seconds are not part of the API
    [InlineData("0 3 * * *", "Mars/Olympus_Mons", "spec.timeZone")]
    [InlineData("0 0 30 2 *", null, "never fires")]
    public void Unusable_schedules_are_reported_not_thrown(string schedule, string? zone, string expected)
    {
        var d = SchedulePlanner.Decide(State(schedule: schedule, zone: zone), T("2025-01-01T11:30:00Z"));
        Assert.Equal(ScheduleAction.Invalid, d.Action);
        Assert.Contains(expected, d.Message);
    }

    // ---- time zones and DST ----

    [Fact]
    public void The_schedule_is_read_in_its_time_zone()
    {
        // 03:00 in Berlin is 02:00Z in winter (CET) and 01:00Z after the spring change on 2025-03-30 (CEST).
        var winter = SchedulePlanner.Decide(State(schedule: "0 3 * * *", zone: "Europe/Berlin"), T("2025-03-28T12:00:00Z"));
        Assert.Equal(T("2025-03-29T02:00:00Z"), winter.NextRunTime);

        var acrossTheChange = SchedulePlanner.Decide(
            State(schedule: "0 3 * * *", zone: "Europe/Berlin", currentRun: "g1-202503290200", runState: CurrentRunState.Finished, lastRunTime: T("2025-03-29T02:00:00Z")),
            T("2025-03-29T02:05:00Z"));
        Assert.Equal(T("2025-03-30T01:00:00Z"), acrossTheChange.NextRunTime);
    }

    [Fact]
    public void A_slot_in_the_skipped_spring_hour_still_runs_once_at_the_end_of_the_gap()
    {
        // America/New_York 2025-03-09: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist that day.
        var before = SchedulePlanner.Decide(
            State(schedule: "30 2 * * *", zone: "America/New_York", currentRun: "g1-202503080730", runState: CurrentRunState.Finished, lastRunTime: T("2025-03-08T07:30:00Z")),
            T("2025-03-08T08:00:00Z"));
        Assert.Equal(ScheduleAction.Wait, before.Action);
        Assert.Equal(T("2025-03-09T07:00:00Z"), before.NextRunTime); // 03:00 EDT, the end of the gap

        var at = SchedulePlanner.Decide(
            State(schedule: "30 2 * * *", zone: "America/New_York", currentRun: "g1-202503080730", runState: CurrentRunState.Finished, lastRunTime: T("2025-03-08T07:30:00Z")),
            T("2025-03-09T07:00:10Z"));
        Assert.Equal(ScheduleAction.RunNow, at.Action);
        Assert.Equal("g1-202503090700", at.RunId);
        Assert.Equal(T("2025-03-10T06:30:00Z"), at.NextRunTime); // 02:30 EDT the day after
    }

    [Fact]
    public void A_fixed_time_in_the_repeated_autumn_hour_runs_once()
    {
        // America/New_York 2025-11-02: 01:00-02:00 happens twice (EDT 05:00-06:00Z, then EST 06:00-07:00Z).
        var first = SchedulePlanner.Decide(
            State(schedule: "30 1 * * *", zone: "America/New_York", currentRun: "g1-202511010530", runState: CurrentRunState.Finished, lastRunTime: T("2025-11-01T05:30:00Z")),
            T("2025-11-02T05:30:05Z"));
        Assert.Equal(ScheduleAction.RunNow, first.Action);
        Assert.Equal("g1-202511020530", first.RunId);

        var secondPass = SchedulePlanner.Decide(
            State(schedule: "30 1 * * *", zone: "America/New_York", currentRun: first.RunId, runState: CurrentRunState.Finished, lastRunTime: first.Slot),
            T("2025-11-02T06:30:05Z"));
        Assert.Equal(ScheduleAction.Wait, secondPass.Action);
        Assert.Equal(T("2025-11-03T06:30:00Z"), secondPass.NextRunTime);
    }

    [Fact]
    public void An_interval_in_the_repeated_autumn_hour_runs_in_both_passes_with_distinct_ids()
    {
        var firstPass = SchedulePlanner.Decide(
            State(schedule: "*/30 * * * *", zone: "America/New_York", currentRun: "g1-202511020500", runState: CurrentRunState.Finished, lastRunTime: T("2025-11-02T05:00:00Z")),
            T("2025-11-02T05:30:05Z"));
        var secondPass = SchedulePlanner.Decide(
            State(schedule: "*/30 * * * *", zone: "America/New_York", currentRun: "g1-202511020600", runState: CurrentRunState.Finished, lastRunTime: T("2025-11-02T06:00:00Z")),
            T("2025-11-02T06:30:05Z"));
        Assert.Equal(ScheduleAction.RunNow, firstPass.Action);
        Assert.Equal(ScheduleAction.RunNow, secondPass.Action);
        Assert.Equal("g1-202511020530", firstPass.RunId); // 01:30 EDT
        Assert.Equal("g1-202511020630", secondPass.RunId); // 01:30 EST: same wall clock, different id
    }

    // ---- run ids ----

    [Theory]
    [InlineData("g7", 7L)]
    [InlineData("g12-202503090700", 12L)]
    [InlineData("manual", null)]
    [InlineData("g-1", null)]
    [InlineData("", null)]
    public void Run_ids_name_their_generation(string id, long? generation) =>
        Assert.Equal(generation, ScheduleRunIds.GenerationOf(id));

    [Fact]
    public void Run_ids_round_trip_their_slot()
    {
        var slot = T("2025-11-02T06:30:00Z");
        var id = ScheduleRunIds.Scheduled(3, slot);
        Assert.Equal("g3-202511020630", id);
        Assert.Equal(slot, ScheduleRunIds.SlotOf(id));
        Assert.Null(ScheduleRunIds.SlotOf("g3"));
    }
}
