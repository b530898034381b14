namespace NetDiag.Lab;

/// <summary>
/// Tear-down that needs no state file: every process whose network namespace is one of the lab's
/// (node holders and everything under them, pods' dnsmasq/httpd, nsenter launchers) is killed,
/// then the namespaces are deleted (which frees veths, bridges, vxlan devices, iptables rules and
/// conntrack entries), then the default work dir is removed.
/// </summary>
internal static class LabCleanup
{
    private const string NetnsDir = "/run/netns";
    public const string DefaultWorkRoot = "/tmp/netdiag-lab";

    public static async Task CleanupAsync(Func<string, bool> labMatches, IEnumerable<string> extraDirs)
    {
        var namespaces = Directory.Exists(NetnsDir)
            ? Directory.GetFiles(NetnsDir).Select(Path.GetFileName).OfType<string>()
                .Where(n => LabNames.LabOf(n) is { } lab && labMatches(lab)).ToList()
            : [];

        if (namespaces.Count > 0)
        {
            var pids = await PidsInAsync(namespaces);
            foreach (var pid in pids) ProcFs.Kill(pid);
            await ProcFs.WaitGoneAsync(pids, TimeSpan.FromSeconds(10));

            var batch = string.Concat(namespaces.Select(n => $"netns del {n}\n"));
            // -force: go on past a namespace that vanished meanwhile.
            await Command.RunAsync("ip", ["-force", "-batch", "-"], batch);
        }

        var dirs = new List<string>(extraDirs);
        if (Directory.Exists(DefaultWorkRoot))
            dirs.AddRange(Directory.GetDirectories(DefaultWorkRoot).Where(d => labMatches(Path.GetFileName(d))));
        foreach (var dir in dirs.Distinct())
        {
            try
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A mount point still held by a process we could not kill: leave it, report nothing
                // fatal; the next cleanup tries again.
            }
        }
    }

    /// <summary>PIDs (test-host view) of every process whose network namespace is one of <paramref name="namespaces"/>.</summary>
    public static async Task<IReadOnlyList<int>> PidsInAsync(IReadOnlyList<string> namespaces)
    {
        // One stat for all inodes, then a /proc scan: much faster than `ip netns pids` per namespace.
        var stat = await Command.RunAsync("stat", ["-L", "-c", "%i", .. namespaces.Select(n => $"{NetnsDir}/{n}")]);
        var inodes = stat.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(s => $"net:[{s.Trim()}]").ToHashSet();
        var self = Environment.ProcessId;
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == self) continue;
            try
            {
                var target = new FileInfo($"{dir}/ns/net").LinkTarget;
                if (target is not null && inodes.Contains(target)) result.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return result;
    }
}
