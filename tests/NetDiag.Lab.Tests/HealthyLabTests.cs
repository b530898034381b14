using Xunit.Abstractions;

namespace NetDiag.Lab.Tests;

/// <summary>One healthy 4-node lab shared by the tests of this class.</summary>
public sealed class HealthyLabFixture : IAsyncLifetime
{
    public LabCluster Lab { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Tests.Lab.RequireRoot();
        Lab = await LabCluster.CreateAsync(new LabOptions { Name = "ndlth", Index = 6, NodeCount = 4 });
    }

    public async Task DisposeAsync() => await Lab.DisposeAsync();
}

[Collection(LabCollection.Name)]
public sealed class HealthyLabTests(HealthyLabFixture fixture, ITestOutputHelper output) : IClassFixture<HealthyLabFixture>
{
    private LabCluster Lab => fixture.Lab;

    [Fact]
    public async Task Overlay_ping_passes_between_every_pair_of_nodes()
    {
        output.WriteLine($"lab created in {Lab.CreationTime.TotalMilliseconds:0} ms");
        var pairs = from a in Lab.Nodes
                    from b in Lab.Nodes
                    where a != b
                    from target in new[] { ("flannel.1", b.OverlayIp), ("cni0", b.GatewayIp), ("eth0", b.NodeIp) }
                    select (a, b, target);
        var results = await Task.WhenAll(pairs.Select(async p =>
            (await Tests.Lab.PingAsync(p.a, p.target.Item2), $"{p.a.Name} -> {p.b.Name} {p.target.Item1} {p.target.Item2}")));
        Assert.Equal(36, results.Length);
        Assert.Empty(results.Where(r => !r.Item1).Select(r => r.Item2));
    }

    [Fact]
    public async Task Overlay_really_encapsulates_in_vxlan_on_the_configured_port()
    {
        var (a, b) = (Lab.Nodes[0], Lab.Nodes[1]);
        var details = (await a.ExecAsync("ip", "-d", "link", "show", "flannel.1")).EnsureSuccess("ip -d link").StdOut;
        Assert.Contains("vxlan id 1", details);
        Assert.Contains($"local {a.NodeIp}", details);
        Assert.Contains($"dstport {Lab.VxlanPort}", details);

        var txBefore = await Probe.CounterAsync(a, "eth0", "tx_packets");
        Assert.True(await Tests.Lab.PingAsync(a, b.GatewayIp));
        Assert.True(await Probe.CounterAsync(a, "eth0", "tx_packets") > txBefore, "overlay traffic must leave through eth0 (encapsulated)");
    }

    [Fact]
    public async Task Pods_reach_pods_on_every_other_node()
    {
        var failures = new List<string>();
        foreach (var from in Lab.Nodes.Select(n => n.Pod(LabNames.WorkloadPod)))
        {
            foreach (var to in Lab.Nodes.Select(n => n.Pod(LabNames.WorkloadPod)).Where(p => p != from))
            {
                var r = await from.ExecAsync("ping", "-c", "2", "-i", "0.2", "-W", "1", to.Ip);
                if (r.ExitCode != 0) failures.Add($"{from} -> {to}: {r.StdOut}");
            }
        }
        Assert.Empty(failures);
    }

