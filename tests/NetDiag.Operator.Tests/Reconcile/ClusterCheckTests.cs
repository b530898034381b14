using NetDiag.Entities;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Checks.Parsing;
using static NetDiag.Operator.Tests.Reconcile.Cluster;

namespace NetDiag.Operator.Tests.Reconcile;

public sealed class ClusterCheckTests
{
    private static IReadOnlyList<ScopedFinding> RunAll(ClusterView view) => ClusterChecks.Run(CheckNames.ClusterChecks, view);

    [Fact]
    public void A_healthy_flannel_cluster_has_no_cluster_findings()
    {
        var (nodes, facts) = Healthy();
        var findings = RunAll(View(nodes, facts));
        Assert.Empty(findings);
    }

    // ---------------------------------------------------------------- podCidrOverlap

    [Fact]
    public void Overlapping_node_podCIDRs_are_critical_and_name_both_nodes()
    {
        var (nodes, facts) = Healthy();
        nodes[2] = Node("n3", "10.244.1.0/25", "192.168.50.13");
        var findings = new PodCidrOverlapCheck().Run(View(nodes, facts));
        var overlap = findings.Where(f => f.Cause == "node podCIDRs overlap").ToList();
        Assert.Equal(["n1", "n3"], overlap.Select(f => f.Node).Order());
        Assert.All(overlap, f => Assert.Equal(Severity.Critical, f.Finding.Severity));
        Assert.Contains("10.244.1.0/24", overlap[0].Finding.Message);
        Assert.Contains("100.64.0.0/10", overlap[0].Finding.Remediation);
    }

    [Fact]
    public void Pod_network_containing_a_node_IP_is_critical()
    {
        var (nodes, facts) = Healthy();
        nodes = [Node("n1", "192.168.1.0/24", "192.168.0.11"), Node("n2", "192.168.2.0/24", "192.168.0.12")];
        facts = facts with { FlannelConfig = FlannelConfig("192.168.0.0/16") };
        var findings = new PodCidrOverlapCheck().Run(View(nodes, facts));
        var hit = findings.Where(f => f.Cause == "pod network contains node IP").ToList();
        Assert.Equal(["n1", "n2"], hit.Select(f => f.Node).Order());
        Assert.Contains("No route to host", hit[0].Finding.Message);
        // The suggested range must overlap nothing in this cluster.
        Assert.Contains("100.64.0.0/10 is free", hit[0].Finding.Remediation);
    }

    [Fact]
    public void Pod_network_containing_the_kubernetes_service_IP_overlaps_the_service_CIDR()
    {
        var (nodes, facts) = Healthy();
        facts = facts with { FlannelConfig = FlannelConfig("10.0.0.0/8") };
        var findings = new PodCidrOverlapCheck().Run(View(nodes, facts));
        var f = Assert.Single(findings, f => f.Cause == "pod network overlaps service CIDR");
        Assert.Contains("10.96.0.1", f.Finding.Message);
        Assert.Contains("ClusterIP proves the overlap", f.Finding.Message);
    }

    [Fact]
    public void Service_range_from_the_apiserver_flag_is_used_when_visible()
    {
        var (nodes, facts) = Healthy();
        var apiserver = Pod("kube-system", "kube-apiserver-n1", "n1", labels: new Dictionary<string, string> { ["component"] = "kube-apiserver" });
        apiserver.Spec.Containers[0].Command = ["kube-apiserver", "--service-cluster-ip-range=10.244.128.0/20"];
        facts = facts with { SystemPods = [.. facts.SystemPods, apiserver] };
        var f = Assert.Single(new PodCidrOverlapCheck().Run(View(nodes, facts)), f => f.Cause == "pod network overlaps service CIDR");
        Assert.Contains("10.244.128.0/20", f.Finding.Message);
    }

    [Fact]
    public void A_node_podCIDR_outside_the_flannel_network_is_critical()
    {
        var (nodes, facts) = Healthy();
        nodes[1] = Node("n2", "10.245.2.0/24", "192.168.50.12");
        var f = Assert.Single(new PodCidrOverlapCheck().Run(View(nodes, facts)), f => f.Cause == "podCIDR outside pod network");
        Assert.Equal("n2", f.Node);
    }

    [Fact]
    public void No_podCIDRs_and_no_pod_network_is_unknown_not_a_pass()
    {
        var nodes = new List<k8s.Models.V1Node> { Node("n1", null, "192.168.50.11") };
        var f = Assert.Single(new PodCidrOverlapCheck().Run(View(nodes, Healthy().Facts with { FlannelConfig = null, KubeProxyConfig = null })));
        Assert.Equal(Severity.Unknown, f.Finding.Severity);
    }

