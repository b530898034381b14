using System.Text;
using System.Text.Json;

namespace NetDiag.Entities.Reports;

/// <summary>
/// Reads and writes probe reports, shared by the probe and the operator so both agree on the format.
/// The termination message is capped by the kubelet at 4 KiB, so <see cref="ToTerminationMessage"/>
/// trims evidence step by step until the report fits; the full report stays on stdout.
/// </summary>
public static class ProbeReportCodec
{
    /// <summary>The kubelet's cap on a container's termination message.</summary>
    public const int TerminationMessageLimit = 4096;

    /// <summary>Reports larger than this are refused by the operator (a runaway probe, not data).</summary>
    public const int MaxReportBytes = 1024 * 1024;

    // Relaxed escaping: the default encoder writes ` ' " < > & + as \uXXXX, which costs up to six
    // bytes each in a 4 KiB termination message full of shell commands and rule text. The report
    // is never embedded in HTML, so HTML-safe escaping buys nothing here.
    private static readonly ReportJsonContext Relaxed = new(new JsonSerializerOptions(ReportJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static string Serialize(ProbeReport report) =>
        JsonSerializer.Serialize(report, Relaxed.ProbeReport);

    /// <summary>The report in at most <paramref name="maxBytes"/> UTF-8 bytes, trimmed as little as needed.</summary>
    public static string ToTerminationMessage(ProbeReport report, int maxBytes = TerminationMessageLimit)
    {
        var full = Serialize(report);
        if (Encoding.UTF8.GetByteCount(full) <= maxBytes) return full;

        // Trim harder each round: fewer evidence lines, shorter text. Findings themselves
        // (check, severity, cause, message) are what the operator needs and are kept longest.
        (int items, int chars, int remediation)[] rounds =
            [(5, 200, 400), (3, 120, 200), (2, 80, 120), (1, 60, 0), (0, 0, 0)];
        foreach (var (items, chars, remediation) in rounds)
        {
            var compact = Trim(report, items, chars, remediation, messageChars: 200);
            var text = Serialize(compact);
            if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
        }

        // Last resort: keep the check statuses and as many findings as fit, worst first.
        var worstFirst = report.Findings.OrderByDescending(f => f.Severity == Severity.Unknown ? 1 : (int)f.Severity * 2).ToList();
        for (var keep = worstFirst.Count; keep >= 0; keep--)
        {
            var cut = Trim(report with { Findings = worstFirst.Take(keep).ToList() }, 0, 0, 0, messageChars: 100);
            var text = Serialize(cut);
            if (Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
        }
        return Serialize(new ProbeReport { Node = report.Node, StartedAt = report.StartedAt, Compact = true });
    }

    private static ProbeReport Trim(ProbeReport r, int items, int chars, int remediation, int messageChars) => r with
    {
        Compact = true,
        Checks = r.Checks.Select(c => c with { Reason = Cut(c.Reason, 120) }).ToList(),
        Findings = r.Findings.Select(f => f with
        {
            Message = Cut(f.Message, messageChars)!,
            Evidence = TrimEvidence(f.Evidence, items, chars),
            Remediation = remediation == 0 ? null : Cut(f.Remediation, remediation),
        }).ToList(),
    };

    private static List<string> TrimEvidence(List<string> evidence, int items, int chars)
    {
        var kept = evidence.Take(items).Select(e => Cut(e, chars)!).ToList();
        if (evidence.Count > items && items > 0) kept.Add($"... and {evidence.Count - items} more (full report in the pod log)");
        return kept;
    }

    private static string? Cut(string? s, int max) =>
        s is null || s.Length <= max ? s : max <= 1 ? "" : s[..(max - 1)] + "…";

    /// <summary>
    /// Parses and validates a report. Never throws: a malformed, oversized or foreign document
    /// gives false and a reason a person can act on.
    /// </summary>
    public static bool TryParse(string? text, out ProbeReport? report, out string error)
    {
        report = null;
        if (string.IsNullOrWhiteSpace(text)) { error = "empty report"; return false; }
        if (Encoding.UTF8.GetByteCount(text) > MaxReportBytes) { error = $"report larger than {MaxReportBytes} bytes"; return false; }
        try
        {
            report = JsonSerializer.Deserialize(text, ReportJsonContext.Default.ProbeReport);
        }
        catch (JsonException e)
        {
            error = $"not a probe report: {e.Message}";
            return false;
        }
        if (report is null) { error = "not a probe report: null"; return false; }
        // Source-generated deserialization sets init-only properties that are absent from the JSON
        // to null, bypassing their initializers: normalize so a sparse report cannot crash a reader.
        report = report with
        {
            Checks = report.Checks?.Where(c => c is not null).ToList() ?? [],
            Findings = report.Findings?.Where(f => f is not null).Select(f => f with { Evidence = f.Evidence ?? [], Check = f.Check ?? "", Cause = f.Cause ?? "" }).ToList() ?? [],
        };
        if (report.SchemaVersion != ProbeReport.CurrentSchemaVersion)
        {
            error = $"unsupported schemaVersion '{report.SchemaVersion}' (want {ProbeReport.CurrentSchemaVersion})";
            report = null;
            return false;
        }
        if (string.IsNullOrWhiteSpace(report.Node)) { error = "report has no node"; report = null; return false; }
        foreach (var c in report.Checks)
        {
            if (!CheckNames.IsKnown(c.Check)) { error = $"report names unknown check '{c.Check}'"; report = null; return false; }
        }
        foreach (var f in report.Findings)
        {
            if (!CheckNames.IsKnown(f.Check) && f.Check != CheckNames.ProbeFailed)
            { error = $"finding names unknown check '{f.Check}'"; report = null; return false; }
            if (string.IsNullOrWhiteSpace(f.Message)) { error = $"finding for '{f.Check}' has no message"; report = null; return false; }
        }
        error = "";
        return true;
    }

    /// <summary>Finds the report in a pod log: the last line that parses as one.</summary>
    public static bool TryParseFromLog(string? log, out ProbeReport? report, out string error)
    {
        report = null;
        error = "no report line in the log";
        if (string.IsNullOrEmpty(log)) return false;
        var lines = log.Split('\n');
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            var line = lines[i].Trim();
            if (!line.StartsWith('{') || !line.Contains("\"schemaVersion\"")) continue;
            if (TryParse(line, out report, out error)) return true;
        }
        return false;
    }

    public static bool TryParsePlan(string? text, out ProbePlan? plan, out string error)
    {
        plan = null;
        if (string.IsNullOrWhiteSpace(text)) { error = "empty plan"; return false; }
        try
        {
            plan = JsonSerializer.Deserialize(text, ReportJsonContext.Default.ProbePlan);
        }
        catch (JsonException e)
        {
            error = $"not a probe plan: {e.Message}";
            return false;
        }
        if (plan is null) { error = "not a probe plan: null"; return false; }
        if (plan.SchemaVersion != ProbePlan.CurrentSchemaVersion)
        {
            error = $"unsupported plan schemaVersion '{plan.SchemaVersion}'";
            plan = null;
            return false;
        }
        var unknown = plan.Checks.Where(c => !CheckNames.IsKnown(c)).ToList();
        if (unknown.Count > 0) { error = $"unknown check(s) {string.Join(", ", unknown)}; valid: {string.Join(", ", CheckNames.NodeChecks)}"; plan = null; return false; }
        error = "";
        return true;
    }

    public static string SerializePlan(ProbePlan plan) =>
        JsonSerializer.Serialize(plan, Relaxed.ProbePlan);
}
