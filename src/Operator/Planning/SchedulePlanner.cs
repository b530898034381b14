using Cronos;

namespace NetDiag.Operator.Planning;

/// <summary>What the reconcile should do about runs right now.</summary>
public enum ScheduleAction
{
    /// <summary>Start the run <see cref="ScheduleDecision.RunId"/> now.</summary>
    RunNow,

    /// <summary>Nothing owed yet: requeue at <see cref="ScheduleDecision.NextRunTime"/>.</summary>
    Wait,

    /// <summary>A run of the current generation is in progress: keep polling it, start nothing.</summary>
    Busy,

    /// <summary>
    /// Runs of an older generation are still alive (<see cref="ScheduleDecision.SupersededRuns"/>):
    /// delete their Jobs, record the current one as Superseded in history, start nothing until they are gone.
    /// </summary>
    Supersede,

    /// <summary><c>spec.suspend</c> is set: start nothing.</summary>
    Suspended,

    /// <summary>No schedule and this generation's run has been started already.</summary>
    Done,

    /// <summary>The schedule or zone cannot be used (<see cref="ScheduleDecision.Message"/> says why).</summary>
    Invalid,
}

/// <summary>The planner's verdict, with everything the reconcile writes to status.</summary>
/// <param name="Action">What to do.</param>
/// <param name="RunId">For RunNow: the id of the run to start; for Busy: the run in progress.</param>
/// <param name="Slot">For a scheduled RunNow: the slot the run is for; record it as <c>status.lastRunTime</c>.</param>
/// <param name="NextRunTime">The next scheduled slot after now (null without a schedule or when suspended).</param>
/// <param name="MissedSlots">For RunNow: slots that passed unrun before <see cref="Slot"/> (collapsed into this one run).</param>
/// <param name="SupersededRuns">For Supersede: the run ids whose Jobs must be deleted.</param>
/// <param name="Message">One sentence for status/logs.</param>
public sealed record ScheduleDecision(
    ScheduleAction Action,
    string? RunId,
    DateTimeOffset? Slot,
    DateTimeOffset? NextRunTime,
    int MissedSlots,
    IReadOnlyList<string> SupersededRuns,
    string Message)
{
    /// <summary>How long until the reconcile must look again for the schedule's sake (null: no need).</summary>
    public TimeSpan? RequeueAfter(DateTimeOffset now) =>
        NextRunTime is { } next ? (next - now < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : next - now) : null;
}

/// <summary>
/// Decides when a diagnosis runs. Pure: spec, status bookkeeping and <c>now</c> in, a decision out.
/// <code>
///   old-generation run alive? ──yes──► Supersede (delete its Jobs; never two runs alive)
///            │no
///   current-generation run alive? ──yes──► Busy
///            │no
///   suspended? ──yes──► Suspended
///            │no
///   no schedule: this generation's run started? ──yes──► Done, else RunNow g&lt;gen&gt;
///   schedule:    a slot in (lastRunTime, now]? ──yes──► RunNow for the LATEST such slot only
///                                               no──► Wait until the next slot
/// </code>
/// Rules (each covered by a table test):
/// <list type="bullet">
/// <item>After downtime, however many slots were missed, one run starts, for the latest slot;
/// <see cref="ScheduleDecision.MissedSlots"/> says how many were skipped.</item>
/// <item>A run in progress blocks any other. A slot that passes during a run is run once when it
/// ends (catch-up), never concurrently.</item>
/// <item>A spec change during a run supersedes it: its Jobs are deleted before anything new starts,
/// and the new generation then runs (at once without a schedule; for the superseded run's slot
/// with one, so the slot is not lost).</item>
/// <item>A new generation with a schedule does not run at once unless it superseded a run: it waits
/// for its next slot, as a CronJob does (slots since the last run still count as missed).</item>
/// <item>Slots are computed by Cronos in the given IANA zone, so DST is handled: a slot in the
/// skipped spring hour fires at the end of the gap; an autumn hour that happens twice fires once for
/// a fixed time and twice for an interval (e.g. every 30 minutes), each with its own UTC run id.</item>
/// </list>
/// </summary>
public static class SchedulePlanner
{
    /// <summary>Cap on counting missed slots, so an every-minute schedule after a year of downtime costs nothing.</summary>
    public const int MissedSlotCountCap = 1000;

