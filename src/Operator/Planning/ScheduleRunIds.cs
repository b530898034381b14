using System.Globalization;

namespace NetDiag.Operator.Planning;

/// <summary>
/// Run ids: every run of a diagnosis has one, stored in <c>status.currentRun</c>, in history, and
/// as the <c>netdiag.io/run</c> label on the run's Jobs.
/// <code>
///   one-shot run (no schedule)   g&lt;generation&gt;                      g4
///   scheduled run                g&lt;generation&gt;-&lt;slot, UTC&gt;          g4-202503090730
/// </code>
/// The slot is written in UTC, never local time: when clocks fall back, 01:30 local happens twice
/// and the two runs must not share an id. Only digits, 'g' and '-': always a valid label value.
/// </summary>
public static class ScheduleRunIds
{
    private const string SlotFormat = "yyyyMMddHHmm";

    /// <summary>The id of the single run of a diagnosis without a schedule.</summary>
    public static string OneShot(long generation) => $"g{generation}";

    /// <summary>The id of the run for one scheduled slot (minute precision, as cron has).</summary>
    public static string Scheduled(long generation, DateTimeOffset slot) =>
        $"g{generation}-{slot.UtcDateTime.ToString(SlotFormat, CultureInfo.InvariantCulture)}";

    /// <summary>The generation a run id belongs to; null for ids this operator did not make.</summary>
    public static long? GenerationOf(string? runId)
    {
        if (string.IsNullOrEmpty(runId) || runId[0] != 'g')
            return null;
        var dash = runId.IndexOf('-');
        var digits = dash < 0 ? runId[1..] : runId[1..dash];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : null;
    }

    /// <summary>The scheduled slot encoded in a run id; null for one-shot or foreign ids.</summary>
    public static DateTimeOffset? SlotOf(string? runId)
    {
        if (string.IsNullOrEmpty(runId))
            return null;
        var dash = runId.IndexOf('-');
        if (dash < 0)
            return null;
        return DateTime.TryParseExact(runId[(dash + 1)..], SlotFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var slot)
            ? new DateTimeOffset(slot, TimeSpan.Zero)
            : null;
    }
}
