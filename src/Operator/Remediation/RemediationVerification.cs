using NetDiag.Entities;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Remediation;

/// <summary>The records and findings after a re-check.</summary>
/// <param name="Records">Every record; applied ones that were re-checked now say Passed or StillFailing.</param>
/// <param name="Findings">Findings still standing; those an action targeted but did not fix carry <c>verified: false</c>.</param>
/// <param name="Resolved">Findings an action fixed, confirmed by the re-check (<c>verified: true</c>): no longer faults.</param>
public sealed record RecheckResult(List<RemediationRecord> Records, List<DiagnosisFinding> Findings, List<DiagnosisFinding> Resolved);

/// <summary>
/// Folds a re-check into the remediation records and findings, pure. After actions are applied the
/// reconcile runs the targeted checks again (<see cref="RemediationOutcome.RecheckChecks"/>); this
/// decides, per applied record, whether its fault is gone on its target (the node for node actions,
/// the cluster otherwise), and, per original finding, whether it was fixed (verified) or stays a
/// finding marked unverified. A re-check that could not run (Unknown) does not count as fixed.
/// </summary>
public static class RemediationVerification
{
    /// <summary>The checks whose findings an action is meant to clear.</summary>
    public static IReadOnlyList<string> ChecksFixedBy(string action) => action switch
    {
        ActionNames.RestartCoreDns => [CheckNames.DnsLoop, CheckNames.CoreDnsHealth],
        _ => CheckNames.Catalog.Where(c => c.AutoAction == action).Select(c => c.Name).ToList(),
    };

    public static RecheckResult Apply(
        IReadOnlyList<RemediationRecord> records,
        IReadOnlyList<DiagnosisFinding> findings,
        IReadOnlyList<DiagnosisFinding> recheckFindings,
        IReadOnlyCollection<string> recheckedChecks)
    {
        var updated = new List<RemediationRecord>(records.Count);
        foreach (var r in records)
        {
            var copy = Copy(r);
            var checks = ChecksFixedBy(r.Action);
            if (r.Result == RemediationResults.Applied && checks.Any(recheckedChecks.Contains))
            {
                var standing = recheckFindings.Where(f => checks.Contains(f.Check) && IsFault(f) && Affects(f, NodeOf(r))).ToList();
                copy.Recheck = standing.Count == 0 ? RemediationResults.RecheckPassed : RemediationResults.RecheckStillFailing;
                if (standing.Count > 0)
                {
                    var unknown = standing.All(f => f.Severity == nameof(Severity.Unknown));
                    copy.Message = $"{r.Message}. Re-check: {(unknown ? "could not verify" : "still failing")}: {standing[0].Message}";
                }
            }

            updated.Add(copy);
        }

        var remaining = new List<DiagnosisFinding>();
        var resolved = new List<DiagnosisFinding>();
        foreach (var f in findings)
        {
            var related = updated.Where(r => r.Result == RemediationResults.Applied
                && r.Recheck is RemediationResults.RecheckPassed or RemediationResults.RecheckStillFailing
                && ChecksFixedBy(r.Action).Contains(f.Check)
                && Affects(f, NodeOf(r))).ToList();
            if (related.Count == 0)
            {
                remaining.Add(f);
                continue;
            }

            var stillThere = recheckFindings.Any(n => n.Check == f.Check && n.Cause == f.Cause && IsFault(n));
            var fixedByAll = related.All(r => r.Recheck == RemediationResults.RecheckPassed) && !stillThere;
            var marked = Copy(f);
            marked.Verified = fixedByAll;
            (fixedByAll ? resolved : remaining).Add(marked);
        }

        return new RecheckResult(updated, remaining, resolved);
    }

    private static bool IsFault(DiagnosisFinding f) => f.Severity is nameof(Severity.Critical) or nameof(Severity.Warning) or nameof(Severity.Unknown);

    /// <summary>The node of a node action's record (<c>node/NAME</c>), else null.</summary>
    private static string? NodeOf(RemediationRecord r) => r.Target.StartsWith("node/", StringComparison.Ordinal) ? r.Target[5..] : null;

    private static bool Affects(DiagnosisFinding f, string? node) => node is null || f.Nodes?.Contains(node, StringComparer.Ordinal) == true;

    private static DiagnosisFinding Copy(DiagnosisFinding f) => new()
    {
        Check = f.Check,
        Severity = f.Severity,
        Cause = f.Cause,
        Nodes = f.Nodes?.ToList(),
        NodeCount = f.NodeCount,
        Objects = f.Objects?.ToList(),
        Message = f.Message,
        Evidence = f.Evidence?.ToList(),
        Remediation = f.Remediation,
        AutoAction = f.AutoAction,
        Verified = f.Verified,
    };

    private static RemediationRecord Copy(RemediationRecord r) => new()
    {
        Action = r.Action,
        Target = r.Target,
        Time = r.Time,
        DryRun = r.DryRun,
        Result = r.Result,
        Message = r.Message,
        Recheck = r.Recheck,
        Run = r.Run,
    };
}