    [Fact]
    public void Overlap_sweep_scales_to_a_thousand_nodes_and_finds_the_one_pair()
    {
        var nodes = Enumerable.Range(0, 1000).Select(i => Node($"node-{i:D4}", $"10.{64 + i / 256}.{i % 256}.0/24", $"172.20.{i / 250}.{i % 250 + 1}")).ToList();
        nodes.Add(Node("intruder", "10.64.7.128/25", "172.20.9.9"));
        var facts = Healthy().Facts with { FlannelConfig = FlannelConfig("10.64.0.0/12"), KubeProxyConfig = null };
        var findings = new PodCidrOverlapCheck().Run(View(nodes, facts));
        Assert.Equal(["intruder", "node-0007"], findings.Select(f => f.Node).Order());
    }

    // ---------------------------------------------------------------- coreDnsHealth

    [Fact]
    public void CoreDNS_pending_points_at_the_missing_network_plugin_with_pod_conditions_as_evidence()
    {
        var (nodes, facts) = Healthy();
        facts = facts with
        {
            SystemDaemonSets = [],
            SystemPods = [CoreDns("coredns-a", null, "Pending", ready: false), CoreDns("coredns-b", null, "Pending", ready: false)],
            KubeDnsEndpoints = Endpoints("kube-system", "kube-dns"),
        };
        var findings = new CoreDnsHealthCheck().Run(View(nodes, facts));
        var pending = findings.Where(f => f.Cause == "CoreDNS Pending").ToList();
        Assert.Equal(2, pending.Count);
        Assert.Contains("no network plugin", pending[0].Finding.Message);
        Assert.Contains(pending[0].Finding.Evidence, e => e.Contains("PodScheduled=False Unschedulable"));
        Assert.Equal(["kube-system/coredns-a", "kube-system/coredns-b"], pending.Select(f => f.Object));
        Assert.Contains(findings, f => f.Cause == "kube-dns has no endpoints" && f.Finding.Message.Contains("no CoreDNS pod is Ready"));
    }

    [Fact]
    public void CoreDNS_crashloop_without_a_loop_is_coreDnsHealth_with_the_SELinux_hint()
    {
        var (nodes, facts) = Healthy();
        facts = facts with { SystemPods = [CoreDns("coredns-a", waiting: "CrashLoopBackOff", ready: false, restarts: 7)],
                             PreviousCoreDnsLogs = new Dictionary<string, string> { ["coredns-a"] = "plugin/kubernetes: permission denied\n" } };
        var f = Assert.Single(new CoreDnsHealthCheck().Run(View(nodes, facts)), f => f.Cause == "CoreDNS CrashLoopBackOff");
        Assert.Contains("allowPrivilegeEscalation", f.Finding.Remediation);
        Assert.Empty(new DnsLoopApiCheck().Run(View(nodes, facts)));
    }

    [Fact]
    public void No_CoreDNS_pods_is_unknown()
    {
        var (nodes, facts) = Healthy();
        facts = facts with { SystemPods = facts.SystemPods.Where(p => !p.Metadata.Name.StartsWith("coredns")).ToList() };
        Assert.Contains(new CoreDnsHealthCheck().Run(View(nodes, facts)), f => f.Finding.Severity == Severity.Unknown && f.Cause == "no CoreDNS pods");
    }

    [Fact]
    public void Kube_dns_selector_that_matches_no_pod_is_named_as_the_cause()
    {
        var (nodes, facts) = Healthy();
        facts = facts with
        {
            KubeDnsService = Service("kube-system", "kube-dns", "10.96.0.10", new Dictionary<string, string> { ["k8s-app"] = "coredns" }),
            KubeDnsEndpoints = Endpoints("kube-system", "kube-dns"),
        };
        var f = Assert.Single(new CoreDnsHealthCheck().Run(View(nodes, facts)));
        Assert.Equal("kube-dns has no endpoints", f.Cause);
        Assert.Contains("selector k8s-app=coredns matches no pod", f.Finding.Message);
    }

    [Fact]
    public void Missing_kube_dns_service_is_critical()
    {
        var (nodes, facts) = Healthy();
        var f = Assert.Single(new CoreDnsHealthCheck().Run(View(nodes, facts with { KubeDnsService = null })));
        Assert.Equal("kube-dns Service missing", f.Cause);
    }

    [Fact]
    public void Forbidden_pod_list_is_unknown_with_the_reason()
    {
        var (nodes, facts) = Healthy();
        facts = facts with { GatherErrors = new Dictionary<string, string> { ["pods/kube-system"] = "403 Forbidden: pods is forbidden" } };
        var f = Assert.Single(new CoreDnsHealthCheck().Run(View(nodes, facts)));
        Assert.Equal(Severity.Unknown, f.Finding.Severity);
        Assert.Contains("403 Forbidden", f.Finding.Message);
    }

