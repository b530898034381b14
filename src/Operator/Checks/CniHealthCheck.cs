using k8s.Models;
using NetDiag.Entities;
using NetDiag.Operator.Checks.Parsing;
using NetDiag.Operator.Kubernetes;
using static NetDiag.Operator.Checks.FindingFactory;

namespace NetDiag.Operator.Checks;

/// <summary>
/// cniHealth (checks.md): which CNI runs (by DaemonSet), and per selected node a ready CNI pod,
/// restarts, and the node conditions NetworkUnavailable and "cni config uninitialized". Critical
/// (restarts alone: Warning). An unhealthy pod's finding carries the error lines of its log tail
/// (seed 001 §3), read once per run by the facts reader.
/// </summary>
public sealed class CniHealthCheck : IClusterCheck
{
    private const string Check = CheckNames.CniHealth;
    public string Name => Check;

    /// <summary>Restarts at or above this count mean the CNI pod is unstable.</summary>
    public const int RestartWarning = 3;

    public IReadOnlyList<ScopedFinding> Run(ClusterView view)
    {
        var findings = new List<ScopedFinding>();

        // Node conditions first: they speak even when no CNI is recognised.
        foreach (var node in view.Selected)
        {
            var name = node.Metadata.Name;
            if (PodFacts.NodeCondition(node, "NetworkUnavailable") is { Status: "True" } nu)
            {
                findings.Add(new(Make(Check, Severity.Critical, "NetworkUnavailable",
                    $"Node {name} reports NetworkUnavailable: its network plugin has not set up routes.",
                    [$"{name}: NetworkUnavailable=True {nu.Reason}: {nu.Message}"], RestartAdvice(view, name)), name));
            }
            if (PodFacts.NodeCondition(node, "Ready") is { Status: not "True" } ready &&
                (ready.Message ?? "").Contains("cni", StringComparison.OrdinalIgnoreCase))
            {
                findings.Add(new(Make(Check, Severity.Critical, "CNI not initialized",
                    $"Node {name} is NotReady because its network plugin is not ready.",
                    [$"{name}: Ready={ready.Status} {ready.Reason}: {ready.Message}"], RestartAdvice(view, name)), name));
            }
        }

        if (view.Facts.GatherErrors.TryGetValue("daemonsets", out var dsError))
        {
            findings.Add(new(Unknown(Check, "DaemonSets unreadable", $"Cannot read DaemonSets to detect the CNI: {dsError}")));
            return findings;
        }
        if (view.Cni.Kind == CniKind.None)
        {
            findings.Add(new(Unknown(Check, "no CNI detected",
                "No known CNI DaemonSet (kube-flannel-ds, calico-node, cilium, weave-net) found in kube-system, kube-flannel or calico-system.",
                [$"DaemonSets seen: {string.Join(", ", view.Facts.SystemDaemonSets.Select(d => $"{d.Metadata?.NamespaceProperty}/{d.Metadata?.Name}").DefaultIfEmpty("none"))}"])));
            return findings;
        }
        if (view.Flannel?.Error is { } flannelError)
        {
            findings.Add(new(Make(Check, Severity.Warning, "flannel config unreadable",
                $"kube-flannel-cfg cannot be read: {flannelError}. flannel falls back to defaults or fails to start.",
                [flannelError], "kubectl -n kube-flannel get cm kube-flannel-cfg -o yaml (or -n kube-system) and fix net-conf.json."),
                Object: $"{view.Facts.FlannelConfig?.Metadata?.NamespaceProperty}/{view.Facts.FlannelConfig?.Metadata?.Name}"));
        }

        var ds = view.Cni.DaemonSet!;
        var cniPods = view.Facts.SystemPods.Where(p => BelongsTo(p, ds)).ToList();
        var byNode = cniPods.Where(p => p.Spec?.NodeName is not null).ToLookup(p => p.Spec!.NodeName);
        foreach (var node in view.Selected)
        {
            var name = node.Metadata.Name;
            var onNode = byNode[name].ToList();
            if (onNode.Count == 0)
            {
                findings.Add(new(Make(Check, Severity.Critical, "no CNI pod",
                    $"Node {name} runs no {view.Cni.Name} pod: pods there get no network.",
                    [$"DaemonSet {ds.Metadata.NamespaceProperty}/{ds.Metadata.Name}: desired {ds.Status?.DesiredNumberScheduled}, ready {ds.Status?.NumberReady}"],
                    $"kubectl -n {ds.Metadata.NamespaceProperty} describe ds {ds.Metadata.Name}: check its nodeSelector, tolerations and the node's taints (kubectl describe node {name})."), name));
                continue;
            }
            foreach (var pod in onNode)
            {
                if (!PodFacts.IsReady(pod))
                {
                    findings.Add(new(Make(Check, Severity.Critical, "CNI pod not ready",
                        $"The {view.Cni.Name} pod on node {name} is not ready{(PodFacts.WaitingReason(pod) is { } r ? $" ({r})" : "")}.",
                        new[] { $"{PodFacts.Key(pod)}: phase {pod.Status?.Phase}, restarts {PodFacts.Restarts(pod)}", PodFacts.LastTermination(pod) ?? "" }
                            .Concat(LogEvidence(view, pod)).Concat(PodFacts.ConditionEvidence(pod)).Where(s => s.Length > 0),
                        RestartAdvice(view, name, pod)), name, PodFacts.Key(pod)));
                }
                else if (PodFacts.Restarts(pod) >= RestartWarning)
                {
                    findings.Add(new(Make(Check, Severity.Warning, "CNI pod restarting",
                        $"The {view.Cni.Name} pod on node {name} has restarted {PodFacts.Restarts(pod)} times.",
                        new[] { $"{PodFacts.Key(pod)}: restarts {PodFacts.Restarts(pod)}", PodFacts.LastTermination(pod) ?? "" }.Concat(LogEvidence(view, pod)).Where(s => s.Length > 0),
                        RestartAdvice(view, name, pod)), name, PodFacts.Key(pod)));
                }
            }
        }
        return findings;
    }

