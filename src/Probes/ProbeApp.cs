using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Cli;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Reporting;

namespace NetDiag.Probes;

/// <summary>
/// The probe program: options and plan in, one report out (stdout and termination message),
/// exit code = worst check status. Never lets an exception escape: a broken input is a report.
/// </summary>
public static class ProbeApp
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var (options, error) = ProbeOptions.Parse(args);
        if (options is null)
        {
            stderr.WriteLine($"netdiag-probe: {error}");
            stderr.WriteLine("Try 'netdiag-probe --help'.");
            return ProbeOptions.UsageExitCode;
        }
        if (options.Help)
        {
            stdout.WriteLine(ProbeOptions.Usage);
            return 0;
        }

        // The plan: a file, else the environment variable the probe Job sets, else none (by hand).
        ProbePlan? plan = null;
        string? planText = null, planSource = null;
        if (options.PlanFile is { } file)
        {
            try { planText = File.ReadAllText(file); planSource = file; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"netdiag-probe: cannot read plan {file}: {e.Message}");
                return ProbeOptions.UsageExitCode;
            }
        }
        else if (Environment.GetEnvironmentVariable(ProbePlan.EnvironmentVariable) is { Length: > 0 } env)
        {
            planText = env;
            planSource = $"${ProbePlan.EnvironmentVariable}";
        }
        if (planText is not null)
        {
            if (!ProbeReportCodec.TryParsePlan(planText, out plan, out var planError))
            {
                // Report it through the same channels as findings, so the operator sees why.
                var failed = FailedReport(options.Node ?? HostName(), $"plan unreadable ({planSource}): {planError}");
                Emit(failed, options, stdout, stderr);
                stderr.WriteLine($"netdiag-probe: {planSource}: {planError}");
                return ProbeOptions.UsageExitCode;
            }
        }

        var planPresent = plan is not null;
        plan ??= new ProbePlan { HostRoot = "/" };
        if (string.IsNullOrWhiteSpace(plan.Node)) plan = plan with { Node = options.Node ?? HostName() };
        var hostRoot = options.HostRoot ?? plan.HostRoot;
        var checks = options.Checks ?? (plan.Checks.Count > 0 ? plan.Checks : [.. CheckNames.NodeChecks]);
        var nodeChecks = checks.Where(c => CheckNames.NodeChecks.Contains(c)).Distinct().ToList();

        var signatures = SecuritySoftwareList.Merge(SecuritySoftwareList.BuiltIn(), plan.SecuritySoftware);
        if (options.SecurityList is { } listFile)
        {
            var extra = SecuritySoftwareList.FromFile(listFile);
            if (!extra.Ok)
            {
                stderr.WriteLine($"netdiag-probe: --security-list: {extra.Error}");
                return ProbeOptions.UsageExitCode;
            }
            signatures = SecuritySoftwareList.Merge(signatures, extra.Value!);
        }

        var settings = new ProbeSettings(plan, planPresent, hostRoot, options.ProcRoot, signatures, options.KmsgPath, TimeProvider.System);
        ProbeReport report;
        try
        {
            report = await new ProbeRunner(settings).RunAsync(nodeChecks).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            report = FailedReport(plan.Node, $"probe failed: {e.GetType().Name}: {e.Message}");
        }
        Emit(report, options, stdout, stderr);
        return (int)report.Checks.Select(c => c.Status).Worst();
    }

    private static void Emit(ProbeReport report, ProbeOptions options, TextWriter stdout, TextWriter stderr)
    {
        stdout.WriteLine(options.Output == "json" ? ReportWriter.JsonLine(report) : TableRenderer.Render(report));
        stdout.Flush();
        if (ReportWriter.WriteTerminationMessage(report, options.TerminationLog) is { } err) stderr.WriteLine($"netdiag-probe: {err}");
    }

    private static ProbeReport FailedReport(string node, string message) => new()
    {
        Node = node,
        StartedAt = DateTimeOffset.UtcNow,
        Findings = [new Finding { Check = CheckNames.ProbeFailed, Severity = Severity.Unknown, Cause = "probe failed", Message = message }],
    };

    private static string HostName()
    {
        try
        {
            var h = File.ReadAllText("/proc/sys/kernel/hostname").Trim();
            if (h.Length > 0) return h;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return Environment.MachineName;
    }
}