    // ---------------------------------------------------------------- dnsLoop

    [Fact]
    public void Loop_line_in_the_previous_log_of_a_crashlooping_CoreDNS_is_critical_dnsLoop()
    {
        var (nodes, facts) = Healthy();
        facts = facts with
        {
            SystemPods = [CoreDns("coredns-a", "n2", waiting: "CrashLoopBackOff", ready: false, restarts: 5)],
            PreviousCoreDnsLogs = new Dictionary<string, string>
            {
                ["coredns-a"] = ".:53\n[INFO] plugin/reload: Running configuration\n[FATAL] plugin/loop: Loop (127.0.0.1:44222 -> :53) detected for zone \".\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO 4547991504243258144.3688648895315093531.\"\n",
            },
        };
        var f = Assert.Single(new DnsLoopApiCheck().Run(View(nodes, facts)));
        Assert.Equal(Severity.Critical, f.Finding.Severity);
        Assert.Equal("n2", f.Node);
        Assert.Contains(f.Finding.Evidence, e => e.Contains("Loop (127.0.0.1:44222 -> :53) detected"));
        Assert.Contains(f.Finding.Evidence, e => e == "Corefile: forward . /etc/resolv.conf");
        Assert.Contains("resolvConf: /run/systemd/resolve/resolv.conf", f.Finding.Remediation);
        Assert.Equal(ActionNames.PatchCorefileForward, f.Finding.AutoAction);
        // coreDnsHealth leaves a loop to dnsLoop.
        Assert.DoesNotContain(new CoreDnsHealthCheck().Run(View(nodes, facts)), x => x.Cause == "CoreDNS CrashLoopBackOff");
    }

    [Fact]
    public void Unreadable_previous_log_is_unknown_not_silence()
    {
        var (nodes, facts) = Healthy();
        facts = facts with { PreviousCoreDnsLogs = new Dictionary<string, string> { ["coredns-a"] = "error: 400 BadRequest: previous terminated container not found" } };
        var f = Assert.Single(new DnsLoopApiCheck().Run(View(nodes, facts)));
        Assert.Equal(Severity.Unknown, f.Finding.Severity);
    }

    // ---------------------------------------------------------------- cniHealth

    [Fact]
    public void A_node_without_a_flannel_pod_and_a_not_ready_flannel_pod_are_critical()
    {
        var (nodes, facts) = Healthy();
        var pods = facts.SystemPods.Where(p => p.Metadata.Name != "kube-flannel-ds-n2").ToList();
        pods[pods.FindIndex(p => p.Metadata.Name == "kube-flannel-ds-n3")] =
            Pod("kube-flannel", "kube-flannel-ds-n3", "n3", ready: false, waiting: "CrashLoopBackOff", restarts: 9, labels: new Dictionary<string, string> { ["app"] = "flannel" });
        var findings = new CniHealthCheck().Run(View(nodes, facts with { SystemPods = pods }));
        Assert.Equal("n2", Assert.Single(findings, f => f.Cause == "no CNI pod").Node);
        var notReady = Assert.Single(findings, f => f.Cause == "CNI pod not ready");
        Assert.Equal("n3", notReady.Node);
        Assert.Contains("kubectl -n kube-flannel delete pod kube-flannel-ds-n3", notReady.Finding.Remediation);
    }

    [Fact]
    public void Restarting_CNI_pod_is_a_warning()
    {
        var (nodes, facts) = Healthy();
        var pods = facts.SystemPods.ToList();
        pods[pods.FindIndex(p => p.Metadata.Name == "kube-flannel-ds-n1")] =
            Pod("kube-flannel", "kube-flannel-ds-n1", "n1", restarts: 4, labels: new Dictionary<string, string> { ["app"] = "flannel" });
        var f = Assert.Single(new CniHealthCheck().Run(View(nodes, facts with { SystemPods = pods })));
        Assert.Equal((Severity.Warning, "CNI pod restarting"), (f.Finding.Severity, f.Cause));
    }