    /// <summary>
    /// Whether this CNI pod gets a finding, so its log tail is worth reading (the reader and the check
    /// agree). Only pods on a node: an unscheduled pod has no log (the API server answers an empty one).
    /// </summary>
    public static bool NeedsLogs(V1Pod pod) =>
        !string.IsNullOrEmpty(pod.Spec?.NodeName) && (!PodFacts.IsReady(pod) || PodFacts.Restarts(pod) >= RestartWarning);

    /// <summary>
    /// Which container's log to read: the one not ready or restarting most (weave runs two), else the
    /// first; previous=true when it restarted, since the crashed container holds the error.
    /// </summary>
    public static (string? Container, bool Previous) LogTarget(V1Pod pod)
    {
        var statuses = pod.Status?.ContainerStatuses ?? [];
        var worst = statuses.OrderBy(c => c.Ready).ThenByDescending(c => c.RestartCount).FirstOrDefault();
        var name = worst?.Name ?? pod.Spec?.Containers?.FirstOrDefault()?.Name;
        return (name, worst?.RestartCount > 0);
    }

    /// <summary>The error lines of the pod's log tail as evidence, or why there are none.</summary>
    internal static IEnumerable<string> LogEvidence(ClusterView view, V1Pod pod)
    {
        var key = PodFacts.Key(pod);
        if (!view.Facts.CniPodLogs.TryGetValue(key, out var log))
        {
            // Only pods past the per-run cap land here (the reader reads every unhealthy one up to it).
            if (view.Facts.CniPodLogs.Count >= KubernetesClusterFactsReader.MaxCniLogPods)
                yield return $"{key}: log not read (more than {KubernetesClusterFactsReader.MaxCniLogPods} unhealthy CNI pods this run)";
            yield break;
        }
        var which = $"{(log.Previous ? "previous " : "")}log{(log.Container is null ? "" : $" ({log.Container})")}";
        if (log.Error is not null)
        {
            yield return $"{key} {which} unreadable: {log.Error}";
            yield break;
        }
        var lines = CniLogErrors.Match(log.Text, MaxLogEvidence);
        if (lines.Count == 0)
        {
            yield return $"{key} {which}: no error lines in the last {KubernetesClusterFactsReader.CniLogTailLines}";
            yield break;
        }
        foreach (var line in lines) yield return $"{key} {which}: {line}";
    }

    /// <summary>Log lines per pod in a finding: the status keeps 10 evidence lines per finding.</summary>
    public const int MaxLogEvidence = 6;

    internal static bool BelongsTo(V1Pod pod, V1DaemonSet ds)
    {
        if (pod.Metadata?.NamespaceProperty != ds.Metadata?.NamespaceProperty) return false;
        if (pod.Metadata?.OwnerReferences?.Any(o => o.Kind == "DaemonSet" && o.Name == ds.Metadata?.Name) == true) return true;
        var selector = ds.Spec?.Selector?.MatchLabels;
        return selector is { Count: > 0 } && selector.All(kv => pod.Metadata?.Labels?.TryGetValue(kv.Key, out var v) == true && v == kv.Value);
    }

    private static string RestartAdvice(ClusterView view, string node, V1Pod? pod = null)
    {
        var ds = view.Cni.DaemonSet;
        var ns = ds?.Metadata?.NamespaceProperty ?? "kube-system";
        return pod is null
            ? $"Find the CNI pod on {node}: kubectl -n {ns} get pods -o wide --field-selector spec.nodeName={node}; read its log (kubectl -n {ns} logs POD) and delete it to restart it (kubectl -n {ns} delete pod POD)."
            : $"Read why: kubectl -n {ns} logs {pod.Metadata.Name} --previous; restart it: kubectl -n {ns} delete pod {pod.Metadata.Name} (the DaemonSet re-creates it on {node}).";
    }
}
