using NetDiag.Entities;
using NetDiag.Operator.Checks;

namespace NetDiag.Operator.Planning;

/// <summary>
/// Which checks a run does: those named in <c>spec.checks</c> (or, when empty, all that apply to
/// the detected CNI), split into the API halves the operator runs and the node halves the probe
/// runs, plus the checks skipped as not applicable with the reason.
/// </summary>
public sealed record CheckSelection(IReadOnlyList<string> Checks, IReadOnlyList<string> ClusterChecks, IReadOnlyList<string> NodeChecks, IReadOnlyList<string> Skipped)
{
    public static CheckSelection Resolve(IReadOnlyList<string>? requested, CniKind cni)
    {
        var explicitly = requested is { Count: > 0 };
        var names = explicitly ? requested!.Distinct(StringComparer.Ordinal).Where(CheckNames.IsKnown).ToList() : CheckNames.All.ToList();
        var run = new List<string>();
        var skipped = new List<string>();
        foreach (var name in names)
        {
            if (NotApplicable(name, cni) is { } why) skipped.Add($"{name}: {why}");
            else run.Add(name);
        }
        // Keep catalog order whatever order the user wrote.
        run = CheckNames.All.Where(run.Contains).ToList();
        return new CheckSelection(
            run,
            run.Where(CheckNames.ClusterChecks.Contains).ToList(),
            run.Where(CheckNames.NodeChecks.Contains).ToList(),
            skipped);
    }

    private static string? NotApplicable(string check, CniKind cni) => check switch
    {
        CheckNames.FlannelPort when cni != CniKind.Flannel =>
            cni == CniKind.None ? "no flannel DaemonSet found" : $"not a flannel cluster ({cni.ToString().ToLowerInvariant()} detected)",
        _ => null,
    };
}
