using System.Runtime.InteropServices;
using System.Text;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Collectors;

/// <summary>
/// Reads kernel log lines: /dev/kmsg without blocking (root with CAP_SYSLOG), else the host's
/// kern.log or messages file. The result says where it came from, or why nothing was readable.
/// </summary>
public static class KernelLogCollector
{
    private const int ORdOnly = 0;
    private const int ONonBlock = 0x800; // the same on x86_64 and arm64
    private const int EAgain = 11;
    private const int EPipe = 32;
    private const int MaxRecords = 200_000;

    [DllImport("libc", SetLastError = true, EntryPoint = "open")]
    private static extern int Open([MarshalAs(UnmanagedType.LPStr)] string path, int flags);

    [DllImport("libc", SetLastError = true, EntryPoint = "read")]
    private static extern nint Read(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    public static Gathered<List<KernelLogLine>> Collect(string kmsgPath, TimeSpan uptime, HostFileSystem host, DateTimeOffset now)
    {
        var kmsg = ReadKmsg(kmsgPath, uptime);
        if (kmsg.Ok) return kmsg;
        foreach (var file in new[] { "/var/log/kern.log", "/var/log/messages", "/var/log/syslog" })
        {
            var text = host.ReadText(file);
            if (!text.Ok) continue;
            var lines = new List<KernelLogLine>();
            foreach (var raw in text.Value!.AsSpan().EnumerateLines())
            {
                // Only lines that matter are parsed for time; the rest are skipped cheaply.
                if (raw.IndexOf(KernelLogParser.ConntrackFull.AsSpan(), StringComparison.Ordinal) < 0) continue;
                lines.Add(KernelLogParser.ParseSyslogLine(raw.ToString(), now, file));
            }
            return Gathered<List<KernelLogLine>>.Of(lines);
        }
        return Gathered<List<KernelLogLine>>.Fail($"{kmsg.Error}; no /var/log/kern.log, messages or syslog under the host root");
    }

    private static Gathered<List<KernelLogLine>> ReadKmsg(string path, TimeSpan uptime)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(path)) return Gathered<List<KernelLogLine>>.Fail($"{path} not available");
        int fd;
        try { fd = Open(path, ORdOnly | ONonBlock); }
        catch (Exception e) { return Gathered<List<KernelLogLine>>.Fail($"{path}: {e.Message}"); }
        if (fd < 0) return Gathered<List<KernelLogLine>>.Fail($"{path}: open failed (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            var lines = new List<KernelLogLine>();
            var buffer = new byte[8192];
            for (var i = 0; i < MaxRecords; i++)
            {
                var n = Read(fd, buffer, buffer.Length);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EPipe) continue; // a record was overwritten while reading: skip it
                    if (errno == EAgain) break;   // no more records
                    return Gathered<List<KernelLogLine>>.Fail($"{path}: read failed (errno {errno})");
                }
                if (n == 0) break;
                var record = Encoding.UTF8.GetString(buffer, 0, (int)n);
                if (!record.Contains(KernelLogParser.ConntrackFull, StringComparison.Ordinal)) continue;
                if (KernelLogParser.ParseKmsgRecord(record, uptime) is { } line) lines.Add(line);
            }
            return Gathered<List<KernelLogLine>>.Of(lines);
        }
        finally
        {
            Close(fd);
        }
    }
}
