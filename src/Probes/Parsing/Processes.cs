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
        if (Argv.Count == 0) return false;
        var argv0 = BaseName(Argv[0]);
        if (string.Equals(argv0, name, StringComparison.OrdinalIgnoreCase)) return true;
        if (!IsInterpreter(argv0)) return false;
        // Behind an interpreter the program is the first argument that is not an option (python3 -s /usr/sbin/firewalld).
        var script = Argv.Skip(1).FirstOrDefault(a => !a.StartsWith('-'));
        return script is not null && string.Equals(BaseName(script), name, StringComparison.OrdinalIgnoreCase);
    }

    private static string BaseName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash >= 0 ? path[(slash + 1)..] : path;
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
