using k8s.Models;
using NetDiag.Entities;
using NetDiag.Operator.Kubernetes;
using static NetDiag.Operator.Checks.FindingFactory;

namespace NetDiag.Operator.Checks;

/// <summary>
/// kubeProxy, API half (checks.md): a ready kube-proxy pod on every selected node, and the
/// kube-proxy ConfigMap with <c>config.conf</c> and <c>kubeconfig.conf</c>. Critical. The node half
/// (listeners, rules) runs in the probe.
/// </summary>
public sealed class KubeProxyApiCheck : IClusterCheck
{
    private const string Check = CheckNames.KubeProxy;
    public string Name => Check;

    public IReadOnlyList<ScopedFinding> Run(ClusterView view)
    {
        var findings = new List<ScopedFinding>();
        var ds = view.Facts.SystemDaemonSets.FirstOrDefault(d => d.Metadata?.NamespaceProperty == SystemObjects.KubeSystem && d.Metadata.Name == "kube-proxy");
        var pods = view.Facts.SystemPods
            .Where(p => p.Metadata?.NamespaceProperty == SystemObjects.KubeSystem &&
                        (p.Metadata.Labels?.TryGetValue("k8s-app", out var v) == true && v == "kube-proxy" ||
                         p.Metadata.OwnerReferences?.Any(o => o.Kind == "DaemonSet" && o.Name == "kube-proxy") == true))
            .ToList();
        if (ds is null && pods.Count == 0)
        {
            findings.Add(new(Unknown(Check, "no kube-proxy",
                view.Cni.Kind == CniKind.Cilium
                    ? "No kube-proxy DaemonSet in kube-system; cilium may replace kube-proxy, which this check does not inspect."
                    : "No kube-proxy DaemonSet or pods in kube-system: Services cannot be checked from the API.")));
            return findings;
        }

        var byNode = pods.Where(p => p.Spec?.NodeName is not null).ToLookup(p => p.Spec!.NodeName);
        foreach (var node in view.Selected)
        {
            var name = node.Metadata.Name;
            var onNode = byNode[name].ToList();
            if (onNode.Count == 0)
            {
                findings.Add(new(Make(Check, Severity.Critical, "no kube-proxy pod",
                    $"Node {name} runs no kube-proxy pod: Service ClusterIPs do not work from it.",
                    [$"DaemonSet kube-system/kube-proxy: desired {ds?.Status?.DesiredNumberScheduled}, ready {ds?.Status?.NumberReady}"],
                    $"kubectl -n kube-system describe ds kube-proxy; kubectl describe node {name} (taints, nodeSelector)."), name));
            }
            else if (onNode.FirstOrDefault(p => !PodFacts.IsReady(p)) is { } bad)
            {
                findings.Add(new(Make(Check, Severity.Critical, "kube-proxy pod not ready",
                    $"The kube-proxy pod on node {name} is not ready{(PodFacts.WaitingReason(bad) is { } r ? $" ({r})" : "")}.",
                    new[] { $"{PodFacts.Key(bad)}: phase {bad.Status?.Phase}, restarts {PodFacts.Restarts(bad)}", PodFacts.LastTermination(bad) ?? "" }.Where(s => s.Length > 0),
                    $"kubectl -n kube-system logs {bad.Metadata.Name} --previous; kubectl -n kube-system delete pod {bad.Metadata.Name} to restart it."), name, PodFacts.Key(bad)));
            }
        }

        var conf = view.KubeProxy;
        if (view.Facts.GatherErrors.TryGetValue($"configmaps/{SystemObjects.KubeProxyConfigMap}", out var cmError))
        {
            findings.Add(new(Unknown(Check, "kube-proxy config unreadable", $"Cannot read ConfigMap kube-system/kube-proxy: {cmError}")));
        }
        else if (conf is null)
        {
            findings.Add(new(Make(Check, Severity.Critical, "kube-proxy ConfigMap missing",
                "The kube-proxy ConfigMap is missing from kube-system: kube-proxy pods cannot start with their configuration.",
                ["kubectl -n kube-system get cm kube-proxy: NotFound"],
                "kubeadm clusters: kubeadm init phase addon kube-proxy (with the cluster's kubeadm config) re-creates it."), Object: "kube-system/kube-proxy"));
        }
        else
        {
            if (!conf.HasConfig)
                findings.Add(new(Make(Check, Severity.Critical, "kube-proxy config.conf missing",
                    "The kube-proxy ConfigMap has no config.conf.", ["data keys: " + string.Join(", ", view.Facts.KubeProxyConfig?.Data?.Keys ?? [])],
                    "Restore config.conf (kubeadm init phase addon kube-proxy), then kubectl -n kube-system rollout restart ds/kube-proxy."), Object: "kube-system/kube-proxy"));
            if (!conf.HasKubeconfig)
                findings.Add(new(Make(Check, Severity.Critical, "kube-proxy kubeconfig.conf missing",
                    "The kube-proxy ConfigMap has no kubeconfig.conf: kube-proxy cannot reach the API server.", ["data keys: " + string.Join(", ", view.Facts.KubeProxyConfig?.Data?.Keys ?? [])],
                    "Restore kubeconfig.conf (kubeadm init phase addon kube-proxy), then kubectl -n kube-system rollout restart ds/kube-proxy."), Object: "kube-system/kube-proxy"));
            if (conf.ClusterCidr is { } cc && view.PodNetwork is { } pn && pn.Source.StartsWith("kube-proxy", StringComparison.Ordinal) is false &&
                Parsing.Cidr.TryParse(cc.Split(',')[0], out var kc) && kc.Text != pn.Cidr.Text)
            {
                findings.Add(new(Make(Check, Severity.Warning, "kube-proxy clusterCIDR mismatch",
                    $"kube-proxy's clusterCIDR {kc} differs from the pod network {pn.Cidr}: kube-proxy treats pod traffic as external (wrong masquerading).",
                    [$"kube-proxy config.conf clusterCIDR {cc}", $"pod network {pn.Cidr} ({pn.Source})"],
                    $"kubectl -n kube-system edit cm kube-proxy, set clusterCIDR: \"{pn.Cidr}\", then kubectl -n kube-system rollout restart ds/kube-proxy."), Object: "kube-system/kube-proxy"));
            }
        }
        return findings;
    }
}
