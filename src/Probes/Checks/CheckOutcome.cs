using NetDiag.Entities;
using NetDiag.Entities.Reports;

namespace NetDiag.Probes.Checks;

/// <summary>What one check concluded on this node: its status line and its findings.</summary>
public sealed record CheckOutcome(CheckResult Result, IReadOnlyList<Finding> Findings)
{
    public static CheckOutcome Pass(string check, string reason) =>
        new(new CheckResult { Check = check, Status = CheckStatus.Pass, Reason = reason }, []);

    /// <summary>The check could not run: Unknown, with the reason as both status and finding.</summary>
    public static CheckOutcome Unknown(string check, string cause, string reason, params string[] evidence) =>
        new(new CheckResult { Check = check, Status = CheckStatus.Unknown, Reason = reason },
            [new Finding { Check = check, Severity = Severity.Unknown, Cause = cause, Message = reason, Evidence = [.. evidence] }]);

    /// <summary>Status is the worst of the findings; <paramref name="passReason"/> when there are none.</summary>
    public static CheckOutcome From(string check, IReadOnlyList<Finding> findings, string passReason)
    {
        if (findings.Count == 0) return Pass(check, passReason);
        var worst = findings.Select(f => f.Severity.ToStatus()).Worst();
        var top = findings.OrderByDescending(f => f.Severity.ToStatus()).First();
        return new(new CheckResult { Check = check, Status = worst, Reason = worst == CheckStatus.Pass ? passReason : top.Message }, findings);
    }
}

/// <summary>Shared wording for sysctl evidence and fixes.</summary>
internal static class SysctlText
{
    public const string SystemWarning =
        "Do not run `sysctl --system` on a production node to apply it: it reloads every kernel parameter; `sysctl -p FILE` applies one file.";

    /// <summary>
    /// The runtime value is 1 but the file applied last sets 0: fine now, off after the next reboot
    /// or sysctl reload. A Warning, because traffic flows until then.
    /// </summary>
    public static CheckOutcome PersistedZero(string check, string key, string cause, string message, string remediation,
        Parsing.SysctlSetting last, List<string> evidence) => CheckOutcome.From(check, [new NetDiag.Entities.Reports.Finding
    {
        Check = check, Severity = NetDiag.Entities.Severity.Warning, Cause = cause,
        Message = message,
        Evidence = [$"{key} = 1 (runtime)", .. evidence],
        Remediation = $"{remediation} {SystemWarning}",
        Data = new() { [NetDiag.Entities.Reports.FindingDataKeys.Value] = "1", ["file"] = last.File, ["line"] = last.Line.ToString() },
    }], "");

    /// <summary>Evidence lines for where the configuration sets <paramref name="key"/>.</summary>
    public static List<string> ConfigEvidence(Parsing.SysctlReplayResult? config, string key, string? configError)
    {
        var lines = new List<string>();
        if (config is null) { lines.Add($"sysctl configuration not readable: {configError}"); return lines; }
        var all = config.All(key);
        if (all.Count == 0)
        {
            lines.Add($"no sysctl file sets {key} ({config.Files.Count} files replayed in load order): the value is not persisted and is lost at reboot");
            return lines;
        }
        var last = all[^1];
        lines.Add($"{last.Where}: {key} = {last.Value} (applied last of {config.Files.Count} files in sysctl load order)");
        foreach (var earlier in all.Take(all.Count - 1).Reverse().Take(4))
            lines.Add($"{earlier.Where}: {key} = {earlier.Value} (overridden by {last.Where})");
        return lines;
    }
}
