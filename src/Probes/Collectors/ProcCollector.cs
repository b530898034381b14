using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Collectors;

/// <summary>
/// Reads /proc. With hostNetwork and hostPID (or inside a lab node's namespaces) the probe's own
/// /proc shows the node's processes and, under /proc/net, the node's network namespace.
/// </summary>
public sealed class ProcCollector(string procRoot)
{
    public string Root { get; } = procRoot;

    public Gathered<string> Read(string relative)
    {
        var path = Path.Combine(Root, relative);
        try
        {
            if (!File.Exists(path)) return Gathered<string>.Fail($"{path} not found");
            return Gathered<string>.Of(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Gathered<string>.Fail($"{path}: {e.Message}");
        }
    }

    /// <summary>Every process: pid, comm and cmdline. Processes that exit while being read are skipped.</summary>
    public Gathered<List<ProcessInfo>> Processes()
    {
        try
        {
            var list = new List<ProcessInfo>();
            foreach (var dir in Directory.EnumerateDirectories(Root))
            {
                var name = Path.GetFileName(dir);
                if (!int.TryParse(name, out var pid)) continue;
                try
                {
                    var comm = File.ReadAllText(Path.Combine(dir, "comm"));
                    var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                    list.Add(ProcessInfo.FromProc(pid, comm, cmdline));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The process ended between listing and reading: nothing to report.
                }
            }
            return list.Count == 0
                ? Gathered<List<ProcessInfo>>.Fail($"no processes visible in {Root} (is /proc mounted?)")
                : Gathered<List<ProcessInfo>>.Of(list);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Gathered<List<ProcessInfo>>.Fail($"{Root}: {e.Message}");
        }
    }

    public Gathered<Dictionary<string, DeviceCounters>> DeviceCounters() =>
        Read("net/dev").Map(text => ProcNetDevParser.Parse(text));

    /// <summary>TCP listeners from net/tcp and net/tcp6 (tcp6 may be absent when IPv6 is disabled).</summary>
    public Gathered<List<TcpListener>> TcpListeners()
    {
        var v4 = Read("net/tcp");
        var v6 = Read("net/tcp6");
        if (!v4.Ok && !v6.Ok) return Gathered<List<TcpListener>>.Fail(v4.Error!);
        var list = ProcNetTcpParser.ParseListeners(v4.Value);
        list.AddRange(ProcNetTcpParser.ParseListeners(v6.Value));
        return Gathered<List<TcpListener>>.Of(list);
    }

    public Gathered<TimeSpan> Uptime() =>
        Read("uptime").Map(t =>
        {
            var first = t.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s)
                ? TimeSpan.FromSeconds(s) : TimeSpan.Zero;
        });
}
