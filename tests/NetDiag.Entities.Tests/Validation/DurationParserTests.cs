using NetDiag.Entities;

namespace NetDiag.Entities.Tests.Validation;

public class DurationParserTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("2m", 120)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5h", 5400)]
    [InlineData("1m30s", 90)]
    [InlineData("500ms", 0.5)]
    [InlineData("0", 0)]
    [InlineData("-1s", -1)]
    [InlineData(" 45s ", 45)]
    public void Parses_go_style_durations(string text, double seconds)
    {
        Assert.True(DurationParser.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("2", "no unit")]
    [InlineData("2 m", "unknown unit")]
    [InlineData("2min", "unknown unit \"min\"")]
    [InlineData("m", "expected a number")]
    [InlineData("1..5s", "not a number")]
    [InlineData("PT2M", "expected a number")]
    [InlineData("-", "no number")]
    public void Refuses_what_go_refuses_and_says_why(string text, string reason)
    {
        Assert.False(DurationParser.TryParse(text, out _, out var error));
        Assert.Contains(reason, error);
        var ex = Assert.Throws<FormatException>(() => DurationParser.Parse(text));
        Assert.Contains(reason, ex.Message);
    }

    [Theory]
    [InlineData(5400, "1h30m")]
    [InlineData(90, "1m30s")]
    [InlineData(120, "2m")]
    [InlineData(0, "0s")]
    [InlineData(0.25, "250ms")]
    [InlineData(1.5, "1.5s")]
    [InlineData(-30, "-30s")]
    public void Formats_like_go_and_round_trips(double seconds, string expected)
    {
        var value = TimeSpan.FromSeconds(seconds);
        Assert.Equal(expected, DurationParser.Format(value));
        Assert.Equal(value, DurationParser.Parse(DurationParser.Format(value)));
    }

    [Theory]
    [InlineData("2m", true)]
    [InlineData("1h30m", true)]
    [InlineData("1.5h", true)]
    [InlineData("0", false)]
    [InlineData("-1m", false)]
    [InlineData("2", false)]
    [InlineData("2min", false)]
    public void Schema_pattern_accepts_positive_unsigned_durations_only(string text, bool matches)
    {
        Assert.Equal(matches, System.Text.RegularExpressions.Regex.IsMatch(text, DurationParser.Pattern));
    }
}
