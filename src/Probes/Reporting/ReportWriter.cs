using NetDiag.Entities.Reports;

namespace NetDiag.Probes.Reporting;

/// <summary>
/// Delivers the report through the kubelet, never the pod network: the full report on stdout (the
/// pod log) and the compact form, under the 4 KiB cap, in the termination message file.
/// </summary>
public static class ReportWriter
{
    public const string DefaultTerminationLog = "/dev/termination-log";

    /// <summary>The full report as one JSON line (the operator finds it with TryParseFromLog).</summary>
    public static string JsonLine(ProbeReport report) => ProbeReportCodec.Serialize(report);

    /// <summary>
    /// Writes the compact form. With no explicit path, writes only where the kubelet provides the file;
    /// with a path whose directory does not exist, skips silently. Returns an error text, or null.
    /// </summary>
    public static string? WriteTerminationMessage(ProbeReport report, string? explicitPath)
    {
        var path = explicitPath ?? DefaultTerminationLog;
        if (explicitPath is null && !File.Exists(path)) return null;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) return null;
        try
        {
            File.WriteAllText(path, ProbeReportCodec.ToTerminationMessage(report));
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot write the termination message to {path}: {e.Message}";
        }
    }
}
