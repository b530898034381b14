using NetDiag.Entities.Reports;
using NetDiag.Operator.Checks;

namespace NetDiag.Operator.Planning;

/// <summary>
/// The ProbePlan for one node, from the cluster view: its peers (a deterministic sample on large
/// clusters, so a Job's plan stays small), the CoreDNS pod IPs, the kube-dns and kubernetes Service
/// ClusterIPs, flannel's backend and network, and kube-proxy's mode.
/// </summary>
public static class ProbePlanBuilder
{
    /// <summary>Peers put into one plan: the probe samples to its own <c>maxPeers</c> anyway, and every peer costs Job size.</summary>
    public const int MaxPeersInPlan = 20;

    /// <param name="externalName">spec.externalDnsName: resolved through cluster DNS by the dnsService check; null skips it.</param>
    public static ProbePlan Build(string node, ClusterView view, IReadOnlyList<string> nodeChecks, string? externalName = null)
    {
        var self = view.Nodes.FirstOrDefault(n => n.Metadata.Name == node);
        var peers = view.Nodes
            .Where(n => n.Metadata.Name != node && PodFacts.InternalIp(n) is not null)
            // Rendezvous hashing: each node gets its own stable sample, and together they cover every peer.
            .OrderBy(n => Names.Hash($"{node}|{n.Metadata.Name}", 12), StringComparer.Ordinal)
            .Take(MaxPeersInPlan)
            .OrderBy(n => n.Metadata.Name, StringComparer.Ordinal)
            .Select(ToPeer)
            .ToList();
        var coreDns = view.CoreDnsPods;
        var flannel = view.Flannel;
        return new ProbePlan
        {
            Node = node,
            Checks = nodeChecks.ToList(),
            Self = self is null ? null : ToPeer(self),
            Peers = peers,
            CoreDnsPodIps = coreDns.Where(p => p.Status?.Phase == "Running" && !string.IsNullOrEmpty(p.Status.PodIP))
                                   .Select(p => p.Status.PodIP).Distinct().ToList(),
            KubeDnsServiceIp = NullIfNone(view.Facts.KubeDnsService?.Spec?.ClusterIP),
            KubernetesServiceIp = NullIfNone(view.Facts.KubernetesService?.Spec?.ClusterIP),
            ClusterDomain = view.Corefile?.ClusterDomain ?? "cluster.local",
            ExternalName = string.IsNullOrWhiteSpace(externalName) ? null : externalName.Trim().TrimEnd('.'),
            RunsCoreDns = coreDns.Any(p => p.Spec?.NodeName == node),
            // No Corefile read (ConfigMap missing or unreadable): assume kubeadm's forward to /etc/resolv.conf,
            // so the probe still flags the trap rather than hiding it.
            CorednsForwardsToResolvConf = view.Corefile?.ForwardsToResolvConf ?? true,
            CorednsForward = view.Corefile?.ForwardLine,
            Flannel = new FlannelBackend
            {
                Type = flannel?.BackendType ?? "vxlan",
                Port = flannel?.Port ?? Checks.Parsing.FlannelNetConf.DefaultVxlanPort,
                Network = flannel?.Network ?? view.PodNetwork?.Cidr.Text,
            },
            KubeProxyMode = view.KubeProxy?.Mode,
        };
    }

    private static PeerNode ToPeer(k8s.Models.V1Node n) => new()
    {
        Name = n.Metadata.Name,
        NodeIp = PodFacts.InternalIp(n) ?? "",
        PodCidr = PodFacts.PodCidrs(n).FirstOrDefault(),
    };

    private static string? NullIfNone(string? ip) => string.IsNullOrEmpty(ip) || ip == "None" ? null : ip;
}
