using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using NetDiag.LabCluster.Nodes;

namespace NetDiag.LabCluster.KubeSystem;

/// <summary>
/// The kube-system objects a kubeadm cluster with flannel has, shaped as the upstream manifests of
/// the Kubernetes 1.20 era (kube-flannel.yml, kubeadm's CoreDNS and kube-proxy addons), with values
/// matching the lab: flannel's Network and VXLAN port, CoreDNS replicas where the lab's DNS servers
/// run, the kube-dns ClusterIP the lab's nodes route. Pure builders.
/// </summary>
public static class KubeSystemObjects
{
    public const string Namespace = "kube-system";
    public const string FlannelConfigMap = "kube-flannel-cfg";
    public const string FlannelDaemonSet = "kube-flannel-ds";
    public const string FlannelImage = "quay.io/coreos/flannel:v0.13.0";
    public const string CoreDnsDeployment = "coredns";
    public const string CoreDnsConfigMap = "coredns";
    public const string CoreDnsImage = "k8s.gcr.io/coredns:1.7.0";
    public const string KubeDnsService = "kube-dns";
    public const string KubeProxyDaemonSet = "kube-proxy";
    public const string KubeProxyConfigMap = "kube-proxy";
    public const string KubeProxyImage = "k8s.gcr.io/kube-proxy:v1.20.2";

    /// <summary>Every object in creation order (ServiceAccounts and ConfigMaps before their users).</summary>
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> All(LabTopology lab, string labName, string apiServerUrl) =>
    [
        ServiceAccount("flannel", labName),
        ServiceAccount("coredns", labName),
        ServiceAccount("kube-proxy", labName),
        FlannelConfig(lab, labName),
        CoreDnsConfig(lab, labName),
        KubeProxyConfig(lab, labName, apiServerUrl),
        KubeDns(lab, labName),
        Flannel(labName),
        CoreDns(lab, labName),
        KubeProxy(labName),
    ];

