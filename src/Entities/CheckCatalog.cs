namespace NetDiag.Entities;

/// <summary>Where a check gathers its facts: from the Kubernetes API, on the node, or both halves.</summary>
public enum CheckScope
{
    Cluster,
    Node,
    ClusterAndNode,
}

/// <summary>One entry of the check catalog (../shared/checks.md).</summary>
/// <param name="Name">The exact string users write in <c>spec.checks</c>.</param>
/// <param name="Scope">Whether the operator, the probe, or both gather it.</param>
/// <param name="AutoAction">The auto action that can fix it, if any.</param>
public sealed record CheckInfo(string Name, CheckScope Scope, string? AutoAction, string Title);

/// <summary>
/// The check names users write in <c>spec.checks</c>, and which half (API or node probe) runs each.
/// Adding a check means one line here, a collector if new data is needed, and the pure check.
/// </summary>
public static class CheckNames
{
    public const string PodCidrOverlap = "podCidrOverlap";
    public const string DnsLoop = "dnsLoop";
    public const string CoreDnsHealth = "coreDnsHealth";
    public const string CniHealth = "cniHealth";
    public const string KubeProxy = "kubeProxy";
    public const string IpForward = "ipForward";
    public const string BridgeNetfilter = "bridgeNetfilter";
    public const string FlannelPort = "flannelPort";
    public const string PodCidrReachability = "podCidrReachability";
    public const string DnsService = "dnsService";
    public const string Firewall = "firewall";
    public const string SecuritySoftware = "securitySoftware";
    public const string Conntrack = "conntrack";
    public const string Mtu = "mtu";

    /// <summary>Pseudo-check name for a probe that did not deliver a usable report.</summary>
    public const string ProbeFailed = "probe";

    public static readonly IReadOnlyList<CheckInfo> Catalog =
    [
        new(PodCidrOverlap, CheckScope.Cluster, null, "Pod CIDR overlap"),
        new(DnsLoop, CheckScope.ClusterAndNode, ActionNames.PatchCorefileForward, "CoreDNS forwarding loop"),
        new(CoreDnsHealth, CheckScope.Cluster, ActionNames.RestartCoreDns, "CoreDNS health"),
        new(CniHealth, CheckScope.Cluster, null, "CNI health"),
        new(KubeProxy, CheckScope.ClusterAndNode, null, "kube-proxy"),
        new(IpForward, CheckScope.Node, ActionNames.EnableIpForward, "IPv4 forwarding"),
        new(BridgeNetfilter, CheckScope.Node, ActionNames.EnableBridgeNetfilter, "Bridge netfilter"),
        new(FlannelPort, CheckScope.Node, ActionNames.PatchFlannelBackend, "Flannel VXLAN port"),
        new(PodCidrReachability, CheckScope.Node, null, "Pod CIDR reachability"),
        new(DnsService, CheckScope.Node, null, "Cluster DNS service"),
        new(Firewall, CheckScope.Node, null, "Host firewall"),
        new(SecuritySoftware, CheckScope.Node, null, "Security software"),
        new(Conntrack, CheckScope.Node, ActionNames.RaiseConntrackMax, "Conntrack table"),
        new(Mtu, CheckScope.Node, null, "Overlay MTU"),
    ];

    public static readonly IReadOnlyList<string> All = Catalog.Select(c => c.Name).ToArray();

    /// <summary>Checks with a node half, run by the probe.</summary>
    public static readonly IReadOnlyList<string> NodeChecks =
        Catalog.Where(c => c.Scope != CheckScope.Cluster).Select(c => c.Name).ToArray();

    /// <summary>Checks with an API half, run by the operator.</summary>
    public static readonly IReadOnlyList<string> ClusterChecks =
        Catalog.Where(c => c.Scope != CheckScope.Node).Select(c => c.Name).ToArray();

    public static bool IsKnown(string name) => All.Contains(name, StringComparer.Ordinal);

    public static CheckInfo? Find(string name) => Catalog.FirstOrDefault(c => c.Name == name);
}

/// <summary>Auto-remediation action names (api.md, <c>spec.remediation.actions</c>).</summary>
public static class ActionNames
{
    public const string RestartCoreDns = "restartCoreDNS";
    public const string PatchCorefileForward = "patchCorefileForward";
    public const string PatchFlannelBackend = "patchFlannelBackend";
    public const string EnableIpForward = "enableIpForward";
    public const string EnableBridgeNetfilter = "enableBridgeNetfilter";
    public const string RaiseConntrackMax = "raiseConntrackMax";

    public static readonly IReadOnlyList<string> All =
    [
        RestartCoreDns, PatchCorefileForward, PatchFlannelBackend,
        EnableIpForward, EnableBridgeNetfilter, RaiseConntrackMax,
    ];
}
