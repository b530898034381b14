using System.Text;
using NetDiag.Entities;
using NetDiag.Entities.Reports;

namespace NetDiag.Probes.Reporting;

/// <summary>The readable form for a person at a node's shell: a status table, then each finding in full.</summary>
public static class TableRenderer
{
    public static string Render(ProbeReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"netdiag-probe on {report.Node}: {report.Checks.Count} check(s) in {report.DurationMs} ms");
        sb.AppendLine();
        var nameWidth = Math.Max(5, report.Checks.Select(c => c.Check.Length).DefaultIfEmpty(0).Max());
        sb.AppendLine($"{"CHECK".PadRight(nameWidth)}  {"STATUS",-8}  DETAIL");
        foreach (var c in report.Checks)
            sb.AppendLine($"{c.Check.PadRight(nameWidth)}  {c.Status,-8}  {OneLine(c.Reason, 100)}");
        var findings = report.Findings.Where(f => f.Severity != Severity.Info || true).ToList();
        if (findings.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("FINDINGS");
            foreach (var f in findings.OrderByDescending(f => f.Severity.ToStatus()))
            {
                sb.AppendLine();
                sb.AppendLine($"[{f.Severity}] {f.Check}: {f.Message}");
                foreach (var e in f.Evidence) sb.AppendLine($"    evidence: {e}");
                if (f.Remediation is { } r) sb.AppendLine($"    fix: {r}");
                if (f.AutoAction is { } a) sb.AppendLine($"    auto action: {a}");
            }
        }
        var worst = report.Checks.Select(c => c.Status).Worst();
        sb.AppendLine();
        sb.AppendLine($"worst status: {worst} (exit code {(int)worst})");
        return sb.ToString();
    }

    private static string OneLine(string? s, int max)
    {
        if (string.IsNullOrEmpty(s)) return "";
        s = s.Replace('\n', ' ');
        return s.Length <= max ? s : s[..(max - 1)] + "…";
    }
}
