using System.Text.Json;
using k8s.Models;
using NetDiag.Entities;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Checks.Parsing;
using NetDiag.Operator.Kubernetes;
using static NetDiag.Operator.Tests.Reconcile.Cluster;

namespace NetDiag.Operator.Tests.Reconcile;

/// <summary>Calico IPPools in podCidrOverlap, CNI log lines in cniHealth, EndpointSlices in coreDnsHealth.</summary>
public sealed class ClusterCheckGapTests
{
    // ---------------------------------------------------------------- podCidrOverlap: Calico IPPools

    /// <summary>A Calico cluster: calico-node in kube-system, no flannel config, kube-proxy without clusterCIDR.</summary>
    private static (List<V1Node> Nodes, ClusterFacts Facts) Calico(params CalicoIpPool[] pools)
    {
        var (nodes, facts) = Healthy();
        var pods = facts.SystemPods.Where(p => !p.Metadata.Name.StartsWith("kube-flannel", StringComparison.Ordinal))
            .Concat(nodes.Select(n => Pod("kube-system", $"calico-node-{n.Metadata.Name}", n.Metadata.Name, labels: new Dictionary<string, string> { ["k8s-app"] = "calico-node" }, ownerDaemonSet: "calico-node")))
            .ToList();
        return (nodes, facts with
        {
            SystemPods = pods,
            SystemDaemonSets = [DaemonSet("kube-system", "calico-node", new Dictionary<string, string> { ["k8s-app"] = "calico-node" }), facts.SystemDaemonSets[1]],
            FlannelConfig = null,
            KubeProxyConfig = ConfigMap("kube-system", "kube-proxy", new Dictionary<string, string> { ["config.conf"] = "mode: \"\"\n", ["kubeconfig.conf"] = "x" }),
            CalicoIpPools = pools,
        });
    }

    private static CalicoIpPool Pool(string cidr, string name = "default-ipv4-ippool", bool disabled = false) => new(name, cidr, disabled);

    public static TheoryData<string, string[], string[]> CalicoCases => new()
    {
        // pool cidr, expected causes (sorted), expected affected nodes (sorted)
        { "10.244.0.0/16", [], [] },
        // seed 001 §9: the default 192.168.0.0/16 pool swallows the nodes' LAN.
        { "192.168.0.0/16", ["Calico IPPool contains node IP", "Calico IPPool contains node IP", "Calico IPPool contains node IP",
                             "podCIDR outside Calico IPPools", "podCIDR outside Calico IPPools", "podCIDR outside Calico IPPools"], ["n1", "n2", "n3"] },
        { "10.96.0.0/12", ["Calico IPPool overlaps service CIDR",
                           "podCIDR outside Calico IPPools", "podCIDR outside Calico IPPools", "podCIDR outside Calico IPPools"], ["n1", "n2", "n3"] },
        { "10.244.1.0/24", ["podCIDR outside Calico IPPools", "podCIDR outside Calico IPPools"], ["n2", "n3"] },
    };

    [Theory]
    [MemberData(nameof(CalicoCases))]
    public void Calico_IPPool_overlaps_are_critical_like_the_flannel_ones(string poolCidr, string[] causes, string[] nodes)
    {
        var (list, facts) = Calico(Pool(poolCidr));
        var findings = new PodCidrOverlapCheck().Run(View(list, facts));
        Assert.Equal(causes, findings.Select(f => f.Cause).Order(StringComparer.Ordinal));
        Assert.Equal(nodes, findings.Select(f => f.Node).OfType<string>().Distinct().Order(StringComparer.Ordinal));
        Assert.All(findings, f => Assert.Equal(Severity.Critical, f.Finding.Severity));
    }

