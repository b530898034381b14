using NetDiag.Entities;
using NetDiag.Entities.Reports;

namespace NetDiag.Operator.Checks;

/// <summary>
/// The API half of a check: a pure function of the cluster view. It reports every problem it sees
/// (never stops at the first) and an Unknown finding with the reason when it cannot decide.
/// </summary>
public interface IClusterCheck
{
    string Name { get; }
    IReadOnlyList<ScopedFinding> Run(ClusterView view);
}

/// <summary>The API halves, in catalog order.</summary>
public static class ClusterChecks
{
    public static readonly IReadOnlyList<IClusterCheck> All =
    [
        new PodCidrOverlapCheck(),
        new DnsLoopApiCheck(),
        new CoreDnsHealthCheck(),
        new CniHealthCheck(),
        new KubeProxyApiCheck(),
    ];

    /// <summary>Runs the named checks; a check that throws on unexpected data becomes an Unknown finding, not a crash.</summary>
    public static IReadOnlyList<ScopedFinding> Run(IEnumerable<string> names, ClusterView view)
    {
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        var findings = new List<ScopedFinding>();
        foreach (var check in All.Where(c => wanted.Contains(c.Name)))
        {
            try
            {
                findings.AddRange(check.Run(view));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                findings.Add(new(FindingFactory.Unknown(check.Name, "check error", $"The {check.Name} check could not evaluate the cluster: {e.Message}")));
            }
        }
        return findings;
    }
}

/// <summary>Short constructors for findings, so checks read as their rules.</summary>
public static class FindingFactory
{
    public static Finding Make(string check, Severity severity, string cause, string message,
        IEnumerable<string>? evidence = null, string? remediation = null, string? autoAction = null) => new()
    {
        Check = check,
        Severity = severity,
        Cause = cause,
        Message = message,
        Evidence = evidence?.ToList() ?? [],
        Remediation = remediation,
        AutoAction = autoAction,
    };

    public static Finding Unknown(string check, string cause, string message, IEnumerable<string>? evidence = null) =>
        Make(check, Severity.Unknown, cause, message, evidence);
}
