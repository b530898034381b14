using Xunit.Abstractions;

namespace NetDiag.Lab.Tests;

/// <summary>Each test builds its own small lab, injects real faults and checks what a user would notice.</summary>
[Collection(LabCollection.Name)]
public sealed class FaultTests(ITestOutputHelper output)
{
    private static async Task<bool> PodPingAsync(LabNode from, LabNode to)
    {
        var r = await from.Pod(LabNames.WorkloadPod).ExecAsync("ping", "-c", "2", "-i", "0.2", "-W", "1", to.Pod(LabNames.WorkloadPod).Ip);
        return r.ExitCode == 0;
    }

    [Fact]
    public async Task FlannelPort_drop_kills_only_the_overlay_and_RX_stays_flat_while_TX_grows()
    {
        await using var lab = await Lab.CreateAsync(output, nodes: 3);
        var (n1, n2, n3) = (lab.Node("node-1"), lab.Node("node-2"), lab.Node("node-3"));

        await lab.InjectFaultAsync(LabFaults.FlannelPort, "node-2");
        var rules = (await n2.ExecAsync("iptables", "-S", "INPUT")).StdOut;
        Assert.Contains($"--dport {lab.VxlanPort} -j DROP", rules);

        Assert.True(await Lab.PingAsync(n1, n2.NodeIp), "underlay node-1 -> node-2 must still pass");
        Assert.True(await Lab.PingAsync(n2, n1.NodeIp), "underlay node-2 -> node-1 must still pass");
        Assert.False(await Lab.PingAsync(n1, n2.OverlayIp), "overlay node-1 -> node-2 must fail");
        Assert.True(await Lab.PingAsync(n1, n3.OverlayIp), "overlay node-1 -> node-3 is not affected");

        var rxBefore = await Probe.CounterAsync(n2, "flannel.1", "rx_packets");
        var txBefore = await Probe.CounterAsync(n2, "flannel.1", "tx_packets");
        Assert.False(await Lab.PingAsync(n2, n1.GatewayIp), "overlay node-2 -> node-1 must fail");
        Assert.False(await Lab.PingAsync(n2, n3.GatewayIp), "overlay node-2 -> node-3 must fail");
        var rxAfter = await Probe.CounterAsync(n2, "flannel.1", "rx_packets");
        var txAfter = await Probe.CounterAsync(n2, "flannel.1", "tx_packets");
        output.WriteLine($"node-2 flannel.1 rx {rxBefore}->{rxAfter}, tx {txBefore}->{txAfter}");
        Assert.Equal(rxBefore, rxAfter);
        Assert.True(txAfter >= txBefore + 2, $"TX must grow: {txBefore} -> {txAfter}");

        // The seed 000 remedy: flannel moves to another port; the DROP rule no longer matches.
        await lab.RebuildOverlayAsync(8475);
        Assert.Equal(8475, lab.VxlanPort);
        Assert.Contains("dstport 8475", (await n2.ExecAsync("ip", "-d", "link", "show", "flannel.1")).StdOut);
        Assert.True(await Lab.PingAsync(n1, n2.OverlayIp), "after moving to 8475 the overlay to node-2 passes");
        Assert.True(await PodPingAsync(n3, n2), "pods across nodes pass again");

        await lab.ClearFaultAsync(LabFaults.FlannelPort, "node-2");
        Assert.DoesNotContain("-j DROP", (await n2.ExecAsync("iptables", "-S", "INPUT")).StdOut);
    }

    [Fact]
    public async Task IpForward_off_breaks_pod_traffic_through_the_node_and_names_the_file()
    {
        await using var lab = await Lab.CreateAsync(output, nodes: 3, withDns: false);
        var (n1, n2, n3) = (lab.Node("node-1"), lab.Node("node-2"), lab.Node("node-3"));
        Assert.True(await PodPingAsync(n1, n2));

        await lab.InjectFaultAsync(LabFaults.IpForward, "node-2");
        Assert.Equal("0", await Probe.ReadAsync(n2, "/proc/sys/net/ipv4/ip_forward"));
        Assert.Equal("1", await Probe.ReadAsync(n1, "/proc/sys/net/ipv4/ip_forward"));
        var file = Path.Combine(n2.HostRoot, LabCluster.IpForwardFaultFile);
        Assert.Contains(File.ReadAllLines(file), l => l.Replace(" ", "") == "net.ipv4.ip_forward=0");
        Assert.False(File.Exists(Path.Combine(n1.HostRoot, LabCluster.IpForwardFaultFile)));

        Assert.False(await PodPingAsync(n1, n2), "pod on node-1 -> pod on node-2 must fail");
        Assert.False(await PodPingAsync(n2, n3), "pod on node-2 -> pod on node-3 must fail");
        Assert.True(await PodPingAsync(n1, n3), "node-1 <-> node-3 pods are not affected");
        Assert.True(await Lab.PingAsync(n1, n2.OverlayIp), "the overlay itself still works (seed 000: flannel looks fine)");

        await lab.ClearFaultAsync(LabFaults.IpForward, "node-2");
        Assert.False(File.Exists(file));
        Assert.True(await PodPingAsync(n1, n2));
    }