    [Fact]
    public void Calico_remediation_exports_the_pool_changes_spec_cidr_to_a_free_range_and_restarts_calico_node()
    {
        var (nodes, facts) = Calico(Pool("192.168.0.0/16"));
        var f = new PodCidrOverlapCheck().Run(View(nodes, facts)).First(f => f.Cause == "Calico IPPool contains node IP");
        Assert.Equal("ippools.crd.projectcalico.org/default-ipv4-ippool", f.Object);
        Assert.Contains("Calico IPPool default-ipv4-ippool 192.168.0.0/16", f.Finding.Evidence);
        Assert.Contains("No route to host", f.Finding.Message);
        var fix = f.Finding.Remediation!;
        Assert.Contains("100.64.0.0/10 is free", fix);
        Assert.Contains("kubectl get ippools.crd.projectcalico.org default-ipv4-ippool -o yaml > pool.yaml", fix);
        Assert.Contains("spec.cidr: 100.64.0.0/10", fix);
        Assert.Contains("kubectl delete ippools.crd.projectcalico.org default-ipv4-ippool; kubectl apply -f pool.yaml", fix);
        Assert.Contains("kubectl -n kube-system rollout restart ds/calico-node", fix);
    }

    [Fact]
    public void The_free_range_avoids_the_pools_themselves()
    {
        // 100.64.0.0/10 is taken by a second pool, so the next candidate is offered.
        var (nodes, facts) = Calico(Pool("192.168.0.0/16"), Pool("100.64.0.0/16", "extra"));
        var f = new PodCidrOverlapCheck().Run(View(nodes, facts)).First(f => f.Cause == "Calico IPPool contains node IP");
        Assert.Contains("172.16.0.0/12 is free", f.Finding.Remediation);
    }

    [Fact]
    public void A_disabled_pool_still_counts_for_node_IPs_but_not_for_podCIDR_coverage()
    {
        var (nodes, facts) = Calico(Pool("10.244.0.0/16"), Pool("192.168.50.0/24", "old", disabled: true));
        var findings = new PodCidrOverlapCheck().Run(View(nodes, facts));
        Assert.Equal(3, findings.Count(f => f.Cause == "Calico IPPool contains node IP" && f.Finding.Evidence.Contains("Calico IPPool old 192.168.50.0/24 (disabled)")));
        Assert.DoesNotContain(findings, f => f.Cause == "podCIDR outside Calico IPPools");
    }

    [Fact]
    public void Service_range_from_the_apiserver_flag_is_compared_with_each_pool()
    {
        var (nodes, facts) = Calico(Pool("10.244.0.0/16"), Pool("10.100.0.0/16", "svc-clash"));
        var apiserver = Pod("kube-system", "kube-apiserver-n1", "n1", labels: new Dictionary<string, string> { ["component"] = "kube-apiserver" });
        apiserver.Spec.Containers[0].Command = ["kube-apiserver", "--service-cluster-ip-range=10.100.0.0/20"];
        facts = facts with { SystemPods = [.. facts.SystemPods, apiserver] };
        var f = Assert.Single(new PodCidrOverlapCheck().Run(View(nodes, facts)));
        Assert.Equal(("Calico IPPool overlaps service CIDR", "ippools.crd.projectcalico.org/svc-clash"), (f.Cause, f.Object));
        Assert.Contains("service CIDR 10.100.0.0/20 (kube-apiserver --service-cluster-ip-range)", f.Finding.Evidence);
    }

    [Fact]
    public void An_unreadable_IPPool_list_is_unknown_for_that_source_only()
    {
        var (nodes, facts) = Healthy();
        nodes[2] = Node("n3", "10.244.1.0/25", "192.168.50.13");
        facts = facts with { GatherErrors = new Dictionary<string, string> { [CalicoIpPool.Source] = "500 InternalServerError: etcd timeout" } };
        var findings = new PodCidrOverlapCheck().Run(View(nodes, facts));
        var unknown = Assert.Single(findings, f => f.Finding.Severity == Severity.Unknown);
        Assert.Equal("Calico IPPools unreadable", unknown.Cause);
        Assert.Contains("500 InternalServerError: etcd timeout", unknown.Finding.Message);
        // The flannel and node sources were still compared.
        Assert.Equal(2, findings.Count(f => f.Cause == "node podCIDRs overlap"));
    }

