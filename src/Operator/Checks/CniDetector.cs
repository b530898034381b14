using k8s.Models;

namespace NetDiag.Operator.Checks;

/// <summary>The CNI plugins the checks know by their DaemonSet.</summary>
public enum CniKind
{
    None,
    Flannel,
    Calico,
    Cilium,
    Weave,
}

/// <summary>The detected CNI and the DaemonSet that runs it (null when none was recognised).</summary>
public sealed record DetectedCni(CniKind Kind, V1DaemonSet? DaemonSet)
{
    public string Name => Kind.ToString().ToLowerInvariant();
}

/// <summary>Recognises the CNI by its DaemonSet's name, as the seeds do with <c>kubectl get ds -n kube-system</c>.</summary>
public static class CniDetector
{
    private static readonly (CniKind Kind, string[] Names)[] Known =
    [
        (CniKind.Flannel, ["kube-flannel-ds", "kube-flannel", "flannel"]),
        (CniKind.Calico, ["calico-node"]),
        (CniKind.Cilium, ["cilium"]),
        (CniKind.Weave, ["weave-net"]),
    ];

    public static DetectedCni Detect(IEnumerable<V1DaemonSet> daemonSets)
    {
        var list = daemonSets.ToList();
        foreach (var (kind, names) in Known)
        {
            // Exact names first, then a name prefix (kube-flannel-ds-amd64 in old manifests).
            var ds = list.FirstOrDefault(d => names.Contains(d.Metadata?.Name))
                     ?? list.FirstOrDefault(d => names.Any(n => d.Metadata?.Name?.StartsWith(n + "-", StringComparison.Ordinal) == true));
            if (ds is not null) return new DetectedCni(kind, ds);
        }
        return new DetectedCni(CniKind.None, null);
    }
}