    [Fact]
    public async Task DnsDead_and_metricsDead_kill_one_target_each()
    {
        await using var lab = await Lab.CreateAsync(output, nodes: 3);
        var n3 = lab.Node("node-3");
        var deadDns = lab.Node("node-2").Pods.Single(p => p.IsCoreDns).Ip;
        var liveDns = lab.Node("node-1").Pods.Single(p => p.IsCoreDns).Ip;

        await lab.InjectFaultAsync(LabFaults.DnsDead, "node-2");
        var dead = await Probe.LookupAsync(n3, deadDns);
        Assert.NotEqual(0, dead.ExitCode);
        var live = await Probe.LookupAsync(n3, liveDns);
        Assert.True(live.ExitCode == 0 && live.StdOut.Contains(lab.KubernetesServiceIp), live.ToString());
        Assert.DoesNotContain("dnsmasq", (await lab.Node("node-2").ExecAsync("ps", "-eo", "comm")).StdOut);
        Assert.Equal(0, (await Probe.MetricsAsync(n3, deadDns)).ExitCode); // only DNS is dead

        await lab.InjectFaultAsync(LabFaults.MetricsDead, "node-1");
        Assert.NotEqual(0, (await Probe.MetricsAsync(n3, liveDns)).ExitCode);
        Assert.Equal(0, (await Probe.LookupAsync(n3, liveDns)).ExitCode); // only metrics are dead

        await lab.ClearFaultAsync(LabFaults.DnsDead, "node-2");
        await lab.ClearFaultAsync(LabFaults.MetricsDead, "node-1");
        Assert.Equal(0, (await Probe.LookupAsync(n3, deadDns)).ExitCode);
        Assert.Equal(0, (await Probe.MetricsAsync(n3, liveDns)).ExitCode);
    }

    [Fact]
    public async Task SecuritySoftware_and_firewall_processes_are_visible_only_in_their_node()
    {
        await using var lab = await Lab.CreateAsync(output, nodes: 3, withDns: false);
        var (n1, n2, n3) = (lab.Node("node-1"), lab.Node("node-2"), lab.Node("node-3"));

        await lab.InjectFaultAsync(LabFaults.SecuritySoftware, "node-3");
        Assert.Contains(LabFaults.SecurityProcessName, (await n3.ExecAsync("ps", "-eo", "comm")).StdOut);
        Assert.DoesNotContain(LabFaults.SecurityProcessName, (await n1.ExecAsync("ps", "-eo", "comm")).StdOut);
        // Through the host root as a probe Job reads /host/proc/*/comm.
        var viaHostRoot = await n3.ShAsync($"cat {n3.HostRoot}/proc/[0-9]*/comm");
        Assert.Contains(LabFaults.SecurityProcessName, viaHostRoot.StdOut);

        await lab.InjectFaultAsync(LabFaults.Firewall, "node-2");
        Assert.Contains("firewalld", (await n2.ExecAsync("ps", "-eo", "comm")).StdOut);
        var forward = (await n2.ExecAsync("iptables", "-S", "FORWARD")).StdOut.Split('\n');
        output.WriteLine(string.Join('\n', forward));
        var reject = Array.FindIndex(forward, l => l.Contains("REJECT --reject-with icmp-host-prohibited"));
        var flannel = Array.FindIndex(forward, l => l.Contains("FLANNEL-FWD"));
        Assert.True(reject >= 0 && reject < flannel, "REJECT must come before the flannel ACCEPT rules");
        Assert.Contains(forward, l => l.Contains("FORWARD_IN_ZONES"));
        Assert.False(await PodPingAsync(n1, n2), "the REJECT breaks pod traffic through node-2");
        Assert.True(await PodPingAsync(n1, n3));

        await lab.ClearFaultAsync(LabFaults.Firewall, "node-2");
        await lab.ClearFaultAsync(LabFaults.SecuritySoftware, "node-3");
        Assert.DoesNotContain("FORWARD_IN_ZONES", (await n2.ExecAsync("iptables-save")).StdOut);
        Assert.DoesNotContain(LabFaults.SecurityProcessName, (await n3.ExecAsync("ps", "-eo", "comm")).StdOut);
        Assert.True(await PodPingAsync(n1, n2));
    }