    [Fact]
    public void No_Calico_CRD_is_no_finding_and_a_malformed_pool_is_a_warning_not_a_crash()
    {
        var (nodes, facts) = Healthy();
        Assert.Empty(new PodCidrOverlapCheck().Run(View(nodes, facts with { CalicoIpPools = [] })));
        var findings = new PodCidrOverlapCheck().Run(View(nodes, facts with { CalicoIpPools = [Pool("banana", "banana"), new CalicoIpPool("nocidr", null, false)] }));
        Assert.Equal(["IPPool cidr unparsable", "IPPool cidr unparsable"], findings.Select(f => f.Cause));
        Assert.All(findings, f => Assert.Equal(Severity.Warning, f.Finding.Severity));
        Assert.Equal(["ippools.crd.projectcalico.org/banana", "ippools.crd.projectcalico.org/nocidr"], findings.Select(f => f.Object!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void IPPool_list_JSON_is_parsed_and_odd_shapes_are_skipped()
    {
        var json = JsonDocument.Parse("""
            {"apiVersion":"crd.projectcalico.org/v1","kind":"IPPoolList","items":[
              {"metadata":{"name":"default-ipv4-ippool"},"spec":{"cidr":"192.168.0.0/16","ipipMode":"Always","natOutgoing":true}},
              {"metadata":{"name":"old"},"spec":{"cidr":"10.10.0.0/16","disabled":true}},
              {"metadata":{"name":"empty"}},
              42
            ]}
            """).RootElement;
        Assert.Equal(
            [new CalicoIpPool("default-ipv4-ippool", "192.168.0.0/16", false), new CalicoIpPool("empty", null, false), new CalicoIpPool("old", "10.10.0.0/16", true)],
            CalicoIpPool.ParseList(json));
        Assert.Empty(CalicoIpPool.ParseList(JsonDocument.Parse("{\"kind\":\"Status\"}").RootElement));
    }

    // ---------------------------------------------------------------- cniHealth: log lines

    [Theory]
    [InlineData("E1130 03:12:45.123456       1 main.go:330] Error registering network: failed to acquire lease: node \"n3\" pod cidr not assigned", true)]
    [InlineData("F1130 03:12:45.123456       1 main.go:360] Fatal: cannot find interface", true)]
    [InlineData("I1130 03:12:40.000000       1 main.go:520] Determining IP address of default interface", false)]
    [InlineData("I1130 03:12:40.000000       1 iptables.go:150] Some iptables rules are missing; deleting and recreating rules (failed check)", false)]
    [InlineData("time=\"2026-11-30T03:12:45Z\" level=error msg=\"Failed to sync\" error=\"connection refused\"", true)]
    [InlineData("time=\"2026-11-30T03:12:45Z\" level=info msg=\"retrying after failed attempt\"", false)]
    [InlineData("2026-11-30 03:12:45.123 [ERROR][9] felix/int_dataplane.go 1276: Failed to add route", true)]
    [InlineData("2026-11-30 03:12:45.123 [INFO][9] felix/health.go 196: Overall health status changed", false)]
    // Lower-case "error" in free text is not enough (too many "no error" lines); the capitalised word is.
    [InlineData("bird: Mesh_192_168_50_12: Socket error: bind: Address in use", false)]
    [InlineData("Error: unable to connect to the API server", true)]
    [InlineData("setup failed: exit status 1", true)]
    [InlineData("all good, no errors here", false)]
    [InlineData("   ", false)]
    public void Error_lines_are_recognised(string line, bool isError) => Assert.Equal(isError, CniLogErrors.IsError(line));

    [Fact]
    public void Match_keeps_the_last_distinct_error_lines_in_order_and_cuts_long_ones()
    {
        var log = string.Join("\n",
            "I1130 03:00:00.000000 1 main.go:1] start",
            "E1130 03:00:01.000000 1 main.go:2] first error",
            "E1130 03:00:02.000000 1 main.go:3] second error",
            "E1130 03:00:02.000000 1 main.go:3] second error",
            "level=error msg=\"" + new string('x', 400) + "\"",
            "E1130 03:00:03.000000 1 main.go:4] third error\r",
            "I1130 03:00:04.000000 1 main.go:5] still running");
        var lines = CniLogErrors.Match(log, max: 3);
        Assert.Equal(3, lines.Count);
        Assert.Equal("E1130 03:00:02.000000 1 main.go:3] second error", lines[0]);
        Assert.Equal(CniLogErrors.MaxLineLength, lines[1].Length);
        Assert.EndsWith("…", lines[1]);
        Assert.Equal("E1130 03:00:03.000000 1 main.go:4] third error", lines[2]);
        Assert.Empty(CniLogErrors.Match(null));
        Assert.Empty(CniLogErrors.Match("I1130 03:00:00.000000 1 main.go:1] fine\n"));
    }

    private static (List<V1Node>, ClusterFacts) FlannelWithBrokenPod(CniPodLog? log)
    {
        var (nodes, facts) = Healthy();
        var pods = facts.SystemPods.ToList();
        pods[pods.FindIndex(p => p.Metadata.Name == "kube-flannel-ds-n3")] =
            Pod("kube-flannel", "kube-flannel-ds-n3", "n3", ready: false, waiting: "CrashLoopBackOff", restarts: 9, labels: new Dictionary<string, string> { ["app"] = "flannel" });
        var logs = log is null ? new Dictionary<string, CniPodLog>() : new Dictionary<string, CniPodLog> { ["kube-flannel/kube-flannel-ds-n3"] = log };
        return (nodes, facts with { SystemPods = pods, CniPodLogs = logs });
    }

    [Fact]
    public void A_crashlooping_CNI_pod_carries_the_error_lines_of_its_previous_log()
    {
        var (nodes, facts) = FlannelWithBrokenPod(new CniPodLog("c", true,
            "I1130 03:12:40.000000 1 main.go:520] Determining IP address of default interface\n" +
            "E1130 03:12:45.123456 1 main.go:330] Error registering network: failed to acquire lease: node \"n3\" pod cidr not assigned\n", null));
        var f = Assert.Single(new CniHealthCheck().Run(View(nodes, facts)));
        Assert.Equal(("CNI pod not ready", "n3"), (f.Cause, f.Node));
        Assert.Contains("kube-flannel/kube-flannel-ds-n3 previous log (c): E1130 03:12:45.123456 1 main.go:330] Error registering network: failed to acquire lease: node \"n3\" pod cidr not assigned", f.Finding.Evidence);
        Assert.DoesNotContain(f.Finding.Evidence, e => e.Contains("Determining IP address"));
    }

    [Fact]
    public void A_log_read_failure_is_noted_in_the_evidence_and_the_finding_stands()
    {
        var (nodes, facts) = FlannelWithBrokenPod(new CniPodLog("c", true, null, "400 BadRequest: previous terminated container \"c\" in pod \"kube-flannel-ds-n3\" not found"));
        var f = Assert.Single(new CniHealthCheck().Run(View(nodes, facts)));
        Assert.Equal(Severity.Critical, f.Finding.Severity);
        Assert.Contains(f.Finding.Evidence, e => e.StartsWith("kube-flannel/kube-flannel-ds-n3 previous log (c) unreadable: 400 BadRequest", StringComparison.Ordinal));
    }

    [Fact]
    public void A_log_without_errors_says_so()
    {
        var (nodes, facts) = FlannelWithBrokenPod(new CniPodLog("c", true, "I1130 03:12:40.000000 1 main.go:520] all fine\n", null));
        var f = Assert.Single(new CniHealthCheck().Run(View(nodes, facts)));
        Assert.Contains("kube-flannel/kube-flannel-ds-n3 previous log (c): no error lines in the last 50", f.Finding.Evidence);
    }

    [Fact]
    public void Logs_are_wanted_only_for_pods_that_get_a_finding_and_from_the_crashed_container()
    {
        var healthy = Pod("kube-flannel", "a", "n1", labels: new Dictionary<string, string> { ["app"] = "flannel" }, restarts: 1);
        var notReady = Pod("kube-flannel", "b", "n1", ready: false);
        var restarting = Pod("kube-flannel", "c", "n1", restarts: CniHealthCheck.RestartWarning);
        var unscheduled = Pod("kube-flannel", "d", node: null, phase: "Pending", ready: false);
        Assert.Equal([false, true, true, false], new[] { healthy, notReady, restarting, unscheduled }.Select(CniHealthCheck.NeedsLogs));
        Assert.Equal(("c", false), CniHealthCheck.LogTarget(notReady));
        Assert.Equal(("c", true), CniHealthCheck.LogTarget(restarting));

        // weave-net runs two containers: the one that is not ready is read.
        var weave = Pod("kube-system", "weave-net-x", "n1", ready: false);
        weave.Status.ContainerStatuses = [
            new V1ContainerStatus { Name = "weave", Image = "i", ImageID = "", Ready = true, RestartCount = 0 },
            new V1ContainerStatus { Name = "weave-npc", Image = "i", ImageID = "", Ready = false, RestartCount = 4 },
        ];
        Assert.Equal(("weave-npc", true), CniHealthCheck.LogTarget(weave));
    }

    // ---------------------------------------------------------------- coreDnsHealth: EndpointSlices

    private static V1EndpointSlice Slice(params (string Ip, bool? Ready)[] endpoints) => new()
    {
        AddressType = "IPv4",
        Metadata = new V1ObjectMeta { Name = "kube-dns-abcde", NamespaceProperty = "kube-system", Labels = new Dictionary<string, string> { ["kubernetes.io/service-name"] = "kube-dns" } },
        Endpoints = endpoints.Select(e => new V1Endpoint { Addresses = [e.Ip], Conditions = new V1EndpointConditions { Ready = e.Ready } }).ToList(),
    };

    public static TheoryData<string, V1EndpointSlice[]?, string?, bool, string?, string?> EndpointCases => new()
    {
        // case, slices (null: not served/unreadable), slice error, Endpoints has addresses, Endpoints error -> expected cause (null: no finding)
        { "1.20 baseline: Endpoints only, with addresses", null, null, true, null, null },
        { "1.20 baseline: Endpoints only, empty", null, null, false, null, "kube-dns has no endpoints" },
        { "1.21+: ready slice, Endpoints empty", [Slice(("10.244.1.2", true))], null, false, null, null },
        { "newer: ready-unknown (nil) counts as ready, no Endpoints object", [Slice(("10.244.1.2", null))], null, false, null, null },
        { "slices served but all not ready, Endpoints empty", [Slice(("10.244.1.2", false))], null, false, null, "kube-dns has no endpoints" },
        { "slices not yet written, Endpoints has addresses", [], null, true, null, null },
        { "slices forbidden, Endpoints empty", null, "403 Forbidden", false, null, "kube-dns has no endpoints" },
        { "slices forbidden, Endpoints has addresses", null, "403 Forbidden", true, null, null },
        { "nothing readable", null, "403 Forbidden", false, "403 Forbidden", "kube-dns endpoints unreadable" },
        { "Endpoints forbidden, ready slice", [Slice(("10.244.1.2", true))], null, false, "403 Forbidden", null },
    };

    [Theory]
    [MemberData(nameof(EndpointCases))]
    public void Kube_dns_endpoints_are_judged_from_slices_and_Endpoints(string @case, V1EndpointSlice[]? slices, string? sliceError, bool endpoints, string? endpointsError, string? cause)
    {
        var (nodes, facts) = Healthy();
        var errors = new Dictionary<string, string>();
        if (sliceError is not null) errors[SystemObjects.EndpointSlicesSource] = sliceError;
        if (endpointsError is not null) errors[SystemObjects.EndpointsSource] = endpointsError;
        facts = facts with
        {
            KubeDnsEndpointSlices = slices,
            EndpointSliceApi = slices is null ? null : "discovery.k8s.io/v1",
            KubeDnsEndpoints = endpointsError is not null ? null : endpoints ? Endpoints("kube-system", "kube-dns", "10.244.1.2") : @case.Contains("no Endpoints object") ? null : Endpoints("kube-system", "kube-dns"),
            GatherErrors = errors,
        };
        var findings = new CoreDnsHealthCheck().Run(View(nodes, facts));
        Assert.Equal(cause is null ? [] : [cause], findings.Select(f => f.Cause));
        if (cause == "kube-dns has no endpoints")
        {
            var f = findings[0];
            Assert.Equal(Severity.Critical, f.Finding.Severity);
            Assert.Contains(f.Finding.Evidence, e => e.StartsWith("EndpointSlices", StringComparison.Ordinal));
            Assert.Contains(f.Finding.Evidence, e => e.StartsWith("Endpoints kube-dns", StringComparison.Ordinal));
        }
        if (cause == "kube-dns endpoints unreadable") Assert.Equal(Severity.Unknown, findings[0].Finding.Severity);
    }
}
