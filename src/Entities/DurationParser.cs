using System.Globalization;
using System.Text;

namespace NetDiag.Entities;

/// <summary>
/// Parses and formats durations the way Go's <c>time.ParseDuration</c> and kubectl write them
/// (<c>90s</c>, <c>2m</c>, <c>1h30m</c>, <c>1.5h</c>, <c>500ms</c>), so a spec reads like every
/// other Kubernetes duration. Pure: no culture, no clock.
/// </summary>
public static class DurationParser
{
    /// <summary>
    /// The CRD schema's pattern for the same grammar, narrowed: unsigned, ASCII units only (no
    /// <c>µs</c>), and no bare <c>0</c>, since a timeout must be positive.
    /// </summary>
    public const string Pattern = @"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$";

    // Ordered longest-suffix-first so "ms" is not read as "m" followed by junk.
    private static readonly (string Unit, double Ticks)[] Units =
    [
        ("ns", TimeSpan.TicksPerMillisecond / 1_000_000.0),
        ("us", TimeSpan.TicksPerMillisecond / 1_000.0),
        ("µs", TimeSpan.TicksPerMillisecond / 1_000.0),
        ("ms", TimeSpan.TicksPerMillisecond),
        ("s", TimeSpan.TicksPerSecond),
        ("m", TimeSpan.TicksPerMinute),
        ("h", TimeSpan.TicksPerHour),
    ];

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why in one phrase.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "is empty";
            return false;
        }

        var s = text.Trim();
        var negative = false;
        if (s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        // Go accepts a bare "0" without a unit; nothing else may omit the unit.
        if (s == "0")
            return true;

        double ticks = 0;
        var i = 0;
        if (s.Length == 0)
        {
            error = "has no number";
            return false;
        }

        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
                i++;
            if (i == start)
            {
                error = $"expected a number at \"{s[start..]}\"";
                return false;
            }

            var numberText = s[start..i];
            if (numberText == "." || numberText.Count(c => c == '.') > 1 ||
                !double.TryParse(numberText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                error = $"\"{numberText}\" is not a number";
                return false;
            }

            var unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
                i++;
            var unit = s[unitStart..i];
            if (unit.Length == 0)
            {
                error = $"\"{numberText}\" has no unit (use ns, us, ms, s, m or h)";
                return false;
            }

            var match = Array.FindIndex(Units, u => u.Unit == unit);
            if (match < 0)
            {
                error = $"unknown unit \"{unit}\" (use ns, us, ms, s, m or h)";
                return false;
            }

            ticks += number * Units[match].Ticks;
            if (ticks > TimeSpan.MaxValue.Ticks)
            {
                error = "is too large";
                return false;
            }
        }

        value = TimeSpan.FromTicks((long)Math.Round(ticks));
        if (negative)
            value = value.Negate();
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> naming the input.</summary>
    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value, out var error)
            ? value
            : throw new FormatException($"\"{text}\" is not a duration: {error}");

    /// <summary>
    /// Formats like Go's <c>Duration.String</c> without zero components: <c>1h30m</c>, <c>90s</c>
    /// becomes <c>1m30s</c>, <c>1.5s</c>, <c>250ms</c>, <c>0s</c>.
    /// </summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
            return "0s";

        var sb = new StringBuilder();
        if (value < TimeSpan.Zero)
        {
            sb.Append('-');
            value = value.Negate();
        }

        if (value < TimeSpan.FromSeconds(1))
        {
            var ms = value.Ticks / (double)TimeSpan.TicksPerMillisecond;
            return sb.Append(ms.ToString("0.###", CultureInfo.InvariantCulture)).Append("ms").ToString();
        }

        var hours = (long)value.TotalHours;
        if (hours > 0)
            sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        if (value.Minutes > 0)
            sb.Append(value.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        var seconds = value.Seconds + (value.Ticks % TimeSpan.TicksPerSecond) / (double)TimeSpan.TicksPerSecond;
        if (seconds > 0)
            sb.Append(seconds.ToString("0.#######", CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }
}
