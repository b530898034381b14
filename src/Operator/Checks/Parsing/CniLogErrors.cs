using System.Text.RegularExpressions;

namespace NetDiag.Operator.Checks.Parsing;

/// <summary>
/// Picks the error lines out of a CNI pod's log tail (seed 001 §3: read the flannel/calico log and
/// look for the error): klog <c>E1130 12:00:00.000 ...</c> (and fatal <c>F...</c>), logrus
/// <c>level=error</c>/<c>level=fatal</c>, Calico's <c>[ERROR]</c>/<c>[FATAL]</c>, and lines saying
/// <c>Error</c> or <c>failed</c>. A line explicitly logged at info or debug level is never an error
/// line even when it says "failed" (retries logged as info are noise). Pure, so a table test covers it.
/// </summary>
public static partial class CniLogErrors
{
    /// <summary>Error lines kept per pod: enough to show the cause, small enough for the status.</summary>
    public const int MaxLines = 8;

    /// <summary>Characters kept per line: a Go stack or a JSON blob on one line must not fill the status.</summary>
    public const int MaxLineLength = 240;

    [GeneratedRegex(@"^[EF]\d{4} \d{2}:\d{2}:\d{2}")]
    private static partial Regex KlogError();

    [GeneratedRegex(@"^[IWD]\d{4} \d{2}:\d{2}:\d{2}")]
    private static partial Regex KlogQuiet();

    [GeneratedRegex(@"level=""?(error|fatal|panic)""?|\[(ERROR|FATAL|PANIC)\]|""level"":""(error|fatal)""", RegexOptions.IgnoreCase)]
    private static partial Regex LeveledError();

    [GeneratedRegex(@"level=""?(info|debug|trace)""?|\[(INFO|DEBUG|TRACE)\]|""level"":""(info|debug)""", RegexOptions.IgnoreCase)]
    private static partial Regex LeveledQuiet();

    [GeneratedRegex(@"\bError\b|\b[Ff]ailed\b|\bFAILED\b")]
    private static partial Regex Words();

    /// <summary>Whether one log line is an error line.</summary>
    public static bool IsError(string line)
    {
        var l = line.TrimStart();
        if (l.Length == 0) return false;
        if (KlogError().IsMatch(l) || LeveledError().IsMatch(l)) return true;
        if (KlogQuiet().IsMatch(l) || LeveledQuiet().IsMatch(l)) return false;
        return Words().IsMatch(l);
    }

    /// <summary>
    /// The last <paramref name="max"/> distinct error lines of <paramref name="log"/>, oldest first
    /// (the newest are nearest the crash), each cut to <see cref="MaxLineLength"/> characters.
    /// </summary>
    public static IReadOnlyList<string> Match(string? log, int max = MaxLines)
    {
        if (string.IsNullOrEmpty(log) || max <= 0) return [];
        var kept = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var lines = log.Split('\n');
        for (var i = lines.Length - 1; i >= 0 && kept.Count < max; i--)
        {
            var line = lines[i].TrimEnd('\r').Trim();
            if (!IsError(line)) continue;
            var cut = line.Length > MaxLineLength ? line[..(MaxLineLength - 1)] + "…" : line;
            if (seen.Add(cut)) kept.Add(cut);
        }
        kept.Reverse();
        return kept;
    }
}
