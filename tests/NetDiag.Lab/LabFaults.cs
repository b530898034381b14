namespace NetDiag.Lab;

/// <summary>
/// Fault names for <see cref="LabCluster.InjectFaultAsync"/>: the check names of checks.md
/// whose trouble the lab can make real. Faults can be combined on different nodes.
/// </summary>
public static class LabFaults
{
    /// <summary>Runtime net.ipv4.ip_forward = 0 in the node, and a sysctl.d drop-in (sorting after
    /// 99-kubernetes.conf) that sets it to 0, so the file check names file:line.</summary>
    public const string IpForward = "ipForward";

    /// <summary>net.bridge.bridge-nf-call-iptables = 0 in the node (per network namespace on this kernel).</summary>
    public const string BridgeNetfilter = "bridgeNetfilter";

    /// <summary><c>iptables -A INPUT -p udp --dport &lt;VxlanPort&gt; -j DROP</c> in the node: overlay dead, underlay fine.</summary>
    public const string FlannelPort = "flannelPort";

    /// <summary>firewalld-style chains and <c>-j REJECT --reject-with icmp-host-prohibited</c> at the
    /// top of FORWARD (before the Kubernetes/flannel ACCEPT rules), plus a "firewalld" process.</summary>
    public const string Firewall = "firewall";

    /// <summary>A process named qaxsafed (Qi-An-Xin) running in the node.</summary>
    public const string SecuritySoftware = "securitySoftware";

    /// <summary>The node's conntrack table filled above 90% of nf_conntrack_max with real entries.</summary>
    public const string Conntrack = "conntrack";

    /// <summary>The node's host-root etc/resolv.conf names nameserver 127.0.0.53 (systemd-resolved stub).</summary>
    public const string DnsLoop = "dnsLoop";

    /// <summary>The dnsmasq of the CoreDNS pod on that node is stopped: one DNS target is dead.</summary>
    public const string DnsDead = "dnsDead";

    /// <summary>The :9153 metrics listener of the CoreDNS pod on that node is stopped.</summary>
    public const string MetricsDead = "metricsDead";

    /// <summary>The node's underlay (eth0, and its port on the underlay bridge) at MTU 1400 while
    /// flannel.1 stays at 1450: overlay MTU above underlay − 50, large packets toward the node vanish.</summary>
    public const string Mtu = "mtu";

    /// <summary>Every fault name.</summary>
    public static readonly IReadOnlyList<string> All =
        [IpForward, BridgeNetfilter, FlannelPort, Firewall, SecuritySoftware, Conntrack, DnsLoop, DnsDead, MetricsDead, Mtu];

    /// <summary>Returns the canonical name or throws ArgumentException listing the valid names.</summary>
    public static string Validate(string fault)
    {
        var match = All.FirstOrDefault(f => string.Equals(f, fault, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new ArgumentException(
            $"Unknown lab fault '{fault}'. Valid faults: {string.Join(", ", All)}.", nameof(fault));
    }

    /// <summary>Underlay MTU set by the <see cref="Mtu"/> fault.</summary>
    public const int FaultUnderlayMtu = 1400;

    /// <summary>Name of the process started by <see cref="SecuritySoftware"/>.</summary>
    public const string SecurityProcessName = "qaxsafed";

    /// <summary>The conntrack fault fills the table to at least this share of nf_conntrack_max.</summary>
    public const double ConntrackFillRatio = 0.92;
}
