namespace NetDiag.Entities.Reports;

/// <summary>
/// Keys of <see cref="Finding.Data"/>: the structured values an auto action needs, written by the
/// check (probe or operator side) that found the fault and read by the remediation. Values are
/// strings; lists are comma-separated. A missing key never breaks anything: the action is then
/// reported as not possible, with the key named.
/// </summary>
public static class FindingDataKeys
{
    /// <summary>flannelPort: the VXLAN UDP port flannel uses now (e.g. <c>8472</c>).</summary>
    public const string BackendPort = "backendPort";

    /// <summary>flannelPort: a UDP port the probe found passing between the nodes (e.g. <c>8475</c>).</summary>
    public const string PassingPort = "passingPort";

    /// <summary>flannelPort: <c>true</c> when every node shares one L2 segment (host-gw would work).</summary>
    public const string SameL2Segment = "sameL2Segment";

    /// <summary>flannelPort / podCidrOverlap: namespace of <c>kube-flannel-cfg</c> (<c>kube-flannel</c> or <c>kube-system</c>).</summary>
    public const string FlannelNamespace = "flannelNamespace";

    /// <summary>dnsLoop: the non-loopback nameservers found on the node (comma-separated IPs).</summary>
    public const string Upstreams = "upstreams";

    /// <summary>conntrack: <c>nf_conntrack_max</c> on the node.</summary>
    public const string ConntrackMax = "conntrackMax";

    /// <summary>conntrack: <c>nf_conntrack_count</c> on the node.</summary>
    public const string ConntrackCount = "conntrackCount";

    /// <summary>ipForward / bridgeNetfilter: the current value (<c>0</c>, <c>1</c>, or <c>absent</c>).</summary>
    public const string Value = "value";
}
