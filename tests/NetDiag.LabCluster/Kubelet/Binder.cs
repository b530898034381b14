using k8s.Models;

namespace NetDiag.LabCluster.Kubelet;

/// <summary>A node as the binder sees it.</summary>
public sealed record BindableNode(string Name, IReadOnlyDictionary<string, string> Labels, int PodCount);

/// <summary>The binder's answer: bind to <see cref="Node"/>, or leave Pending for <see cref="Why"/>.</summary>
public sealed record BindDecision(string? Node, string Why)
{
    public static BindDecision To(string node, string why) => new(node, why);
    public static BindDecision Wait(string why) => new(null, why);
}

/// <summary>
/// The lab runs no kube-scheduler; this minimal binder places the Deployment and DaemonSet pods
/// (CoreDNS, flannel, kube-proxy) the way the scheduler would for these simple cases. Honoured:
/// spec.nodeSelector, required node affinity on <c>metadata.name</c> (matchFields, what the 1.20
/// DaemonSet controller puts on each pod) and on labels (matchExpressions In/NotIn/Exists), and
/// CoreDNS replicas go to the nodes where the lab runs its DNS servers, one per node.
/// Pure: the caller passes the nodes and the CoreDNS placement.
/// </summary>
public static class Binder
{
    public const string CoreDnsLabelKey = "k8s-app";
    public const string CoreDnsLabelValue = "kube-dns";

    /// <summary>Whether the default scheduler is responsible for this pod and it is not yet bound.</summary>
    public static bool NeedsBinding(V1Pod pod) =>
        string.IsNullOrEmpty(pod.Spec?.NodeName)
        && pod.Metadata?.DeletionTimestamp is null
        && (pod.Spec?.SchedulerName is null or "" or "default-scheduler")
        && pod.Status?.Phase is null or "" or "Pending";

    /// <param name="coreDnsNodes">Nodes with a lab DNS server, in order.</param>
    /// <param name="coreDnsNodesTaken">Nodes already holding a (live) CoreDNS pod.</param>
    public static BindDecision Decide(V1Pod pod, IReadOnlyList<BindableNode> nodes, IReadOnlyList<string> coreDnsNodes, IReadOnlySet<string> coreDnsNodesTaken)
    {
        var feasible = nodes.Where(n => Fits(pod, n)).ToList();
        if (feasible.Count == 0)
            return BindDecision.Wait($"0/{nodes.Count} nodes are available: none matches the pod's node selector or affinity");

        if (IsCoreDns(pod))
        {
            var free = coreDnsNodes.Where(n => !coreDnsNodesTaken.Contains(n) && feasible.Any(f => f.Name == n)).ToList();
            return free.Count > 0
                ? BindDecision.To(free[0], "CoreDNS replica placed where the lab runs its DNS server")
                : BindDecision.Wait("every lab DNS server already has its CoreDNS pod");
        }

        // The scheduler's spreading in its simplest form: the least loaded node, by name on ties.
        var best = feasible.OrderBy(n => n.PodCount).ThenBy(n => n.Name, StringComparer.Ordinal).First();
        return BindDecision.To(best.Name, "least loaded feasible node");
    }

    public static bool IsCoreDns(V1Pod pod) =>
        pod.Metadata?.Labels?.TryGetValue(CoreDnsLabelKey, out var v) == true && v == CoreDnsLabelValue;

    /// <summary>Node selector and required node affinity; taints are not modelled (lab nodes have none).</summary>
    public static bool Fits(V1Pod pod, BindableNode node)
    {
        if (pod.Spec?.NodeSelector is { } selector
            && selector.Any(kv => !node.Labels.TryGetValue(kv.Key, out var v) || v != kv.Value))
            return false;
        var terms = pod.Spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms;
        if (terms is null || terms.Count == 0) return true;
        // Terms are ORed; within a term every requirement must hold.
        return terms.Any(t =>
            (t.MatchFields ?? []).All(r => Matches(r, f => f == "metadata.name" ? node.Name : null))
            && (t.MatchExpressions ?? []).All(r => Matches(r, k => node.Labels.TryGetValue(k, out var v) ? v : null)));
    }

    private static bool Matches(V1NodeSelectorRequirement r, Func<string, string?> value)
    {
        var actual = value(r.Key);
        var values = r.Values ?? [];
        return r.OperatorProperty switch
        {
            "In" => actual is not null && values.Contains(actual),
            "NotIn" => actual is null || !values.Contains(actual),
            "Exists" => actual is not null,
            "DoesNotExist" => actual is null,
            "Gt" => actual is not null && long.TryParse(actual, out var a) && values.Count == 1 && long.TryParse(values[0], out var b) && a > b,
            "Lt" => actual is not null && long.TryParse(actual, out var c) && values.Count == 1 && long.TryParse(values[0], out var d) && c < d,
            _ => false,
        };
    }
}