    public static V1ServiceAccount ServiceAccount(string name, string labName) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = Meta(name, labName),
    };

    /// <summary>The net-conf.json flannel reads: Network and Backend (Type, Port).</summary>
    public static string NetConf(string network, string backendType, int port)
    {
        var backend = new JsonObject { ["Type"] = backendType };
        if (backendType == "vxlan") backend["Port"] = port;
        return new JsonObject { ["Network"] = network, ["Backend"] = backend }
            .ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public static V1ConfigMap FlannelConfig(LabTopology lab, string labName) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = Meta(FlannelConfigMap, labName, new() { ["app"] = "flannel", ["tier"] = "node" }),
        Data = new Dictionary<string, string>
        {
            ["cni-conf.json"] = """
                {
                  "name": "cbr0",
                  "cniVersion": "0.3.1",
                  "plugins": [
                    { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
                    { "type": "portmap", "capabilities": { "portMappings": true } }
                  ]
                }
                """,
            ["net-conf.json"] = NetConf(lab.FlannelNetwork, lab.FlannelBackend, lab.VxlanPort),
        },
    };

    public static V1DaemonSet Flannel(string labName)
    {
        var labels = new Dictionary<string, string> { ["app"] = "flannel", ["tier"] = "node" };
        return new V1DaemonSet
        {
            ApiVersion = "apps/v1",
            Kind = "DaemonSet",
            Metadata = Meta(FlannelDaemonSet, labName, labels),
            Spec = new V1DaemonSetSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(labels) },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = WithLab(labels, labName) },
                    Spec = new V1PodSpec
                    {
                        HostNetwork = true,
                        PriorityClassName = "system-node-critical",
                        ServiceAccountName = "flannel",
                        // the stand-in talks to no API server: no token to wait for
                        AutomountServiceAccountToken = false,
                        Tolerations = [new V1Toleration { OperatorProperty = "Exists", Effect = "NoSchedule" }],
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "kube-flannel",
                                Image = FlannelImage,
                                Command = ["/opt/bin/flanneld"],
                                Args = ["--ip-masq", "--kube-subnet-mgr"],
                                SecurityContext = new V1SecurityContext
                                {
                                    Privileged = false,
                                    Capabilities = new V1Capabilities { Add = ["NET_ADMIN", "NET_RAW"] },
                                },
                                Env =
                                [
                                    new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                                    new V1EnvVar { Name = "POD_NAMESPACE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
                                ],
                                VolumeMounts =
                                [
                                    new V1VolumeMount { Name = "run", MountPath = "/run/flannel" },
                                    new V1VolumeMount { Name = "flannel-cfg", MountPath = "/etc/kube-flannel/" },
                                ],
                            },
                        ],
                        Volumes =
                        [
                            new V1Volume { Name = "run", HostPath = new V1HostPathVolumeSource { Path = "/run/flannel" } },
                            new V1Volume { Name = "cni", HostPath = new V1HostPathVolumeSource { Path = "/etc/cni/net.d" } },
                            new V1Volume { Name = "flannel-cfg", ConfigMap = new V1ConfigMapVolumeSource { Name = FlannelConfigMap } },
                        ],
                    },
                },
            },
        };
    }

    /// <summary>kubeadm's Corefile: forwards to the node's /etc/resolv.conf, the dnsLoop trap.</summary>
    public static string Corefile(string clusterDomain) => $$"""
        .:53 {
            errors
            health {
               lameduck 5s
            }
            ready
            kubernetes {{clusterDomain}} in-addr.arpa ip6.arpa {
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }
            prometheus :9153
            forward . /etc/resolv.conf {
               max_concurrent 1000
            }
            cache 30
            loop
            reload
            loadbalance
        }

        """;

    public static V1ConfigMap CoreDnsConfig(LabTopology lab, string labName) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = Meta(CoreDnsConfigMap, labName),
        Data = new Dictionary<string, string> { ["Corefile"] = Corefile(lab.ClusterDomain) },
    };

    public static V1Deployment CoreDns(LabTopology lab, string labName)
    {
        var selector = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" };
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Meta(CoreDnsDeployment, labName, new(selector)),
            Spec = new V1DeploymentSpec
            {
                Replicas = lab.CoreDns.Count,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(selector) },
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    // a restart replaces every replica at once: the lab has exactly one DNS server per slot
                    RollingUpdate = new V1RollingUpdateDeployment { MaxUnavailable = "100%", MaxSurge = 0 },
                },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = WithLab(selector, labName) },
                    Spec = new V1PodSpec
                    {
                        PriorityClassName = "system-cluster-critical",
                        ServiceAccountName = "coredns",
                        AutomountServiceAccountToken = false,
                        DnsPolicy = "Default",
                        NodeSelector = new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" },
                        Tolerations = [new V1Toleration { Key = "CriticalAddonsOnly", OperatorProperty = "Exists" }],
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "coredns",
                                Image = CoreDnsImage,
                                Args = ["-conf", "/etc/coredns/Corefile"],
                                Ports =
                                [
                                    new V1ContainerPort { Name = "dns", ContainerPort = 53, Protocol = "UDP" },
                                    new V1ContainerPort { Name = "dns-tcp", ContainerPort = 53, Protocol = "TCP" },
                                    new V1ContainerPort { Name = "metrics", ContainerPort = 9153, Protocol = "TCP" },
                                ],
                                VolumeMounts = [new V1VolumeMount { Name = "config-volume", MountPath = "/etc/coredns", ReadOnlyProperty = true }],
                                LivenessProbe = new V1Probe
                                {
                                    HttpGet = new V1HTTPGetAction { Path = "/health", Port = 8080, Scheme = "HTTP" },
                                    InitialDelaySeconds = 60, TimeoutSeconds = 5, FailureThreshold = 5,
                                },
                                ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/ready", Port = 8181, Scheme = "HTTP" } },
                            },
                        ],
                        Volumes =
                        [
                            new V1Volume
                            {
                                Name = "config-volume",
                                ConfigMap = new V1ConfigMapVolumeSource { Name = CoreDnsConfigMap, Items = [new V1KeyToPath { Key = "Corefile", Path = "Corefile" }] },
                            },
                        ],
                    },
                },
            },
        };
    }

    public static V1Service KubeDns(LabTopology lab, string labName) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Meta(KubeDnsService, labName, new()
        {
            ["k8s-app"] = "kube-dns",
            ["kubernetes.io/cluster-service"] = "true",
            ["kubernetes.io/name"] = "CoreDNS",
        }),
        Spec = new V1ServiceSpec
        {
            ClusterIP = lab.KubeDnsServiceIp,
            Selector = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" },
            Ports =
            [
                new V1ServicePort { Name = "dns", Port = 53, Protocol = "UDP", TargetPort = 53 },
                new V1ServicePort { Name = "dns-tcp", Port = 53, Protocol = "TCP", TargetPort = 53 },
                new V1ServicePort { Name = "metrics", Port = 9153, Protocol = "TCP", TargetPort = 9153 },
            ],
        },
    };

    public static V1ConfigMap KubeProxyConfig(LabTopology lab, string labName, string apiServerUrl) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = Meta(KubeProxyConfigMap, labName, new() { ["app"] = "kube-proxy" }),
        Data = new Dictionary<string, string>
        {
            ["config.conf"] = $"""
                apiVersion: kubeproxy.config.k8s.io/v1alpha1
                bindAddress: 0.0.0.0
                clientConnection:
                  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
                clusterCIDR: {lab.FlannelNetwork}
                healthzBindAddress: 0.0.0.0:10256
                kind: KubeProxyConfiguration
                metricsBindAddress: 0.0.0.0:10249
                mode: iptables
                iptables:
                  masqueradeAll: false
                  syncPeriod: 30s

                """,
            ["kubeconfig.conf"] = $"""
                apiVersion: v1
                kind: Config
                clusters:
                - cluster:
                    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
                    server: {apiServerUrl}
                  name: default
                contexts:
                - context:
                    cluster: default
                    namespace: default
                    user: default
                  name: default
                current-context: default
                users:
                - name: default
                  user:
                    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token

                """,
        },
    };

    public static V1DaemonSet KubeProxy(string labName)
    {
        var labels = new Dictionary<string, string> { ["k8s-app"] = "kube-proxy" };
        return new V1DaemonSet
        {
            ApiVersion = "apps/v1",
            Kind = "DaemonSet",
            Metadata = Meta(KubeProxyDaemonSet, labName, labels),
            Spec = new V1DaemonSetSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(labels) },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = WithLab(labels, labName) },
                    Spec = new V1PodSpec
                    {
                        HostNetwork = true,
                        PriorityClassName = "system-node-critical",
                        ServiceAccountName = "kube-proxy",
                        AutomountServiceAccountToken = false,
                        NodeSelector = new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" },
                        Tolerations = [new V1Toleration { OperatorProperty = "Exists" }],
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "kube-proxy",
                                Image = KubeProxyImage,
                                Command = ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"],
                                Env = [new V1EnvVar { Name = "NODE_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "spec.nodeName" } } }],
                                SecurityContext = new V1SecurityContext { Privileged = true },
                                VolumeMounts = [new V1VolumeMount { Name = "kube-proxy", MountPath = "/var/lib/kube-proxy" }],
                            },
                        ],
                        Volumes = [new V1Volume { Name = "kube-proxy", ConfigMap = new V1ConfigMapVolumeSource { Name = KubeProxyConfigMap } }],
                    },
                },
            },
        };
    }

    /// <summary>Which stand-in a kube-system pod is, from its owner's labels; null for any other pod.</summary>
    public static StandIn? StandInOf(V1Pod pod)
    {
        if (pod.Metadata?.NamespaceProperty != Namespace) return null;
        var labels = pod.Metadata.Labels ?? new Dictionary<string, string>();
        if (labels.TryGetValue("app", out var app) && app == "flannel") return StandIn.Flannel;
        if (labels.TryGetValue("k8s-app", out var k) && k == "kube-dns") return StandIn.CoreDns;
        if (k == "kube-proxy") return StandIn.KubeProxy;
        return null;
    }

    private static V1ObjectMeta Meta(string name, string labName, Dictionary<string, string>? labels = null) => new()
    {
        Name = name,
        NamespaceProperty = Namespace,
        Labels = WithLab(labels ?? [], labName),
    };

    private static Dictionary<string, string> WithLab(IDictionary<string, string> labels, string labName) =>
        new(labels) { [NodeObjects.LabLabel] = labName };
}

/// <summary>The kube-system components the lab stands in for.</summary>
public enum StandIn
{
    Flannel,
    CoreDns,
    KubeProxy,
}
