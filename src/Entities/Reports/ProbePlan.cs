using System.Text.Json.Serialization;

namespace NetDiag.Entities.Reports;

/// <summary>
/// What the operator tells one probe run to do. Written as JSON into the probe Job (the
/// <see cref="ProbePlan.EnvironmentVariable"/> variable) or passed by hand with <c>--plan FILE</c>.
/// Every field has a default, so a hand-written plan can be as small as <c>{"node":"n1"}</c>.
/// </summary>
public sealed record ProbePlan
{
    public const string EnvironmentVariable = "NETDIAG_PROBE_PLAN";
    public const string CurrentSchemaVersion = "netdiag.io/probe-plan/v1";

    [JsonPropertyName("schemaVersion")] public string SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The node this plan is for (the probe reports under this name).</summary>
    [JsonPropertyName("node")] public string Node { get; init; } = "";

    /// <summary>Node-level check names to run; empty means every node check.</summary>
    [JsonPropertyName("checks")] public List<string> Checks { get; init; } = [];

    /// <summary>The other nodes, for overlay and pod-CIDR reachability.</summary>
    [JsonPropertyName("peers")] public List<PeerNode> Peers { get; init; } = [];

    /// <summary>This node's own InternalIP and podCIDR, when known.</summary>
    [JsonPropertyName("self")] public PeerNode? Self { get; init; }

    [JsonPropertyName("coreDnsPodIps")] public List<string> CoreDnsPodIps { get; init; } = [];
    [JsonPropertyName("kubeDnsServiceIp")] public string? KubeDnsServiceIp { get; init; }

    /// <summary>The ClusterIP of the <c>kubernetes</c> Service: the right answer for the DNS query.</summary>
    [JsonPropertyName("kubernetesServiceIp")] public string? KubernetesServiceIp { get; init; }
    [JsonPropertyName("clusterDomain")] public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>An external name to resolve through cluster DNS; skipped when null.</summary>
    [JsonPropertyName("externalName")] public string? ExternalName { get; init; }

    /// <summary>Whether CoreDNS runs on this node (the node half of dnsLoop matters most there).</summary>
    [JsonPropertyName("runsCoreDns")] public bool RunsCoreDns { get; init; }

    [JsonPropertyName("flannel")] public FlannelBackend Flannel { get; init; } = new();
    [JsonPropertyName("overlayDevice")] public string OverlayDevice { get; init; } = "flannel.1";
    [JsonPropertyName("bridgeDevice")] public string BridgeDevice { get; init; } = "cni0";

    /// <summary>kube-proxy mode from its ConfigMap: iptables (default) or ipvs.</summary>
    [JsonPropertyName("kubeProxyMode")] public string? KubeProxyMode { get; init; }

    [JsonPropertyName("thresholds")] public ProbeThresholds Thresholds { get; init; } = new();
    [JsonPropertyName("timeouts")] public ProbeTimeouts Timeouts { get; init; } = new();

    /// <summary>Where the host's root is mounted (<c>/host</c> in a probe Job).</summary>
    [JsonPropertyName("hostRoot")] public string HostRoot { get; init; } = "/host";

    /// <summary>Beyond this many peers, a deterministic sample of this size is probed.</summary>
    [JsonPropertyName("maxPeers")] public int MaxPeers { get; init; } = 20;

    /// <summary>Extra security-software signatures on top of the built-in list.</summary>
    [JsonPropertyName("securitySoftware")] public List<SecuritySoftwareSignature> SecuritySoftware { get; init; } = [];
}

public sealed record PeerNode
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("nodeIp")] public string NodeIp { get; init; } = "";
    [JsonPropertyName("podCidr")] public string? PodCidr { get; init; }
}

public sealed record FlannelBackend
{
    /// <summary>vxlan, host-gw, ... (from kube-flannel-cfg net-conf.json Backend.Type).</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = "vxlan";
    [JsonPropertyName("port")] public int Port { get; init; } = 8472;
    /// <summary>The cluster pod network (net-conf.json Network).</summary>
    [JsonPropertyName("network")] public string? Network { get; init; }
}

public sealed record ProbeThresholds
{
    [JsonPropertyName("conntrackWarningPercent")] public double ConntrackWarningPercent { get; init; } = 90;
    [JsonPropertyName("vxlanOverheadBytes")] public int VxlanOverheadBytes { get; init; } = 50;
}

public sealed record ProbeTimeouts
{
    /// <summary>Per target (one ping, one DNS query, one HTTP GET).</summary>
    [JsonPropertyName("perTargetMs")] public int PerTargetMs { get; init; } = 1000;
    /// <summary>Per collector that reads local state (files, iptables-save).</summary>
    [JsonPropertyName("collectorMs")] public int CollectorMs { get; init; } = 5000;
}

/// <summary>A process name that marks security software, with its vendor and what it affects.</summary>
public sealed record SecuritySoftwareSignature
{
    [JsonPropertyName("process")] public string Process { get; init; } = "";
    [JsonPropertyName("vendor")] public string Vendor { get; init; } = "";
    [JsonPropertyName("note")] public string? Note { get; init; }
}