    public static ScheduleDecision Decide(ScheduleState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var scheduled = !string.IsNullOrWhiteSpace(state.Schedule);

        // Parse first, so even a Busy or Suspended diagnosis reports a broken schedule.
        CronExpression? cron = null;
        TimeZoneInfo zone = TimeZoneInfo.Utc;
        if (scheduled)
        {
            var problem = TryParse(state.Schedule!, state.TimeZone, out cron, out zone);
            if (problem is not null)
                return Decision(ScheduleAction.Invalid, message: problem);
        }

        // 1. Never two runs alive: anything of an older generation goes first.
        var stale = AliveRuns(state).Where(r => ScheduleRunIds.GenerationOf(r) != state.Generation).ToList();
        if (stale.Count > 0)
        {
            return Decision(ScheduleAction.Supersede, superseded: stale,
                message: $"spec generation {state.Generation} supersedes run {string.Join(", ", stale)}; deleting its Jobs before starting anew");
        }

        DateTimeOffset? next = scheduled && !state.Suspend ? Next(cron!, zone, now) : null;

        // 2. A run of this generation is alive: let it finish.
        var alive = AliveRuns(state).ToList();
        if (alive.Count > 0)
        {
            var running = alive.Contains(state.CurrentRun ?? "") ? state.CurrentRun! : alive[0];
            return Decision(ScheduleAction.Busy, runId: running, next: next, message: $"run {running} is in progress");
        }

        // 3. Suspended: nothing starts.
        if (state.Suspend)
            return Decision(ScheduleAction.Suspended, message: "suspended: no new runs start until spec.suspend is false");

        // 4. One run per generation.
        if (!scheduled)
        {
            var id = ScheduleRunIds.OneShot(state.Generation);
            return state.CurrentRun == id
                ? Decision(ScheduleAction.Done, runId: id, message: $"run {id} for generation {state.Generation} has been started already")
                : Decision(ScheduleAction.RunNow, runId: id, message: $"starting run {id} for spec generation {state.Generation}");
        }

        return DecideScheduled(state, cron!, zone, now, next);
    }

    private static ScheduleDecision DecideScheduled(
        ScheduleState state, CronExpression cron, TimeZoneInfo zone, DateTimeOffset now, DateTimeOffset? next)
    {
        // Slots after this point are owed. Before the first run: slots after creation only.
        var since = state.LastRunTime ?? state.CreatedAt;
        if (state.CreatedAt > since)
            since = state.CreatedAt;

        // The latest slot at or before now (and not before since: older ones are not owed).
        var latest = Latest(cron, zone, since, now);

        // A superseded run's slot is owed to the new generation: the spec changed, not the need.
        var supersededSlot = state.CurrentRunState == CurrentRunState.Superseded
            && ScheduleRunIds.GenerationOf(state.CurrentRun) != state.Generation
            && latest is { } l && l >= since;

        if (latest is null || (latest <= since && !supersededSlot))
        {
            if (next is null)
                return Decision(ScheduleAction.Invalid, message: $"schedule \"{state.Schedule}\" never fires again");
            return Decision(ScheduleAction.Wait, next: next, message: $"next run at {next:O}");
        }

        var slot = latest.Value;
        var id = ScheduleRunIds.Scheduled(state.Generation, slot);
        if (state.CurrentRun == id)
        {
            // Status may lag the Jobs (a failed status write): the id guards against a second start.
            return Decision(ScheduleAction.Wait, next: next, message: $"run {id} has been started already; next run at {next:O}");
        }

        var missed = supersededSlot ? 0 : CountBetween(cron, zone, since, slot);
        var message = missed == 0
            ? $"starting scheduled run {id}"
            : $"starting scheduled run {id}; {Plural(missed)} missed since {since:O} collapsed into this one run";
        return Decision(ScheduleAction.RunNow, runId: id, slot: slot, next: next, missed: missed, message: message);
    }

