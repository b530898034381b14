using Cronos;

namespace NetDiag.Entities.Validation;

/// <summary>
/// Reads <c>spec.schedule</c> and <c>spec.timeZone</c> the one way both the validator and the
/// scheduler use: standard 5-field cron (plus Cronos macros such as <c>@hourly</c>, <c>@daily</c>)
/// in an IANA zone, UTC when none is given.
/// </summary>
public static class CronSchedule
{
    /// <summary>Parses a 5-field cron expression; <paramref name="problem"/> says why not.</summary>
    public static bool TryParse(string? schedule, out CronExpression expression, out string problem)
    {
        expression = CronExpression.Daily;
        problem = "";
        if (string.IsNullOrWhiteSpace(schedule))
        {
            problem = "is empty";
            return false;
        }

        try
        {
            expression = CronExpression.Parse(schedule.Trim(), CronFormat.Standard);
            return true;
        }
        catch (CronFormatException e)
        {
            problem = $"\"{schedule}\" is not a valid cron expression ({Detail(e)}); " +
                      "use 5 fields (minute hour day-of-month month day-of-week) such as \"0 2 * * *\", or a macro like @daily";
            return false;
        }
    }

    // Cronos says "The given cron expression has an invalid format. Hours: Value must be ...":
    // the part after the preamble is what tells the user which field is wrong.
    private static string Detail(CronFormatException e)
    {
        const string preamble = "has an invalid format.";
        var message = e.Message;
        var at = message.IndexOf(preamble, StringComparison.Ordinal);
        var detail = at >= 0 && at + preamble.Length < message.Length ? message[(at + preamble.Length)..].Trim() : message;
        return detail.TrimEnd('.');
    }

    /// <summary>Finds an IANA zone (from the system's tz database); null or empty means UTC.</summary>
    public static bool TryFindZone(string? zone, out TimeZoneInfo timeZone, out string problem)
    {
        timeZone = TimeZoneInfo.Utc;
        problem = "";
        if (zone is null)
            return true;
        if (string.IsNullOrWhiteSpace(zone))
        {
            problem = "must not be empty; omit it for UTC";
            return false;
        }

        if (TimeZoneInfo.TryFindSystemTimeZoneById(zone, out var found))
        {
            timeZone = found;
            return true;
        }

        problem = $"unknown time zone \"{zone}\"; use an IANA name such as \"Europe/Berlin\" or \"UTC\"";
        return false;
    }

    /// <summary>The next occurrence strictly after <paramref name="after"/>, or null if there is none.</summary>
    public static DateTime? Next(CronExpression expression, TimeZoneInfo zone, DateTime after) =>
        expression.GetNextOccurrence(DateTime.SpecifyKind(after, DateTimeKind.Utc), zone);
}
