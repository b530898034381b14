namespace NetDiag.LabCluster;

/// <summary>
/// What the API must say about a lab: its nodes, the flannel network, CoreDNS and the service IPs.
/// A plain value built from the running lab, so every object builder is a pure function of it.
/// </summary>
public sealed record LabTopology
{
    public required IReadOnlyList<LabNodeInfo> Nodes { get; init; }

    /// <summary>The cluster pod network (flannel net-conf.json <c>Network</c>).</summary>
    public required string FlannelNetwork { get; init; }
    public string FlannelBackend { get; init; } = "vxlan";
    public int VxlanPort { get; init; } = 8472;

    /// <summary>The CoreDNS replicas: the lab's dnsmasq pods, with the node each runs on.</summary>
    public required IReadOnlyList<CoreDnsInstance> CoreDns { get; init; }

    public required string KubeDnsServiceIp { get; init; }
    public required string KubernetesServiceIp { get; init; }
    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>Nodes that host a CoreDNS replica.</summary>
    public IReadOnlyList<string> CoreDnsNodes => CoreDns.Select(c => c.Node).Distinct(StringComparer.Ordinal).ToList();

    public LabNodeInfo? Node(string name) => Nodes.FirstOrDefault(n => n.Name == name);
}

/// <summary>One lab node as the API shows it.</summary>
/// <param name="PodCidrs">What the Node object's spec.podCIDRs say; normally the node's real podCIDR.</param>
public sealed record LabNodeInfo(string Name, string NodeIp, IReadOnlyList<string> PodCidrs, string HostRoot);

/// <summary>A CoreDNS replica: a real DNS server (dnsmasq) in a pod namespace behind a node's cni0.</summary>
public sealed record CoreDnsInstance(string Node, string PodIp);
