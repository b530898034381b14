namespace NetDiag.Lab;

/// <summary>Small readers of the test host's /proc (never throw: a vanished process reads as absent).</summary>
internal static class ProcFs
{
    public static IReadOnlyList<int> Children(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/task/{pid}/children");
            return text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return [];
        }
    }

    public static string? Comm(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n'); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Alive = exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z' && stat[close + 2] != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The PID in the innermost PID namespace (last field of NSpid), or null.</summary>
    public static int? InnermostPid(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("NSpid:", StringComparison.Ordinal)) continue;
                var parts = line[6..].Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && int.TryParse(parts[^1], out var p) ? p : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    public static void Kill(int pid)
    {
        if (pid <= 1) return;
        // SIGKILL: the only signal a PID-namespace init (our node holders) cannot ignore when it
        // comes from the parent namespace.
        _ = Native.kill(pid, 9);
    }

    /// <summary>Waits until none of <paramref name="pids"/> is alive (or the budget is spent).</summary>
    public static async Task WaitGoneAsync(IEnumerable<int> pids, TimeSpan budget)
    {
        var list = pids.ToList();
        var deadline = DateTime.UtcNow + budget;
        while (list.Any(IsAlive) && DateTime.UtcNow < deadline) await Task.Delay(20);
    }
}
