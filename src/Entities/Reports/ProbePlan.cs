using System.Text.Json.Serialization;

namespace NetDiag.Entities.Reports;

/// <summary>
/// What the operator tells one probe run to do. Written as JSON into the probe Job (the
/// <see cref="ProbePlan.EnvironmentVariable"/> variable) or passed by hand with <c>--plan FILE</c>.
/// Every field has a default, so a hand-written plan can be as small as <c>{"node":"n1"}</c>.
/// </summary>
public sealed record ProbePlan
{
    // Properties are settable, not init-only: System.Text.Json's source generator sets init-only
    // properties absent from the JSON to default (null), bypassing the initializers below, so a
    // sparse plan such as {"node":"n1"} would lose its defaults.
    public const string EnvironmentVariable = "NETDIAG_PROBE_PLAN";
    public const string CurrentSchemaVersion = "netdiag.io/probe-plan/v1";

    [JsonPropertyName("schemaVersion")] public string SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>The node this plan is for (the probe reports under this name).</summary>
    [JsonPropertyName("node")] public string Node { get; set; } = "";

    /// <summary>Node-level check names to run; empty means every node check.</summary>
    [JsonPropertyName("checks")] public List<string> Checks { get; set; } = [];

    /// <summary>The other nodes, for overlay and pod-CIDR reachability.</summary>
    [JsonPropertyName("peers")] public List<PeerNode> Peers { get; set; } = [];

    /// <summary>This node's own InternalIP and podCIDR, when known.</summary>
    [JsonPropertyName("self")] public PeerNode? Self { get; set; }

    [JsonPropertyName("coreDnsPodIps")] public List<string> CoreDnsPodIps { get; set; } = [];
    [JsonPropertyName("kubeDnsServiceIp")] public string? KubeDnsServiceIp { get; set; }

    /// <summary>The ClusterIP of the <c>kubernetes</c> Service: the right answer for the DNS query.</summary>
    [JsonPropertyName("kubernetesServiceIp")] public string? KubernetesServiceIp { get; set; }
    [JsonPropertyName("clusterDomain")] public string ClusterDomain { get; set; } = "cluster.local";

    /// <summary>An external name to resolve through cluster DNS; skipped when null.</summary>
    [JsonPropertyName("externalName")] public string? ExternalName { get; set; }

    /// <summary>Whether CoreDNS runs on this node (the node half of dnsLoop matters most there).</summary>
    [JsonPropertyName("runsCoreDns")] public bool RunsCoreDns { get; set; }

    /// <summary>
    /// Whether the coredns Corefile's <c>forward .</c> reads <c>/etc/resolv.conf</c>. Only then is a
    /// loopback nameserver in the node's resolv.conf the dnsLoop trap. Defaults to true (the kubeadm
    /// Corefile, and what a plan without this field meant before it existed).
    /// </summary>
    [JsonPropertyName("corednsForwardsToResolvConf")] public bool CorednsForwardsToResolvConf { get; set; } = true;

    /// <summary>The Corefile's <c>forward .</c> line as the operator read it, for evidence; null when unknown.</summary>
    [JsonPropertyName("corednsForward")] public string? CorednsForward { get; set; }

    [JsonPropertyName("flannel")] public FlannelBackend Flannel { get; set; } = new();
    [JsonPropertyName("overlayDevice")] public string OverlayDevice { get; set; } = "flannel.1";
    [JsonPropertyName("bridgeDevice")] public string BridgeDevice { get; set; } = "cni0";

    /// <summary>kube-proxy mode from its ConfigMap: iptables (default) or ipvs.</summary>
    [JsonPropertyName("kubeProxyMode")] public string? KubeProxyMode { get; set; }

    [JsonPropertyName("thresholds")] public ProbeThresholds Thresholds { get; set; } = new();
    [JsonPropertyName("timeouts")] public ProbeTimeouts Timeouts { get; set; } = new();

    /// <summary>Where the host's root is mounted (<c>/host</c> in a probe Job).</summary>
    [JsonPropertyName("hostRoot")] public string HostRoot { get; set; } = "/host";

    /// <summary>Beyond this many peers, a deterministic sample of this size is probed.</summary>
    [JsonPropertyName("maxPeers")] public int MaxPeers { get; set; } = 20;

    /// <summary>Extra security-software signatures on top of the built-in list.</summary>
    [JsonPropertyName("securitySoftware")] public List<SecuritySoftwareSignature> SecuritySoftware { get; set; } = [];
}

public sealed record PeerNode
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("nodeIp")] public string NodeIp { get; set; } = "";
    [JsonPropertyName("podCidr")] public string? PodCidr { get; set; }
}

public sealed record FlannelBackend
{
    /// <summary>vxlan, host-gw, ... (from kube-flannel-cfg net-conf.json Backend.Type).</summary>
    [JsonPropertyName("type")] public string Type { get; set; } = "vxlan";
    [JsonPropertyName("port")] public int Port { get; set; } = 8472;
    /// <summary>The cluster pod network (net-conf.json Network).</summary>
    [JsonPropertyName("network")] public string? Network { get; set; }
}

public sealed record ProbeThresholds
{
    [JsonPropertyName("conntrackWarningPercent")] public double ConntrackWarningPercent { get; set; } = 90;
    [JsonPropertyName("vxlanOverheadBytes")] public int VxlanOverheadBytes { get; set; } = 50;
}

public sealed record ProbeTimeouts
{
    /// <summary>Per target (one ping, one DNS query, one HTTP GET).</summary>
    [JsonPropertyName("perTargetMs")] public int PerTargetMs { get; set; } = 1000;
    /// <summary>Per collector that reads local state (files, iptables-save).</summary>
    [JsonPropertyName("collectorMs")] public int CollectorMs { get; set; } = 5000;
}

/// <summary>A process name that marks security software, with its vendor and what it affects.</summary>
public sealed record SecuritySoftwareSignature
{
    [JsonPropertyName("process")] public string Process { get; set; } = "";
    [JsonPropertyName("vendor")] public string Vendor { get; set; } = "";
    [JsonPropertyName("note")] public string? Note { get; set; }
}
