using k8s.Models;

namespace NetDiag.Operator.Kubernetes;

/// <summary>
/// What the operator reads from the API once per run (not per poll) for the cluster checks and the
/// probe plans: kube-system (and CNI namespace) pods, DaemonSets, the ConfigMaps of flannel,
/// CoreDNS and kube-proxy, the kube-dns and kubernetes Services, kube-dns Endpoints and
/// EndpointSlices, Calico IPPools, the previous-container logs of crash-looping CoreDNS pods, and the
/// log tails of unhealthy CNI pods. A read that failed for a lasting reason
/// (Forbidden) is kept in <see cref="GatherErrors"/> so the checks that needed it say Unknown.
/// </summary>
public sealed record ClusterFacts
{
    public IReadOnlyList<V1Pod> SystemPods { get; init; } = [];
    public IReadOnlyList<V1DaemonSet> SystemDaemonSets { get; init; } = [];
    public V1ConfigMap? FlannelConfig { get; init; }
    public V1ConfigMap? CoreDnsConfig { get; init; }
    public V1ConfigMap? KubeProxyConfig { get; init; }
    public V1Service? KubeDnsService { get; init; }
    public V1Endpoints? KubeDnsEndpoints { get; init; }
    public V1Service? KubernetesService { get; init; }

    /// <summary>
    /// kube-dns EndpointSlices (label <c>kubernetes.io/service-name=kube-dns</c>); null when the API
    /// serves no EndpointSlices (then Endpoints is the only source) or they could not be read.
    /// </summary>
    public IReadOnlyList<V1EndpointSlice>? KubeDnsEndpointSlices { get; init; }

    /// <summary>The API version the slices were read from: discovery.k8s.io/v1 (1.21+) or v1beta1 (1.20).</summary>
    public string? EndpointSliceApi { get; init; }

    /// <summary>Calico IPPools; empty when the CRD is not installed (no Calico) or unreadable (see <see cref="GatherErrors"/>).</summary>
    public IReadOnlyList<CalicoIpPool> CalicoIpPools { get; init; } = [];

    /// <summary>Log tails of the detected CNI's pods that are not ready or restarting, by pod key (<c>ns/name</c>).</summary>
    public IReadOnlyDictionary<string, CniPodLog> CniPodLogs { get; init; } = new Dictionary<string, CniPodLog>();

    /// <summary>Previous-container log (tail) of crash-looping CoreDNS pods, by pod name; a read error as "error: ...".</summary>
    public IReadOnlyDictionary<string, string> PreviousCoreDnsLogs { get; init; } = new Dictionary<string, string>();

    /// <summary>Reads that failed for a lasting reason, keyed by what was read (e.g. <c>pods/kube-system</c>).</summary>
    public IReadOnlyDictionary<string, string> GatherErrors { get; init; } = new Dictionary<string, string>();

    /// <summary>When the facts were read.</summary>
    public DateTimeOffset ReadAt { get; init; }

    /// <summary>Facts for an empty cluster (tests, and the base of <c>with</c> expressions).</summary>
    public static ClusterFacts Empty { get; } = new();
}

/// <summary>Names of the objects the cluster checks look for.</summary>
public static class SystemObjects
{
    public const string KubeSystem = "kube-system";
    /// <summary>Newer flannel manifests install into their own namespace.</summary>
    public const string KubeFlannel = "kube-flannel";
    /// <summary>The Tigera operator installs calico here.</summary>
    public const string CalicoSystem = "calico-system";
    public static readonly IReadOnlyList<string> CniNamespaces = [KubeSystem, KubeFlannel, CalicoSystem];

    public const string FlannelConfigMap = "kube-flannel-cfg";
    public const string CoreDnsConfigMap = "coredns";
    public const string KubeProxyConfigMap = "kube-proxy";
    public const string KubeDnsService = "kube-dns";
    public const string KubernetesService = "kubernetes";
    public const string CoreDnsLabelKey = "k8s-app";
    public const string CoreDnsLabelValue = "kube-dns";
    public const string CoreDnsSelector = CoreDnsLabelKey + "=" + CoreDnsLabelValue;
    /// <summary>The label the EndpointSlice controller puts on every slice of a Service.</summary>
    public const string KubeDnsSliceSelector = "kubernetes.io/service-name=" + KubeDnsService;
    public const string EndpointSlicesSource = "endpointslices/kube-dns";
    public const string EndpointsSource = "endpoints/kube-dns";
}
