using System.Globalization;

namespace NetDiag.Probes.Parsing;

/// <summary>A kernel log line with its age when known.</summary>
public sealed record KernelLogLine(string Message, TimeSpan? Age, string Source);

/// <summary>Parses /dev/kmsg records and kern.log lines, and picks the conntrack "table full" ones.</summary>
public static class KernelLogParser
{
    public const string ConntrackFull = "table full, dropping packet";

    /// <summary>
    /// A /dev/kmsg record is <c>prio,seq,usec_since_boot,flags[,...];message</c>.
    /// <paramref name="uptime"/> turns the boot-relative time into an age.
    /// </summary>
    public static KernelLogLine? ParseKmsgRecord(string record, TimeSpan uptime)
    {
        var semi = record.IndexOf(';');
        if (semi < 0) return null;
        var head = record.AsSpan(0, semi);
        var message = record[(semi + 1)..];
        var nl = message.IndexOf('\n'); // continuation lines (" KEY=value") follow the message
        if (nl >= 0) message = message[..nl];
        TimeSpan? age = null;
        var fields = head.ToString().Split(',');
        if (fields.Length >= 3 && long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var usec))
            age = uptime - TimeSpan.FromMicroseconds(usec);
        return new KernelLogLine(message, age, "/dev/kmsg");
    }

    /// <summary>
    /// A syslog line: RFC 3339 (<c>2025-11-30T02:00:00.123+00:00 host kernel: ...</c>) or the classic
    /// <c>Nov 30 02:00:00 host kernel: ...</c> (no year: assumed the latest such date not after now).
    /// </summary>
    public static KernelLogLine ParseSyslogLine(string line, DateTimeOffset now, string source)
    {
        TimeSpan? age = null;
        var sp = line.IndexOf(' ');
        if (sp > 0 && DateTimeOffset.TryParse(line[..sp], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
            age = now - ts;
        else if (line.Length >= 15 && DateTime.TryParseExact(line[..15].Replace("  ", " 0"), "MMM dd HH:mm:ss",
                     CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var classic))
        {
            var t = new DateTimeOffset(new DateTime(now.Year, classic.Month, classic.Day, classic.Hour, classic.Minute, classic.Second, DateTimeKind.Local));
            if (t > now + TimeSpan.FromDays(1)) t = t.AddYears(-1);
            age = now - t;
        }
        return new KernelLogLine(line, age, source);
    }

    /// <summary>Conntrack drop lines no older than <paramref name="window"/> (lines of unknown age count).</summary>
    public static List<KernelLogLine> ConntrackDrops(IEnumerable<KernelLogLine> lines, TimeSpan window) =>
        lines.Where(l => l.Message.Contains(ConntrackFull, StringComparison.Ordinal)
                         && (l.Age is null || l.Age <= window)).ToList();
}
