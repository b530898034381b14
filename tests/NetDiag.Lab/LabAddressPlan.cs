namespace NetDiag.Lab;

/// <summary>
/// Every address, name and MAC of a lab, computed from the lab index and node count alone (pure),
/// so the topology scripts, the faults and the tests agree without asking the kernel.
/// <code>
///   underlay  172.28.I.0/24     bridge .1 (in the "&lt;lab&gt;-underlay" namespace), node k = .(10+k)
///   pods      10.(244+I).0.0/16 node k podCIDR 10.(244+I).k.0/24: .0 flannel.1, .1 cni0,
///                               .2 workload pod "pod-a", .3 CoreDNS pod (nodes 1 and 2)
///   services  10.(96+I).0.0/16  .0.1 kubernetes, .0.10 kube-dns
/// </code>
/// </summary>
public sealed record LabAddressPlan(int Index, int NodeCount)
{
    public const int UnderlayMtu = 1500;
    /// <summary>VXLAN costs 50 bytes (outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14).</summary>
    public const int VxlanOverhead = 50;
    public const int OverlayMtu = UnderlayMtu - VxlanOverhead;

    public string UnderlayCidr => $"172.28.{Index}.0/24";
    public string UnderlayGatewayIp => $"172.28.{Index}.1";
    public string FlannelNetwork => $"10.{244 + Index}.0.0/16";
    public string ServiceCidr => $"10.{96 + Index}.0.0/16";
    public string KubernetesServiceIp => $"10.{96 + Index}.0.1";
    public string KubeDnsServiceIp => $"10.{96 + Index}.0.10";

    public static string NodeName(int k) => $"node-{k}";
    public string NodeIp(int k) => $"172.28.{Index}.{10 + k}";
    public string PodCidr(int k) => $"10.{244 + Index}.{k}.0/24";
    public string OverlayIp(int k) => $"10.{244 + Index}.{k}.0";
    public string GatewayIp(int k) => $"10.{244 + Index}.{k}.1";
    public string WorkloadPodIp(int k) => $"10.{244 + Index}.{k}.2";
    public string CoreDnsPodIp(int k) => $"10.{244 + Index}.{k}.3";

    /// <summary>Fixed flannel.1 MAC per node (locally administered), so peers' neighbour and FDB
    /// entries can be written before the device exists and survive <c>RebuildOverlayAsync</c>.</summary>
    public string FlannelMac(int k) => $"0e:6c:{Index:x2}:00:{k / 256:x2}:{k % 256:x2}";

    /// <summary>Nodes that host a CoreDNS pod: node-1 and node-2 (only node-1 in a one-node lab).</summary>
    public IReadOnlyList<int> CoreDnsNodes => NodeCount >= 2 ? [1, 2] : [1];
}