    [Fact]
    public async Task Each_node_has_its_own_process_list_and_proc_sys_net()
    {
        var node1 = Lab.Nodes[0];
        var node3 = Lab.Nodes[2];
        var ps1 = (await node1.ExecAsync("ps", "-eo", "pid,comm")).EnsureSuccess("ps").StdOut;
        var ps3 = (await node3.ExecAsync("ps", "-eo", "pid,comm")).EnsureSuccess("ps").StdOut;
        output.WriteLine(ps1);
        Assert.Contains("dnsmasq", ps1);       // CoreDNS pod coredns-1 runs on node-1
        Assert.DoesNotContain("dnsmasq", ps3); // node-3 runs none
        Assert.DoesNotContain("dotnet", ps1);  // the test host is not in the node
        Assert.Equal("sleep", await Probe.ReadAsync(node1, "/proc/1/comm"));

        // The host root's proc is the node's own /proc inside the node (as /host/proc for a probe Job)...
        Assert.Equal("sleep", await Probe.ReadAsync(node1, $"{node1.HostRoot}/proc/1/comm"));
        // ...and just an empty folder from the test host.
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(node1.HostRoot, "proc")));

        Assert.Equal("1", await Probe.ReadAsync(node1, "/proc/sys/net/ipv4/ip_forward"));
        var links = await node1.ExecAsync("ls", "/sys/class/net");
        Assert.Contains("flannel.1", links.StdOut);
        Assert.Contains("cni0", links.StdOut);
    }

    [Fact]
    public async Task Cluster_dns_answers_through_each_CoreDNS_pod_and_the_kube_dns_ClusterIP()
    {
        Assert.Equal(2, Lab.CoreDnsPodIps.Count);
        foreach (var node in Lab.Nodes)
        {
            foreach (var server in Lab.CoreDnsPodIps.Append(Lab.KubeDnsServiceIp))
            {
                var r = await Probe.LookupAsync(node, server);
                Assert.True(r.ExitCode == 0 && r.StdOut.Contains(Lab.KubernetesServiceIp), $"{node.Name} via {server}: {r}");
            }
        }
        // From a pod too (PREROUTING DNAT on its node).
        var pod = Lab.Nodes[3].Pod(LabNames.WorkloadPod);
        var fromPod = await pod.ExecAsync("timeout", "3", "busybox", "nslookup", "-type=a", LabCluster.KubernetesServiceName, Lab.KubeDnsServiceIp);
        Assert.True(fromPod.ExitCode == 0 && fromPod.StdOut.Contains(Lab.KubernetesServiceIp), fromPod.ToString());
    }

    [Fact]
    public async Task CoreDNS_metrics_answer_on_9153()
    {
        foreach (var ip in Lab.CoreDnsPodIps)
        {
            var r = await Probe.MetricsAsync(Lab.Nodes[2], ip);
            Assert.True(r.ExitCode == 0 && r.StdOut.Contains("coredns_build_info"), r.ToString());
        }
    }

    [Fact]
    public async Task Kube_proxy_rules_send_the_kube_dns_ClusterIP_to_the_CoreDNS_pods()
    {
        var rules = (await Lab.Nodes[1].ExecAsync("iptables-save", "-t", "nat")).EnsureSuccess("iptables-save").StdOut;
        Assert.Contains("-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES", rules);
        Assert.Contains($"-A KUBE-SERVICES -d {Lab.KubeDnsServiceIp}/32 -p udp", rules);
        Assert.Contains("KUBE-SVC-TCOU7JCQXEZGVUNU", rules); // kube-proxy's own name for kube-system/kube-dns:dns
        foreach (var ip in Lab.CoreDnsPodIps) Assert.Contains($"--to-destination {ip}:53", rules);
    }

    [Fact]
    public void Host_root_has_the_files_a_probe_reads()
    {
        var root = Lab.Nodes[0].HostRoot;
        Assert.Contains("net.ipv4.ip_forward", File.ReadAllText(Path.Combine(root, "etc/sysctl.d/99-kubernetes.conf")));
        Assert.True(File.Exists(Path.Combine(root, "usr/lib/sysctl.d/50-default.conf")));
        Assert.True(File.Exists(Path.Combine(root, "etc/sysctl.conf")));
        Assert.DoesNotContain("127.", File.ReadAllText(Path.Combine(root, "etc/resolv.conf")));
        var kubelet = File.ReadAllText(Path.Combine(root, "var/lib/kubelet/config.yaml"));
        Assert.Contains("resolvConf: /etc/resolv.conf", kubelet);
        Assert.Contains(Lab.KubeDnsServiceIp, kubelet);
    }

    [Fact]
    public async Task An_unknown_fault_name_is_refused_with_the_valid_names()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Lab.InjectFaultAsync("noSuchFault", "node-1"));
        foreach (var f in LabFaults.All) Assert.Contains(f, e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Lab.InjectFaultAsync(LabFaults.IpForward, "node-99"));
        await Assert.ThrowsAsync<ArgumentException>(() => Lab.InjectFaultAsync(LabFaults.DnsDead, "node-4")); // no CoreDNS there
        Assert.Empty(Lab.ActiveFaults);
    }
}
