using k8s.Models;
using NetDiag.Operator.Checks.Parsing;
using NetDiag.Operator.Kubernetes;

namespace NetDiag.Operator.Checks;

/// <summary>
/// Everything the cluster checks look at, parsed once: all nodes, the selected ones, the API facts,
/// and what was derived from them (CNI, flannel and kube-proxy config, Corefile, pod network).
/// </summary>
public sealed class ClusterView
{
    public ClusterView(IReadOnlyList<V1Node> nodes, IReadOnlyList<V1Node> selected, ClusterFacts facts)
    {
        Nodes = nodes;
        Selected = selected;
        Facts = facts;
        Cni = CniDetector.Detect(facts.SystemDaemonSets);
        Flannel = FlannelNetConf.From(facts.FlannelConfig);
        KubeProxy = KubeProxyConf.From(facts.KubeProxyConfig);
        Corefile = Corefile.From(facts.CoreDnsConfig);
        CoreDnsPods = facts.SystemPods
            .Where(p => p.Metadata?.NamespaceProperty == SystemObjects.KubeSystem
                        && p.Metadata.Labels?.TryGetValue(SystemObjects.CoreDnsLabelKey, out var v) == true
                        && v == SystemObjects.CoreDnsLabelValue)
            .OrderBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .ToList();
        PodNetwork = FindPodNetwork();
        ServiceRange = FindFlag("kube-apiserver", "--service-cluster-ip-range");
    }

    public IReadOnlyList<V1Node> Nodes { get; }
    public IReadOnlyList<V1Node> Selected { get; }
    public ClusterFacts Facts { get; }
    public DetectedCni Cni { get; }
    public FlannelNetConf? Flannel { get; }
    public KubeProxyConf? KubeProxy { get; }
    public Corefile? Corefile { get; }
    public IReadOnlyList<V1Pod> CoreDnsPods { get; }

    /// <summary>The cluster pod network and where it was read from, if any source names it.</summary>
    public (Cidr Cidr, string Source)? PodNetwork { get; }

    /// <summary>The service CIDR from the kube-apiserver static pod's flag, when that pod is visible.</summary>
    public (Cidr Cidr, string Source)? ServiceRange { get; }

    private (Cidr, string)? FindPodNetwork()
    {
        if (Flannel?.Network is { } n && Cidr.TryParse(n, out var c)) return (c, $"{SystemObjects.FlannelConfigMap} net-conf.json Network");
        if (FindFlag("kube-controller-manager", "--cluster-cidr") is { } kcm) return kcm;
        if (KubeProxy?.ClusterCidr is { } kp && Cidr.TryParse(kp.Split(',')[0], out var k)) return (k, "kube-proxy config.conf clusterCIDR");
        return null;
    }

    /// <summary>A flag of a control-plane static pod (kubeadm runs them as pods in kube-system).</summary>
    private (Cidr, string)? FindFlag(string component, string flag)
    {
        foreach (var pod in Facts.SystemPods)
        {
            if (pod.Metadata?.NamespaceProperty != SystemObjects.KubeSystem) continue;
            if (pod.Metadata.Labels?.TryGetValue("component", out var comp) != true || comp != component) continue;
            foreach (var container in pod.Spec?.Containers ?? [])
            {
                foreach (var arg in (container.Command ?? []).Concat(container.Args ?? []))
                {
                    if (!arg.StartsWith(flag + "=", StringComparison.Ordinal)) continue;
                    var value = arg[(flag.Length + 1)..].Split(',')[0];
                    if (Cidr.TryParse(value, out var cidr)) return (cidr, $"{component} {flag}");
                }
            }
        }
        return null;
    }

    /// <summary>Each selected node's name.</summary>
    public IEnumerable<string> SelectedNames => Selected.Select(n => n.Metadata.Name);
}
