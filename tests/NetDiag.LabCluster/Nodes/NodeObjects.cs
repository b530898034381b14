using k8s.Models;

namespace NetDiag.LabCluster.Nodes;

/// <summary>
/// Node objects for lab nodes, built as a kubelet registers itself: labels, podCIDR(s), addresses,
/// capacity, a Ready condition and the kubelet endpoint the API server dials for logs.
/// </summary>
public static class NodeObjects
{
    /// <summary>Marks objects the lab created, so a later lab (or a crashed one) can clean them up.</summary>
    public const string LabLabel = "netdiag.io/lab";

    /// <summary>
    /// The Node as first created (spec and metadata; status goes through nodes/status).
    /// </summary>
    public static V1Node Build(LabNodeInfo node, string labName) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = node.Name,
            Labels = new Dictionary<string, string>
            {
                ["kubernetes.io/hostname"] = node.Name,
                ["kubernetes.io/os"] = "linux",
                ["kubernetes.io/arch"] = "amd64",
                ["beta.kubernetes.io/os"] = "linux",
                ["beta.kubernetes.io/arch"] = "amd64",
                [LabLabel] = labName,
            },
            Annotations = new Dictionary<string, string>
            {
                // what flannel writes on its node (the vxlan backend's public IP)
                ["flannel.alpha.coreos.com/backend-type"] = "vxlan",
                ["flannel.alpha.coreos.com/public-ip"] = node.NodeIp,
                ["flannel.alpha.coreos.com/kube-subnet-manager"] = "true",
                ["node.alpha.kubernetes.io/ttl"] = "0",
            },
        },
        Spec = new V1NodeSpec
        {
            PodCIDR = node.PodCidrs.FirstOrDefault(),
            PodCIDRs = node.PodCidrs.ToList(),
        },
    };

    /// <summary>
    /// The node's status as its kubelet reports it. The API server reaches a kubelet at the first
    /// address whose type is in --kubelet-preferred-address-types (default Hostname first) and
    /// the daemon endpoint's port: the lab kubelet's log server listens on 127.0.0.1, so the
    /// Hostname address is 127.0.0.1, while InternalIP stays the lab node IP that the probes use.
    /// </summary>
    public static V1NodeStatus BuildStatus(LabNodeInfo node, int kubeletPort, DateTime now, DateTime readySince) => new()
    {
        Addresses =
        [
            new V1NodeAddress { Type = "InternalIP", Address = node.NodeIp },
            new V1NodeAddress { Type = "Hostname", Address = "127.0.0.1" },
        ],
        Capacity = Resources(),
        Allocatable = Resources(),
        Conditions = Conditions(now, readySince),
        DaemonEndpoints = new V1NodeDaemonEndpoints { KubeletEndpoint = new V1DaemonEndpoint { Port = kubeletPort } },
        NodeInfo = new V1NodeSystemInfo
        {
            Architecture = "amd64",
            OperatingSystem = "linux",
            OsImage = "NetDiag lab (network namespace)",
            KernelVersion = Environment.OSVersion.Version.ToString(),
            ContainerRuntimeVersion = "netdiag-lab://1",
            KubeletVersion = "v1.20.2",
            KubeProxyVersion = "v1.20.2",
            MachineID = node.Name,
            SystemUUID = node.Name,
            BootID = node.Name,
        },
    };

    /// <summary>The conditions a healthy kubelet reports; Ready's heartbeat is <paramref name="now"/>.</summary>
    public static List<V1NodeCondition> Conditions(DateTime now, DateTime readySince) =>
    [
        Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", now, readySince),
        Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now, readySince),
        Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", now, readySince),
        Condition("NetworkUnavailable", "False", "FlannelIsUp", "Flannel is running on this node", now, readySince),
        Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now, readySince),
    ];

    private static V1NodeCondition Condition(string type, string status, string reason, string message, DateTime now, DateTime since) => new()
    {
        Type = type,
        Status = status,
        Reason = reason,
        Message = message,
        LastHeartbeatTime = now,
        LastTransitionTime = since,
    };

    private static Dictionary<string, ResourceQuantity> Resources() => new()
    {
        ["cpu"] = new ResourceQuantity("2"),
        ["memory"] = new ResourceQuantity("4Gi"),
        ["pods"] = new ResourceQuantity("110"),
        ["ephemeral-storage"] = new ResourceQuantity("20Gi"),
    };
}
