using k8s.Models;

namespace NetDiag.Operator.Runtime;

/// <summary>
/// Decides whether a Node update matters to a diagnosis. Kubelets rewrite Node status every 10 s
/// (heartbeats, image lists, resource usage); reacting to those would reconcile every diagnosis
/// once per node per heartbeat. Only what can change a diagnosis counts: labels (node selectors,
/// roles), pod CIDRs, addresses, the Ready condition's status, taints, schedulability, and
/// deletion.
/// </summary>
public static class NodeChangeFilter
{
    public static bool Matters(V1Node? old, V1Node current)
    {
        if (old is null) return true;
        return !SameMap(old.Metadata?.Labels, current.Metadata?.Labels)
            || old.Metadata?.DeletionTimestamp != current.Metadata?.DeletionTimestamp
            || old.Spec?.PodCIDR != current.Spec?.PodCIDR
            || !SameList(old.Spec?.PodCIDRs, current.Spec?.PodCIDRs)
            || (old.Spec?.Unschedulable ?? false) != (current.Spec?.Unschedulable ?? false)
            || !SameList(Taints(old), Taints(current))
            || !SameList(Addresses(old), Addresses(current))
            || ReadyStatus(old) != ReadyStatus(current);
    }

    /// <summary>The status of the Ready condition ("True", "False", "Unknown"), or null if absent.</summary>
    public static string? ReadyStatus(V1Node node) =>
        node.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status;

    private static IEnumerable<string> Taints(V1Node n) =>
        n.Spec?.Taints?.Select(t => $"{t.Key}={t.Value}:{t.Effect}") ?? [];

    private static IEnumerable<string> Addresses(V1Node n) =>
        n.Status?.Addresses?.Select(a => $"{a.Type}={a.Address}") ?? [];

    private static bool SameList(IEnumerable<string>? a, IEnumerable<string>? b) =>
        (a ?? []).SequenceEqual(b ?? [], StringComparer.Ordinal);

    private static bool SameMap(IDictionary<string, string>? a, IDictionary<string, string>? b)
    {
        a ??= new Dictionary<string, string>();
        b ??= new Dictionary<string, string>();
        return a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }
}
