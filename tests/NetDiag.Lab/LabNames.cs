namespace NetDiag.Lab;

/// <summary>
/// Namespace and pod names (pure). Every namespace of lab "ndl1" starts with "ndl1-", which is
/// how <see cref="LabCluster.CleanupStale"/> recognises leftovers without any state file.
/// </summary>
public static class LabNames
{
    public static string Underlay(string lab) => $"{lab}-underlay";
    public static string Node(string lab, int k) => $"{lab}-{LabAddressPlan.NodeName(k)}";
    public static string Pod(string lab, int k, string pod) => $"{lab}-{LabAddressPlan.NodeName(k)}-{pod}";

    /// <summary>The workload pod every node has (IP .2).</summary>
    public const string WorkloadPod = "pod-a";

    /// <summary>CoreDNS pod name on the i-th CoreDNS node (1-based).</summary>
    public static string CoreDnsPod(int ordinal) => $"coredns-{ordinal}";

    /// <summary>The lab a namespace belongs to: the part before the first '-'.</summary>
    public static string? LabOf(string netns)
    {
        var dash = netns.IndexOf('-');
        return dash > 0 ? netns[..dash] : null;
    }
}