    [Fact]
    public async Task Conntrack_fills_the_node_table_but_not_the_host()
    {
        await using var lab = await Lab.CreateAsync(output, nodes: 2, withDns: false);
        var n1 = lab.Node("node-1");
        var hostMaxBefore = File.ReadAllText("/proc/sys/net/netfilter/nf_conntrack_max").Trim();

        await lab.InjectFaultAsync(LabFaults.Conntrack, "node-1");
        var count = long.Parse(await Probe.ReadAsync(n1, "/proc/sys/net/netfilter/nf_conntrack_count"));
        var max = long.Parse(await Probe.ReadAsync(n1, "/proc/sys/net/netfilter/nf_conntrack_max"));
        output.WriteLine($"node-1 conntrack {count}/{max}");
        Assert.True(count >= max * 0.9, $"{count}/{max}");
        var other = long.Parse(await Probe.ReadAsync(lab.Node("node-2"), "/proc/sys/net/netfilter/nf_conntrack_count"));
        Assert.True(other < max * 0.5, $"node-2 must not be affected: {other}");
        var hostCount = long.Parse(File.ReadAllText("/proc/sys/net/netfilter/nf_conntrack_count").Trim());
        Assert.True(hostCount < max * 0.5, $"the test host's table must not be affected: {hostCount}");
        Assert.Equal(hostMaxBefore, File.ReadAllText("/proc/sys/net/netfilter/nf_conntrack_max").Trim());

        await lab.ClearFaultAsync(LabFaults.Conntrack, "node-1");
        count = long.Parse(await Probe.ReadAsync(n1, "/proc/sys/net/netfilter/nf_conntrack_count"));
        Assert.True(count < max * 0.5, $"after clear: {count}");
    }

    [Fact]
    public async Task BridgeNetfilter_dnsLoop_and_mtu_on_different_nodes()
    {
        await using var lab = await Lab.CreateAsync(output, nodes: 3, withDns: false);
        var (n1, n2, n3) = (lab.Node("node-1"), lab.Node("node-2"), lab.Node("node-3"));
        const string bnf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
        var hostBnf = File.ReadAllText(bnf).Trim();

        await lab.InjectFaultAsync(LabFaults.BridgeNetfilter, "node-1");
        await lab.InjectFaultAsync(LabFaults.DnsLoop, "node-2");
        await lab.InjectFaultAsync(LabFaults.Mtu, "node-3");
        Assert.Equal(3, lab.ActiveFaults.Count);

        // bridge-nf-call-iptables is per network namespace on this kernel.
        Assert.Equal("0", await Probe.ReadAsync(n1, bnf));
        Assert.Equal("1", await Probe.ReadAsync(n2, bnf));
        Assert.Equal(hostBnf, File.ReadAllText(bnf).Trim());

        Assert.Contains("nameserver 127.0.0.53", File.ReadAllText(Path.Combine(n2.HostRoot, "etc/resolv.conf")));
        Assert.DoesNotContain("127.0.0.53", File.ReadAllText(Path.Combine(n1.HostRoot, "etc/resolv.conf")));

        Assert.Equal("1400", await Probe.ReadAsync(n3, "/sys/class/net/eth0/mtu"));
        Assert.Equal("1450", await Probe.ReadAsync(n3, "/sys/class/net/flannel.1/mtu"));
        Assert.True(await Lab.PingAsync(n1, n3.GatewayIp), "small packets still pass");
        // 1400 bytes of ICMP payload = 1428-byte inner packet: fits flannel.1 (1450) but the
        // encapsulated frame (1478 + 14) does not fit the 1400 path to node-3.
        Assert.False(await Lab.PingAsync(n1, n3.GatewayIp, size: 1400), "large packets toward node-3 vanish");
        Assert.True(await Lab.PingAsync(n1, n2.GatewayIp, size: 1400), "node-2 path is fine");

        await lab.ClearFaultAsync(LabFaults.Mtu, "node-3");
        Assert.True(await Lab.PingAsync(n1, n3.GatewayIp, size: 1400));
        await lab.ClearFaultAsync(LabFaults.BridgeNetfilter, "node-1");
        Assert.Equal("1", await Probe.ReadAsync(n1, bnf));
        await lab.ClearFaultAsync(LabFaults.DnsLoop, "node-2");
        Assert.DoesNotContain("127.0.0.53", File.ReadAllText(Path.Combine(n2.HostRoot, "etc/resolv.conf")));
        Assert.Empty(lab.ActiveFaults);
    }
}
