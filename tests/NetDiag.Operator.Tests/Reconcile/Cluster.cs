using k8s.Models;
using NetDiag.Entities.Api;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Kubernetes;

namespace NetDiag.Operator.Tests.Reconcile;

/// <summary>Builders for API objects as a real cluster holds them, for the pure-function table tests.</summary>
internal static class Cluster
{
    public static V1Node Node(string name, string? podCidr = null, string? ip = null, bool ready = true, IDictionary<string, string>? labels = null,
        string? readyMessage = null, bool networkUnavailable = false)
    {
        var conditions = new List<V1NodeCondition>
        {
            new() { Type = "Ready", Status = ready ? "True" : "False", Reason = ready ? "KubeletReady" : "KubeletNotReady", Message = readyMessage ?? (ready ? "kubelet is posting ready status" : "Kubelet stopped posting node status.") },
        };
        if (networkUnavailable) conditions.Add(new() { Type = "NetworkUnavailable", Status = "True", Reason = "NoRouteCreated", Message = "Node created without a route" });
        return new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = labels ?? new Dictionary<string, string> { ["kubernetes.io/hostname"] = name } },
            Spec = new V1NodeSpec { PodCIDR = podCidr, PodCIDRs = podCidr is null ? null : [podCidr] },
            Status = new V1NodeStatus
            {
                Addresses = ip is null ? null : [new V1NodeAddress { Type = "InternalIP", Address = ip }],
                Conditions = conditions,
            },
        };
    }

    public static V1Pod Pod(string ns, string name, string? node = null, string phase = "Running", bool ready = true,
        IDictionary<string, string>? labels = null, string? waiting = null, int restarts = 0, string? podIp = null, string? ownerDaemonSet = null)
    {
        return new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = ns,
                Labels = labels ?? new Dictionary<string, string>(),
                CreationTimestamp = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc),
                OwnerReferences = ownerDaemonSet is null ? null : [new V1OwnerReference { Kind = "DaemonSet", Name = ownerDaemonSet, ApiVersion = "apps/v1", Uid = "ds-uid" }],
            },
            Spec = new V1PodSpec { NodeName = node, Containers = [new V1Container { Name = "c", Image = "img" }] },
            Status = new V1PodStatus
            {
                Phase = phase,
                PodIP = podIp,
                Conditions = phase == "Pending" && node is null
                    ? [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate." }]
                    : [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
                ContainerStatuses = phase == "Pending" ? null :
                [
                    new V1ContainerStatus
                    {
                        Name = "c", Image = "img", ImageID = "", Ready = ready, RestartCount = restarts,
                        State = waiting is null ? new V1ContainerState { Running = new V1ContainerStateRunning() } : new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = waiting } },
                        LastState = restarts > 0 ? new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error" } } : null,
                    },
                ],
            },
        };
    }

    public static V1Pod CoreDns(string name, string? node = "n1", string phase = "Running", bool ready = true, string? waiting = null, int restarts = 0, string? ip = "10.244.0.10") =>
        Pod("kube-system", name, node, phase, ready, new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }, waiting, restarts, ip);

    public static V1DaemonSet DaemonSet(string ns, string name, IDictionary<string, string>? selector = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1DaemonSetSpec { Selector = new V1LabelSelector { MatchLabels = selector ?? new Dictionary<string, string> { ["app"] = name } } },
        Status = new V1DaemonSetStatus { DesiredNumberScheduled = 3, NumberReady = 2 },
    };

    public static V1ConfigMap ConfigMap(string ns, string name, IDictionary<string, string> data) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Data = data,
    };

    public static V1ConfigMap FlannelConfig(string network = "10.244.0.0/16", string type = "vxlan", int? port = null) =>
        ConfigMap("kube-flannel", "kube-flannel-cfg", new Dictionary<string, string>
        {
            ["net-conf.json"] = $"{{\n  \"Network\": \"{network}\",\n  \"Backend\": {{ \"Type\": \"{type}\"{(port is null ? "" : $", \"Port\": {port}")} }}\n}}",
        });

    public static V1Service Service(string ns, string name, string clusterIp, IDictionary<string, string>? selector = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec { ClusterIP = clusterIp, Selector = selector, Ports = [new V1ServicePort { Port = 53, Protocol = "UDP" }] },
    };

    public static V1Endpoints Endpoints(string ns, string name, params string[] ips) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Subsets = ips.Length == 0 ? null : [new V1EndpointSubset { Addresses = ips.Select(ip => new V1EndpointAddress { Ip = ip }).ToList() }],
    };

    /// <summary>A healthy flannel cluster of three nodes with CoreDNS, kube-proxy and kube-dns.</summary>
    public static (List<V1Node> Nodes, ClusterFacts Facts) Healthy(int nodes = 3)
    {
        var list = Enumerable.Range(1, nodes).Select(i => Node($"n{i}", $"10.244.{i}.0/24", $"192.168.50.{i + 10}")).ToList();
        var pods = new List<V1Pod>
        {
            CoreDns("coredns-a", "n1", ip: "10.244.1.2"),
            CoreDns("coredns-b", "n2", ip: "10.244.2.2"),
        };
        foreach (var n in list)
        {
            pods.Add(Pod("kube-flannel", $"kube-flannel-ds-{n.Metadata.Name}", n.Metadata.Name, labels: new Dictionary<string, string> { ["app"] = "flannel" }, ownerDaemonSet: "kube-flannel-ds"));
            pods.Add(Pod("kube-system", $"kube-proxy-{n.Metadata.Name}", n.Metadata.Name, labels: new Dictionary<string, string> { ["k8s-app"] = "kube-proxy" }, ownerDaemonSet: "kube-proxy"));
        }
        var facts = new ClusterFacts
        {
            SystemPods = pods,
            SystemDaemonSets =
            [
                DaemonSet("kube-flannel", "kube-flannel-ds", new Dictionary<string, string> { ["app"] = "flannel" }),
                DaemonSet("kube-system", "kube-proxy", new Dictionary<string, string> { ["k8s-app"] = "kube-proxy" }),
            ],
            FlannelConfig = FlannelConfig(),
            CoreDnsConfig = ConfigMap("kube-system", "coredns", new Dictionary<string, string>
            {
                ["Corefile"] = ".:53 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n       pods insecure\n    }\n    forward . /etc/resolv.conf\n    loop\n}\n",
            }),
            KubeProxyConfig = ConfigMap("kube-system", "kube-proxy", new Dictionary<string, string>
            {
                ["config.conf"] = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nclusterCIDR: 10.244.0.0/16\nmode: \"\"\n",
                ["kubeconfig.conf"] = "apiVersion: v1\nkind: Config\n",
            }),
            KubeDnsService = Service("kube-system", "kube-dns", "10.96.0.10", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }),
            KubeDnsEndpoints = Endpoints("kube-system", "kube-dns", "10.244.1.2", "10.244.2.2"),
            KubernetesService = Service("default", "kubernetes", "10.96.0.1"),
        };
        return (list, facts);
    }

    public static ClusterView View(List<V1Node> nodes, ClusterFacts facts) => new(nodes, nodes, facts);

    public static V1alpha1NetworkDiagnosis Diagnosis(string name = "flannel-cluster", long generation = 1, NetworkDiagnosisSpec? spec = null, NetworkDiagnosisStatus? status = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Uid = "3f1c0d6e-0000-4000-8000-00000000abcd", Generation = generation },
        Spec = spec ?? new NetworkDiagnosisSpec(),
        Status = status,
    };
}
