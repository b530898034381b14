using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Collectors;

/// <summary>Reads runtime sysctl values from /proc/sys and replays the host's sysctl configuration.</summary>
public static class SysctlCollector
{
    /// <summary>
    /// The runtime value of a key (e.g. net.ipv4.ip_forward) from procRoot/sys/...; a null value means
    /// the file does not exist (the module providing it is not loaded), which checks treat as a fact.
    /// </summary>
    public static Gathered<string?> ReadRuntime(string procRoot, string key)
    {
        var path = Path.Combine(procRoot, SysctlKeys.ProcPath(key));
        try
        {
            if (!File.Exists(path)) return Gathered<string?>.Of(null);
            return Gathered<string?>.Of(File.ReadAllText(path).Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Gathered<string?>.Fail($"{path}: {e.Message}");
        }
    }

    /// <summary>Lists and reads every sysctl file on the host, then replays them in load order.</summary>
    public static SysctlReplayResult ReadConfiguration(HostFileSystem host)
    {
        var listing = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var listingErrors = new List<string>();
        foreach (var dir in SysctlLoadOrder.Directories)
        {
            var names = host.List(dir);
            if (names.Ok) listing[dir] = names.Value!;
            else listingErrors.Add(names.Error!);
        }
        var order = SysctlLoadOrder.Order(listing, host.Exists(SysctlLoadOrder.MainFile));
        var files = order.Select(path =>
        {
            // A file linked to /dev/null masks the vendor file of the same name (systemd semantics).
            if (host.LinkTargetHostPath(path) == "/dev/null") return new SysctlFile(path, "");
            var text = host.ReadText(path);
            return new SysctlFile(path, text.Value, text.Error);
        });
        var result = SysctlReplay.Replay(files);
        result.Warnings.AddRange(listingErrors);
        return result;
    }
}