    /// <summary>Null when usable, else a message naming the field.</summary>
    public static string? TryParse(string schedule, string? timeZone, out CronExpression? cron, out TimeZoneInfo zone)
    {
        cron = null;
        zone = TimeZoneInfo.Utc;
        if (!CronExpression.TryParse(schedule.Trim(), CronFormat.Standard, out var parsed))
            return $"spec.schedule \"{schedule}\" is not a 5-field cron expression";
        cron = parsed;
        if (string.IsNullOrWhiteSpace(timeZone))
            return null;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone.Trim());
            return null;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return $"spec.timeZone \"{timeZone}\" is not a known IANA time zone";
        }
    }

    private static IEnumerable<string> AliveRuns(ScheduleState state)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (state.CurrentRunState == CurrentRunState.Running && !string.IsNullOrEmpty(state.CurrentRun) && seen.Add(state.CurrentRun))
            yield return state.CurrentRun;
        foreach (var run in state.LiveRuns.Order(StringComparer.Ordinal))
            if (seen.Add(run))
                yield return run;
    }

    private static DateTimeOffset? Next(CronExpression cron, TimeZoneInfo zone, DateTimeOffset now) =>
        cron.GetNextOccurrence(now.UtcDateTime, zone, inclusive: false) is { } n ? new DateTimeOffset(n) : null;

    /// <summary>How far back the latest slot is searched: covers leap-day schedules (every 4 years) and then some.</summary>
    private static readonly TimeSpan LookBackLimit = TimeSpan.FromDays(366 * 10);

    /// <summary>
    /// The latest slot in [<paramref name="floor"/>, <paramref name="now"/>], or null. Searched
    /// forwards in windows that double backwards from now, so it costs a handful of Cronos calls
    /// whatever the downtime. Not Cronos' GetPreviousOccurrence: in a skipped DST hour that returns
    /// the instant before the gap (06:59:59.9999999Z) while GetNextOccurrence returns its end
    /// (07:00Z); both sides must agree on a slot or its run id would differ between them.
    /// </summary>
    private static DateTimeOffset? Latest(CronExpression cron, TimeZoneInfo zone, DateTimeOffset floor, DateTimeOffset now)
    {
        if (now - floor > LookBackLimit)
            floor = now - LookBackLimit;
        if (floor > now)
            return null;
        for (var window = TimeSpan.FromMinutes(1); ; window += window)
        {
            var from = now - window < floor ? floor : now - window;
            DateTime? last = null;
            foreach (var occurrence in cron.GetOccurrences(from.UtcDateTime, now.UtcDateTime, zone, fromInclusive: true, toInclusive: true))
                last = occurrence;
            if (last is { } found)
                return new DateTimeOffset(found);
            if (from == floor)
                return null;
        }
    }

    /// <summary>Slots strictly between <paramref name="from"/> and <paramref name="to"/>, counted up to a cap.</summary>
    private static int CountBetween(CronExpression cron, TimeZoneInfo zone, DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from)
            return 0;
        return cron.GetOccurrences(from.UtcDateTime, to.UtcDateTime, zone, fromInclusive: false, toInclusive: false)
            .Take(MissedSlotCountCap)
            .Count();
    }

    private static string Plural(int n) => n == 1 ? "1 slot" : n >= MissedSlotCountCap ? $"{n}+ slots" : $"{n} slots";

    private static ScheduleDecision Decision(
        ScheduleAction action,
        string? runId = null,
        DateTimeOffset? slot = null,
        DateTimeOffset? next = null,
        int missed = 0,
        IReadOnlyList<string>? superseded = null,
        string message = "") =>
        new(action, runId, slot, next, missed, superseded ?? [], message);
}
