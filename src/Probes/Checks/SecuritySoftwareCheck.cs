using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Checks;

/// <summary>securitySoftware: host security agents known to break pod and overlay networks (seed 000).</summary>
public static class SecuritySoftwareCheck
{
    public static CheckOutcome Evaluate(Gathered<List<ProcessInfo>> processes, IReadOnlyList<SecuritySoftwareSignature> signatures)
    {
        const string check = CheckNames.SecuritySoftware;
        if (!processes.Ok) return CheckOutcome.Unknown(check, "process list unreadable", $"cannot list processes: {processes.Error}");
        if (signatures.Count == 0) return CheckOutcome.Unknown(check, "no signatures", "the security-software list is empty");
        var matches = SecuritySoftwareMatcher.Find(processes.Value!, signatures);
        var findings = matches
            .GroupBy(m => m.Signature.Process, StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var sig = g.First().Signature;
                var pids = g.Select(m => m.Process.Pid).OrderBy(p => p).ToList();
                return new Finding
                {
                    Check = check,
                    Severity = Severity.Warning,
                    Cause = $"security software {sig.Process}",
                    Message = $"{sig.Vendor} security software is running ({sig.Process}, pid {string.Join(", ", pids.Take(5))})" +
                              (sig.Note is null ? "; such agents are known to block pod and overlay traffic" : $"; {sig.Note}"),
                    Evidence = g.OrderBy(m => m.Process.Pid).Take(10)
                        .Select(m => $"pid {m.Process.Pid} comm {m.Process.Comm}: {Cut(m.Process.CommandLine)} (vendor {sig.Vendor})").ToList(),
                    Remediation = $"Exempt the pod network, the overlay device and the flannel UDP port in the {sig.Vendor} product's policy, " +
                                  $"or stop it briefly to confirm (`systemctl stop <its service>` / `kill {pids[0]}`) and test pod traffic again. Never automatic.",
                    Data = new() { ["process"] = sig.Process, ["vendor"] = sig.Vendor, ["pids"] = string.Join(",", pids) },
                };
            })
            .ToList();
        return CheckOutcome.From(check, findings, $"none of {signatures.Count} known agents among {processes.Value!.Count} processes");
    }

    private static string Cut(string s) => s.Length <= 160 ? s : s[..159] + "…";
}
