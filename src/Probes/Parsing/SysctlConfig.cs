namespace NetDiag.Probes.Parsing;

/// <summary>One <c>key = value</c> assignment in a sysctl configuration file.</summary>
/// <param name="File">The file as named on the host, e.g. <c>/etc/sysctl.d/99-custom.conf</c>.</param>
/// <param name="Line">1-based line number.</param>
public sealed record SysctlSetting(string Key, string Value, string File, int Line)
{
    public string Where => $"{File}:{Line}";
}

/// <summary>A configuration file with its content (null when it could not be read, with the reason).</summary>
public sealed record SysctlFile(string Path, string? Content, string? Error = null);

/// <summary>The outcome of replaying every sysctl file in load order.</summary>
public sealed class SysctlReplayResult
{
    /// <summary>Files in the order they were applied.</summary>
    public List<string> Files { get; } = [];
    /// <summary>Every assignment per key, in order; the last one is the value after a reload.</summary>
    public Dictionary<string, List<SysctlSetting>> History { get; } = new(StringComparer.Ordinal);
    public List<string> Warnings { get; } = [];

    public SysctlSetting? Last(string key) =>
        History.TryGetValue(SysctlKeys.Normalize(key), out var list) && list.Count > 0 ? list[^1] : null;

    public IReadOnlyList<SysctlSetting> All(string key) =>
        History.TryGetValue(SysctlKeys.Normalize(key), out var list) ? list : [];
}

public static class SysctlKeys
{
    public const string IpForward = "net.ipv4.ip_forward";
    public const string BridgeNfCallIptables = "net.bridge.bridge-nf-call-iptables";
    public const string ConntrackMax = "net.netfilter.nf_conntrack_max";

    /// <summary>
    /// sysctl.d(5): keys may use '/' or '.' as separators; when the first separator is a '/', the
    /// remaining slashes and dots swap meaning. Returns the dotted form.
    /// </summary>
    public static string Normalize(string key)
    {
        key = key.Trim();
        var slash = key.IndexOf('/');
        var dot = key.IndexOf('.');
        if (slash >= 0 && (dot < 0 || slash < dot))
        {
            var chars = key.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
                chars[i] = chars[i] == '/' ? '.' : chars[i] == '.' ? '/' : chars[i];
            return new string(chars).Trim('.');
        }
        return key;
    }

    /// <summary>The /proc/sys path of a key (dots become slashes, slashes inside a name stay dots).</summary>
    public static string ProcPath(string key)
    {
        var dotted = Normalize(key);
        return "sys/" + dotted.Replace('.', '/');
    }
}

/// <summary>
/// The order in which <c>systemd-sysctl</c> / <c>sysctl --system</c> apply configuration files:
/// all <c>*.conf</c> in the directories below merged by file name (for the same name the earlier
/// directory wins, so /etc overrides /usr/lib), sorted by name, then <c>/etc/sysctl.conf</c> last.
/// </summary>
public static class SysctlLoadOrder
{
    public static readonly IReadOnlyList<string> Directories =
        ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"];

    public const string MainFile = "/etc/sysctl.conf";

    /// <param name="filesByDirectory">File names found in each directory (missing directories simply absent).</param>
    /// <param name="mainFileExists">Whether /etc/sysctl.conf exists.</param>
    /// <returns>Host paths in application order.</returns>
    public static List<string> Order(IReadOnlyDictionary<string, IReadOnlyList<string>> filesByDirectory, bool mainFileExists)
    {
        var chosen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var dir in Directories)
        {
            if (!filesByDirectory.TryGetValue(dir, out var names)) continue;
            foreach (var name in names)
            {
                if (!name.EndsWith(".conf", StringComparison.Ordinal)) continue;
                chosen.TryAdd(name, dir + "/" + name);
            }
        }
        var ordered = chosen.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList();
        if (mainFileExists) ordered.Add(MainFile);
        return ordered;
    }
}

/// <summary>Replays sysctl files in load order to find which file and line sets a key last.</summary>
public static class SysctlReplay
{
    public static SysctlReplayResult Replay(IEnumerable<SysctlFile> filesInOrder)
    {
        var result = new SysctlReplayResult();
        foreach (var file in filesInOrder)
        {
            result.Files.Add(file.Path);
            if (file.Content is null)
            {
                result.Warnings.Add($"{file.Path}: {file.Error ?? "unreadable"}");
                continue;
            }
            var lineNo = 0;
            foreach (var raw in file.Content.AsSpan().EnumerateLines())
            {
                lineNo++;
                var line = raw.Trim();
                if (line.IsEmpty || line[0] == '#' || line[0] == ';') continue;
                // A leading '-' means "ignore errors when applying", not a different assignment.
                if (line[0] == '-') line = line[1..].TrimStart();
                var eq = line.IndexOf('=');
                if (eq <= 0)
                {
                    if (result.Warnings.Count < 50) result.Warnings.Add($"{file.Path}:{lineNo}: not a key = value line");
                    continue;
                }
                var key = SysctlKeys.Normalize(line[..eq].ToString());
                var value = line[(eq + 1)..].Trim().ToString();
                if (key.Length == 0) continue;
                if (!result.History.TryGetValue(key, out var list)) result.History[key] = list = [];
                list.Add(new SysctlSetting(key, value, file.Path, lineNo));
            }
        }
        return result;
    }
}
