using k8s.Models;

namespace NetDiag.Operator.Checks;

/// <summary>Small readings of pod and node state shared by the checks.</summary>
public static class PodFacts
{
    public static string Key(V1Pod pod) => $"{pod.Metadata?.NamespaceProperty}/{pod.Metadata?.Name}";

    public static bool IsReady(V1Pod pod) =>
        pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    public static string? WaitingReason(V1Pod pod) =>
        pod.Status?.ContainerStatuses?.Select(c => c.State?.Waiting?.Reason).FirstOrDefault(r => r is not null);

    public static bool IsCrashLooping(V1Pod pod) => WaitingReason(pod) == "CrashLoopBackOff";

    public static int Restarts(V1Pod pod) => pod.Status?.ContainerStatuses?.Sum(c => c.RestartCount) ?? 0;

    public static bool IsPending(V1Pod pod) => pod.Status?.Phase == "Pending";

    /// <summary>The pod's conditions as evidence lines: <c>PodScheduled=False Unschedulable: 0/3 nodes are available</c>.</summary>
    public static IEnumerable<string> ConditionEvidence(V1Pod pod) =>
        (pod.Status?.Conditions ?? [])
            .Where(c => c.Status != "True")
            .Select(c => $"{Key(pod)}: {c.Type}={c.Status}{(c.Reason is null ? "" : " " + c.Reason)}{(c.Message is null ? "" : ": " + c.Message)}");

    public static string? LastTermination(V1Pod pod)
    {
        var t = pod.Status?.ContainerStatuses?.Select(c => c.LastState?.Terminated).FirstOrDefault(t => t is not null);
        return t is null ? null : $"last exit code {t.ExitCode}{(t.Reason is null ? "" : $" ({t.Reason})")}";
    }

    public static bool NodeReady(V1Node node) =>
        node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    public static V1NodeCondition? NodeCondition(V1Node node, string type) =>
        node.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    public static string? InternalIp(V1Node node) =>
        node.Status?.Addresses?.FirstOrDefault(a => a.Type == "InternalIP")?.Address;

    public static IReadOnlyList<string> PodCidrs(V1Node node)
    {
        var list = node.Spec?.PodCIDRs?.Where(s => !string.IsNullOrWhiteSpace(s)).ToList() ?? [];
        if (list.Count == 0 && !string.IsNullOrWhiteSpace(node.Spec?.PodCIDR)) list.Add(node.Spec.PodCIDR);
        return list;
    }
}
