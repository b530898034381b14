using NetDiag.Entities.Reports;

namespace NetDiag.Probes.Parsing;

/// <summary>A process seen in /proc: pid, <c>comm</c> (truncated by the kernel to 15 bytes) and argv.</summary>
public sealed record ProcessInfo(int Pid, string Comm, IReadOnlyList<string> Argv)
{
    public string CommandLine => Argv.Count == 0 ? $"[{Comm}]" : string.Join(' ', Argv);

    /// <summary>Builds one from the raw <c>comm</c> text and NUL-separated <c>cmdline</c>.</summary>
    public static ProcessInfo FromProc(int pid, string? comm, string? cmdline)
    {
        var argv = string.IsNullOrEmpty(cmdline)
            ? []
            : cmdline.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        return new ProcessInfo(pid, (comm ?? "").TrimEnd('\n'), argv);
    }

    /// <summary>
    /// Whether this process runs <paramref name="name"/>: the comm equals it (or its 15-byte prefix,
    /// since the kernel truncates comm: <c>wsssr_defence_daemon</c> shows as <c>wsssr_defence_d</c>),
    /// or the executable of argv[0] (or of argv[1] behind an interpreter such as python) is named so.
    /// </summary>
    public bool Runs(string name)
    {
        if (name.Length == 0) return false;
        var comm = name.Length > 15 ? name[..15] : name;
        if (string.Equals(Comm, comm, StringComparison.OrdinalIgnoreCase)) return true;
        for (var i = 0; i < Math.Min(2, Argv.Count); i++)
        {
            var exe = Argv[i];
            var slash = exe.LastIndexOf('/');
            if (slash >= 0) exe = exe[(slash + 1)..];
            if (string.Equals(exe, name, StringComparison.OrdinalIgnoreCase)) return true;
            if (i == 0 && !IsInterpreter(exe)) break;
        }
        return false;
    }

    private static bool IsInterpreter(string exe) =>
        exe.StartsWith("python", StringComparison.Ordinal) || exe is "perl" or "sh" or "bash" or "java" or "node";
}

/// <summary>Matches processes against security-software signatures.</summary>
public static class SecuritySoftwareMatcher
{
    public sealed record Match(ProcessInfo Process, SecuritySoftwareSignature Signature);

    public static List<Match> Find(IEnumerable<ProcessInfo> processes, IReadOnlyList<SecuritySoftwareSignature> signatures)
    {
        var result = new List<Match>();
        foreach (var p in processes)
            foreach (var s in signatures)
                if (p.Runs(s.Process)) { result.Add(new Match(p, s)); break; }
        return result;
    }
}
