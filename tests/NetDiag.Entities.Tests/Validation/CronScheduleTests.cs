using NetDiag.Entities.Validation;

namespace NetDiag.Entities.Tests.Validation;

public class CronScheduleTests
{
    // InvariantGlobalization=true drops ICU, not the tz database: IANA ids still resolve from
    // /usr/share/zoneinfo (Debian package tzdata). This pins that the zone's rules, not just its
    // name, are loaded: Berlin is UTC+1 in winter and UTC+2 in summer.
    [Theory]
    [InlineData("Europe/Berlin", "2026-01-15T12:00:00Z", 1)]
    [InlineData("Europe/Berlin", "2026-07-15T12:00:00Z", 2)]
    [InlineData("America/New_York", "2026-01-15T12:00:00Z", -5)]
    [InlineData("Asia/Tokyo", "2026-07-15T12:00:00Z", 9)]
    [InlineData("UTC", "2026-07-15T12:00:00Z", 0)]
    public void Finds_iana_zones_with_their_rules(string zone, string instant, int offsetHours)
    {
        Assert.True(CronSchedule.TryFindZone(zone, out var tz, out var problem), problem);
        Assert.Equal(TimeSpan.FromHours(offsetHours), tz.GetUtcOffset(DateTimeOffset.Parse(instant)));
    }

    [Fact]
    public void No_zone_means_utc()
    {
        Assert.True(CronSchedule.TryFindZone(null, out var tz, out _));
        Assert.Equal(TimeZoneInfo.Utc, tz);
    }

    [Fact]
    public void Next_run_of_a_nightly_schedule_follows_the_zone_across_dst()
    {
        Assert.True(CronSchedule.TryParse("0 2 * * *", out var cron, out _));
        Assert.True(CronSchedule.TryFindZone("Europe/Berlin", out var berlin, out _));

        // 02:00 Berlin is 01:00 UTC in winter and 00:00 UTC in summer.
        Assert.Equal(new DateTime(2026, 1, 16, 1, 0, 0, DateTimeKind.Utc),
            CronSchedule.Next(cron, berlin, new DateTime(2026, 1, 15, 12, 0, 0, DateTimeKind.Utc)));
        Assert.Equal(new DateTime(2026, 7, 16, 0, 0, 0, DateTimeKind.Utc),
            CronSchedule.Next(cron, berlin, new DateTime(2026, 7, 15, 12, 0, 0, DateTimeKind.Utc)));
    }

    [Theory]
    [InlineData("@hourly")]
    [InlineData("@daily")]
    [InlineData("@midnight")]
    [InlineData("@weekly")]
    [InlineData("@monthly")]
    [InlineData("@yearly")]
    [InlineData("0 2 * * *")]
    [InlineData("*/5 * * * *")]
    [InlineData("0 0 * * MON-FRI")]
    public void Accepts_standard_cron_and_macros(string schedule)
    {
        Assert.True(CronSchedule.TryParse(schedule, out _, out var problem), problem);
    }
}