    [Fact]
    public void Node_conditions_speak_even_without_a_recognised_CNI()
    {
        var (_, facts) = Healthy();
        var nodes = new List<k8s.Models.V1Node>
        {
            Node("n1", "10.244.1.0/24", "192.168.50.11", ready: false, readyMessage: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is not ready: cni config uninitialized"),
            Node("n2", "10.244.2.0/24", "192.168.50.12", networkUnavailable: true),
        };
        var findings = new CniHealthCheck().Run(View(nodes, facts with { SystemDaemonSets = [] }));
        Assert.Equal("n1", Assert.Single(findings, f => f.Cause == "CNI not initialized").Node);
        Assert.Equal("n2", Assert.Single(findings, f => f.Cause == "NetworkUnavailable").Node);
        Assert.Single(findings, f => f.Cause == "no CNI detected" && f.Finding.Severity == Severity.Unknown);
    }

    [Theory]
    [InlineData("calico-node", "kube-system", CniKind.Calico)]
    [InlineData("kube-flannel-ds-amd64", "kube-system", CniKind.Flannel)]
    [InlineData("cilium", "kube-system", CniKind.Cilium)]
    [InlineData("weave-net", "kube-system", CniKind.Weave)]
    [InlineData("something-else", "kube-system", CniKind.None)]
    public void CNI_is_detected_by_DaemonSet_name(string name, string ns, CniKind expected) =>
        Assert.Equal(expected, CniDetector.Detect([DaemonSet(ns, name)]).Kind);

    // ---------------------------------------------------------------- kubeProxy

    [Fact]
    public void Missing_kube_proxy_pod_and_kubeconfig_are_critical()
    {
        var (nodes, facts) = Healthy();
        facts = facts with
        {
            SystemPods = facts.SystemPods.Where(p => p.Metadata.Name != "kube-proxy-n3").ToList(),
            KubeProxyConfig = ConfigMap("kube-system", "kube-proxy", new Dictionary<string, string> { ["config.conf"] = "mode: ipvs\nclusterCIDR: 10.244.0.0/16\n" }),
        };
        var findings = new KubeProxyApiCheck().Run(View(nodes, facts));
        Assert.Equal("n3", Assert.Single(findings, f => f.Cause == "no kube-proxy pod").Node);
        Assert.Single(findings, f => f.Cause == "kube-proxy kubeconfig.conf missing");
    }

    [Fact]
    public void Kube_proxy_clusterCIDR_different_from_the_pod_network_is_a_warning()
    {
        var (nodes, facts) = Healthy();
        facts = facts with
        {
            KubeProxyConfig = ConfigMap("kube-system", "kube-proxy", new Dictionary<string, string> { ["config.conf"] = "clusterCIDR: 10.32.0.0/12\n", ["kubeconfig.conf"] = "x" }),
        };
        var f = Assert.Single(new KubeProxyApiCheck().Run(View(nodes, facts)));
        Assert.Equal(Severity.Warning, f.Finding.Severity);
        Assert.Contains("10.244.0.0/16", f.Finding.Remediation);
    }

    [Fact]
    public void A_check_that_cannot_decide_is_never_silent_on_an_empty_cluster()
    {
        var view = new ClusterView([], [], Kubernetes.ClusterFacts.Empty);
        var findings = RunAll(view);
        foreach (var check in new[] { CheckNames.PodCidrOverlap, CheckNames.DnsLoop, CheckNames.CoreDnsHealth, CheckNames.CniHealth, CheckNames.KubeProxy })
            Assert.Contains(findings, f => f.Check == check && f.Finding.Severity == Severity.Unknown);
    }

    // ---------------------------------------------------------------- parsing

    [Theory]
    [InlineData("{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}", "10.244.0.0/16", "vxlan", 8472, false)]
    [InlineData("{\"Network\":\"10.1.0.0/16\",\"Backend\":{\"Type\":\"VXLAN\",\"Port\":8475}}", "10.1.0.0/16", "vxlan", 8475, false)]
    [InlineData("{\"Network\":\"10.1.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}", "10.1.0.0/16", "host-gw", 8472, false)]
    [InlineData("{not json", null, "vxlan", 8472, true)]
    [InlineData("{\"Network\":\"banana\"}", "banana", "vxlan", 8472, true)]
    public void Flannel_net_conf_is_parsed_and_bad_input_is_an_error_not_a_crash(string json, string? network, string type, int port, bool error)
    {
        var c = FlannelNetConf.Parse(json);
        Assert.Equal((network, type, port, error), (c.Network, c.BackendType, c.Port, c.Error is not null));
    }

    [Theory]
    [InlineData("10.244.1.5/24", "10.244.1.0/24")]
    [InlineData("fd00::1/64", "fd00::/64")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    public void Cidr_masks_host_bits(string input, string canonical) => Assert.Equal(canonical, Cidr.Parse(input)!.Value.Text);

    [Theory]
    [InlineData("10.244.0.0/16", "10.244.3.0/24", true)]
    [InlineData("10.244.0.0/24", "10.244.1.0/24", false)]
    [InlineData("10.0.0.0/8", "fd00::/8", false)]
    public void Cidr_overlap(string a, string b, bool overlaps) => Assert.Equal(overlaps, Cidr.Parse(a)!.Value.Overlaps(Cidr.Parse(b)!.Value));

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0.0")]
    [InlineData("10.0.0.0/33")]
    [InlineData("x/8")]
    public void Cidr_rejects_garbage(string text) => Assert.False(Cidr.TryParse(text, out _));
}
