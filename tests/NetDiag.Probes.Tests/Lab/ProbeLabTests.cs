using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Lab;

namespace NetDiag.Probes.Tests.Lab;

/// <summary>
/// The real probe program against real kernel state: for every node check a healthy case and each
/// trouble signature of checks.md, made for real by the lab.
/// </summary>
[Collection(ProbeLabCollection.Name)]
public sealed class ProbeLabTests(ProbeLabFixture fx)
{
    private LabCluster Lab => fx.Lab;
    private LabNode N1 => Lab.Node("node-1");
    private LabNode N2 => Lab.Node("node-2");
    private LabNode N3 => Lab.Node("node-3");

    private async Task WithFault(string fault, LabNode node, Func<Task> body)
    {
        await Lab.InjectFaultAsync(fault, node.Name);
        try { await body(); }
        finally { await Lab.ClearFaultAsync(fault, node.Name); }
    }

    /// <summary>A kube-proxy stand-in: busybox httpd answering /healthz on 10256 and metrics on 10249.</summary>
    private async Task<IAsyncDisposable> KubeProxyListenersAsync(LabNode node)
    {
        var dir = Path.Combine(Lab.WorkDir, "kube-proxy-" + node.Name);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "healthz"), "ok\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "metrics"), "kubeproxy_sync_proxy_rules_last_timestamp_seconds 1\n");
        var health = await node.StartInNodeAsync("busybox", "httpd", "-f", "-p", "0.0.0.0:10256", "-h", dir);
        var metrics = await node.StartInNodeAsync("busybox", "httpd", "-f", "-p", "127.0.0.1:10249", "-h", dir);
        for (var i = 0; i < 50; i++)
        {
            var r = await node.ExecAsync("busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:10256/healthz");
            if (r.Succeeded) break;
            await Task.Delay(100);
        }
        return new Stopper(health, metrics);
    }

    private sealed class Stopper(params LabProcess[] processes) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() { foreach (var p in processes) await p.StopAsync(); }
    }

    [Fact]
    public async Task Healthy_node_passes_every_check_and_reports_through_stdout_and_termination_message()
    {
        await using var kubeProxy = await KubeProxyListenersAsync(N1);
        var run = await fx.RunAsync(N1, fx.PlanFor(N1));
        Assert.True(run.Report is not null, run.ToString());
        Assert.Equal(CheckNames.NodeChecks.Order(), run.Report!.Checks.Select(c => c.Check).Order());
        Assert.All(run.Report.Checks, c => Assert.True(c.Status == CheckStatus.Pass, $"{c.Check}: {c.Status} {c.Reason}\n{run}"));
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("node-1", run.Report.Node);

        // The compact form reaches the operator through the kubelet's termination message.
        Assert.NotNull(run.TerminationMessage);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(run.TerminationMessage!) <= ProbeReportCodec.TerminationMessageLimit);
        Assert.True(ProbeReportCodec.TryParse(run.TerminationMessage, out var compact, out var error), error);
        Assert.Equal(run.Report.Checks.Count, compact!.Checks.Count);
    }

    [Fact]
    public async Task IpForward_zero_names_the_sysctl_file_and_line_that_sets_it()
    {
        await WithFault(LabFaults.IpForward, N2, async () =>
        {
            var run = await fx.RunAsync(N2, fx.PlanFor(N2, CheckNames.IpForward));
            Assert.Equal(CheckStatus.Critical, run.Check(CheckNames.IpForward).Status);
            var f = Assert.Single(run.Findings(CheckNames.IpForward));
            Assert.Equal("ip_forward=0", f.Cause);
            Assert.Contains("/" + LabCluster.IpForwardFaultFile + ":3 sets it to 0", f.Message);
            Assert.Contains(f.Evidence, e => e.Contains("99-kubernetes.conf") && e.Contains("overridden"));
            Assert.Equal(ActionNames.EnableIpForward, f.AutoAction);
            Assert.Equal((int)CheckStatus.Critical, run.ExitCode);
        });
        var healthy = await fx.RunAsync(N2, fx.PlanFor(N2, CheckNames.IpForward));
        Assert.Equal(CheckStatus.Pass, healthy.Check(CheckNames.IpForward).Status);
    }

    [Fact]
    public async Task Bridge_netfilter_off_is_critical()
    {
        await WithFault(LabFaults.BridgeNetfilter, N3, async () =>
        {
            var run = await fx.RunAsync(N3, fx.PlanFor(N3, CheckNames.BridgeNetfilter));
            var f = Assert.Single(run.Findings(CheckNames.BridgeNetfilter));
            Assert.Equal(("bridge-nf-call-iptables=0", Severity.Critical), (f.Cause, f.Severity));
        });
    }

    [Fact]
    public async Task Dropped_vxlan_port_on_one_node_breaks_the_overlay_and_every_node_blames_that_node()
    {
        await WithFault(LabFaults.FlannelPort, N2, async () =>
        {
            string[] checks = [CheckNames.FlannelPort, CheckNames.PodCidrReachability];
            var runs = await Task.WhenAll(Lab.Nodes.Select(n => fx.RunAsync(n, fx.PlanFor(n, checks))));
            var byNode = Lab.Nodes.Zip(runs).ToDictionary(x => x.First.Name, x => x.Second);
            var cause = $"udp/{Lab.VxlanPort} blocked at node-2";
            foreach (var (node, run) in byNode)
            {
                Assert.True(run.Report is not null, run.ToString());
                var f = run.Findings(CheckNames.FlannelPort).SingleOrDefault(x => x.Severity == Severity.Critical);
                Assert.True(f is not null, $"{node}: no critical flannelPort finding\n{run}");
                Assert.Equal(cause, f!.Cause);
                Assert.Equal("node-2", f.Data!["suspectNode"]);
                // The underlay passes while the overlay fails.
                Assert.Contains(f.Evidence, e => e.Contains("underlay") && e.Contains(" ok (") && e.Contains("FAIL"));
            }
            var blamed = byNode["node-2"].Findings(CheckNames.FlannelPort).Single();
            Assert.Equal("node-1,node-3", blamed.Data!["failingPeers"]);
            Assert.Contains(blamed.Evidence, e => e.Contains($"filter INPUT #") && e.Contains($"--dport {Lab.VxlanPort} -j DROP"));
            Assert.Contains(blamed.Evidence, e => e.StartsWith("flannel.1 during the pings: TX +") && e.Contains("RX +0 packets"));
            Assert.Equal("node-2", byNode["node-1"].Findings(CheckNames.FlannelPort).Single().Data!["suspectNode"]);
            // Seed 000's fix, tested for real: 8475 reaches node-2's kernel where 8472 is dropped.
            var fromNode1 = byNode["node-1"].Findings(CheckNames.FlannelPort).Single();
            Assert.Equal("8475", fromNode1.Data![FindingDataKeys.PassingPort]);
            Assert.Equal(Lab.VxlanPort.ToString(), fromNode1.Data[FindingDataKeys.BackendPort]);
            Assert.Equal("true", fromNode1.Data[FindingDataKeys.SameL2Segment]);
            Assert.Equal("node-2", byNode["node-3"].Findings(CheckNames.FlannelPort).Single().Data!["suspectNode"]);

            // Seed 000's first test from node-1: node-2's pod network is down, node-3's is up.
            var reach = byNode["node-1"].Findings(CheckNames.PodCidrReachability).Single();
            Assert.Equal("pod network of node-2 unreachable", reach.Cause);
            Assert.Equal("pod networks unreachable from node-2", byNode["node-2"].Findings(CheckNames.PodCidrReachability).Single().Cause);
        });
        var healthy = await fx.RunAsync(N1, fx.PlanFor(N1, CheckNames.FlannelPort));
        Assert.Equal(CheckStatus.Pass, healthy.Check(CheckNames.FlannelPort).Status);
    }

    [Fact]
    public async Task Firewalld_reject_before_accept_in_forward_is_found_with_rule_and_position()
    {
        await WithFault(LabFaults.Firewall, N1, async () =>
        {
            var run = await fx.RunAsync(N1, fx.PlanFor(N1, CheckNames.Firewall));
            Assert.Equal(CheckStatus.Critical, run.Check(CheckNames.Firewall).Status);
            var reject = run.Findings(CheckNames.Firewall).Single(f => f.Cause == "FORWARD REJECT before ACCEPT");
            Assert.Matches(@"^filter FORWARD #5/\d+: -A FORWARD -j REJECT --reject-with icmp-host-prohibited$", reject.Evidence[0]);
            Assert.Contains("iptables -D FORWARD -j REJECT --reject-with icmp-host-prohibited", reject.Remediation);
            var zones = run.Findings(CheckNames.Firewall).Single(f => f.Cause == "firewalld chains");
            Assert.Contains(zones.Evidence, e => e.StartsWith("filter :FORWARD_IN_ZONES"));
            Assert.Contains(zones.Evidence, e => e.Contains("firewalld"));
        });
    }

    [Fact]
    public async Task Security_agent_process_is_named_with_pid_and_vendor()
    {
        await WithFault(LabFaults.SecuritySoftware, N3, async () =>
        {
            var run = await fx.RunAsync(N3, fx.PlanFor(N3, CheckNames.SecuritySoftware));
            var f = Assert.Single(run.Findings(CheckNames.SecuritySoftware));
            Assert.Equal(Severity.Warning, f.Severity);
            Assert.Equal("Qi-An-Xin", f.Data!["vendor"]);
            Assert.Matches(@"^pid \d+ comm qaxsafed: .*/opt/qianxin/bin/qaxsafed infinity \(vendor Qi-An-Xin\)$", f.Evidence[0]);
            Assert.Equal((int)CheckStatus.Warning, run.ExitCode);
        });
        // Only on the node where it runs: the probe sees the node's processes, not the machine's.
        var other = await fx.RunAsync(N1, fx.PlanFor(N1, CheckNames.SecuritySoftware));
        Assert.Equal(CheckStatus.Pass, other.Check(CheckNames.SecuritySoftware).Status);
    }

    [Fact]
    public async Task Extra_security_signatures_come_from_a_file_without_a_rebuild()
    {
        var list = Path.Combine(Lab.WorkDir, "extra-security.json");
        await File.WriteAllTextAsync(list, """[{"process":"sleep","vendor":"Lab Test Vendor"}]""");
        var run = await fx.RunAsync(N1, fx.PlanFor(N1, CheckNames.SecuritySoftware), "--security-list", list);
        var f = Assert.Single(run.Findings(CheckNames.SecuritySoftware));
        Assert.Equal("Lab Test Vendor", f.Data!["vendor"]);
    }

    [Fact]
    public async Task Conntrack_usage_over_the_threshold_shows_count_and_max()
    {
        await WithFault(LabFaults.Conntrack, N2, async () =>
        {
            var run = await fx.RunAsync(N2, fx.PlanFor(N2, CheckNames.Conntrack));
            var f = Assert.Single(run.Findings(CheckNames.Conntrack));
            Assert.Equal("conntrack usage high", f.Cause);
            var count = long.Parse(f.Data!["conntrackCount"]);
            var max = long.Parse(f.Data["conntrackMax"]);
            Assert.True(count >= max * 0.9 && count < max, $"{count}/{max}");
            Assert.StartsWith($"nf_conntrack_count {count} / nf_conntrack_max {max}", f.Evidence[0]);
            Assert.Equal(ActionNames.RaiseConntrackMax, f.AutoAction);
        });
    }

    [Fact]
    public async Task Loopback_resolv_conf_is_the_dns_loop_trap_with_line_and_real_upstreams()
    {
        await WithFault(LabFaults.DnsLoop, N1, async () =>
        {
            var run = await fx.RunAsync(N1, fx.PlanFor(N1, CheckNames.DnsLoop));
            var f = Assert.Single(run.Findings(CheckNames.DnsLoop));
            Assert.Equal("loopback nameserver in kubelet resolv.conf", f.Cause);
            Assert.Equal("/etc/resolv.conf:3: nameserver 127.0.0.53", f.Evidence[0]);
            Assert.Contains("/var/lib/kubelet/config.yaml:", f.Evidence[1]);
            Assert.False(string.IsNullOrEmpty(f.Data!["upstreams"]));
            Assert.Contains("resolvConf: /run/systemd/resolve/resolv.conf", f.Remediation);
        });
    }

    [Fact]
    public async Task Garbled_resolv_conf_gives_a_clear_finding_not_a_crash()
    {
        var file = Path.Combine(N3.HostRoot, "etc/resolv.conf");
        var before = await File.ReadAllTextAsync(file);
        await File.WriteAllBytesAsync(file, [0x00, 0xff, 0xfe, 0x0a, .. "nameserver\nnameserver 999.1.1.1\n"u8.ToArray()]);
        try
        {
            var run = await fx.RunAsync(N3, fx.PlanFor(N3, CheckNames.DnsLoop));
            Assert.Equal("no nameserver in resolv.conf", run.Findings(CheckNames.DnsLoop).Single().Cause);
        }
        finally
        {
            await File.WriteAllTextAsync(file, before);
        }
    }

    [Fact]
    public async Task A_dead_dns_target_is_critical_next_to_a_healthy_one()
    {
        var dead = Lab.CoreDnsPods.First();
        var alive = Lab.CoreDnsPods.First(p => p != dead);
        await WithFault(LabFaults.DnsDead, dead.Node, async () =>
        {
            var run = await fx.RunAsync(N3, fx.PlanFor(N3, CheckNames.DnsService));
            Assert.Equal(CheckStatus.Critical, run.Check(CheckNames.DnsService).Status);
            var f = Assert.Single(run.Findings(CheckNames.DnsService), x => x.Data!["target"] == dead.Ip);
            Assert.Equal($"dns {dead.Ip} not answering", f.Cause);
            Assert.DoesNotContain(run.Findings(CheckNames.DnsService), x => x.Data!["target"] == alive.Ip);
        });
    }

    [Fact]
    public async Task A_dead_metrics_listener_is_a_warning_next_to_a_live_one()
    {
        var dead = Lab.CoreDnsPods.Last();
        var alive = Lab.CoreDnsPods.First(p => p != dead);
        await WithFault(LabFaults.MetricsDead, dead.Node, async () =>
        {
            var run = await fx.RunAsync(N1, fx.PlanFor(N1, CheckNames.DnsService));
            var f = Assert.Single(run.Findings(CheckNames.DnsService));
            Assert.Equal(($"coredns {dead.Ip} metrics not answering", Severity.Warning), (f.Cause, f.Severity));
            Assert.DoesNotContain(run.Findings(CheckNames.DnsService), x => x.Data!["target"] == alive.Ip);
        });
    }

    [Fact]
    public async Task Overlay_mtu_above_the_underlay_is_a_warning_with_the_right_mtu()
    {
        await WithFault(LabFaults.Mtu, N2, async () =>
        {
            var run = await fx.RunAsync(N2, fx.PlanFor(N2, CheckNames.Mtu));
            var f = Assert.Single(run.Findings(CheckNames.Mtu));
            Assert.Equal("overlay MTU too large", f.Cause);
            Assert.Equal(LabFaults.FaultUnderlayMtu.ToString(), f.Data!["underlayMtu"]);
            Assert.Equal((LabFaults.FaultUnderlayMtu - 50).ToString(), f.Data["suggestedMtu"]);
        });
    }

    [Fact]
    public async Task Kube_proxy_node_half_needs_listeners_healthz_and_the_kube_dns_rule()
    {
        var missing = await fx.RunAsync(N3, fx.PlanFor(N3, CheckNames.KubeProxy));
        Assert.Equal("kube-proxy not listening", missing.Findings(CheckNames.KubeProxy).Single().Cause);

        await using (await KubeProxyListenersAsync(N3))
        {
            var ok = await fx.RunAsync(N3, fx.PlanFor(N3, CheckNames.KubeProxy));
            Assert.True(ok.Check(CheckNames.KubeProxy).Status == CheckStatus.Pass, ok.ToString());
            var stale = await fx.RunAsync(N3, fx.PlanFor(N3, CheckNames.KubeProxy) with { KubeDnsServiceIp = "10.101.0.99" });
            Assert.Equal("kube-dns ClusterIP not programmed", stale.Findings(CheckNames.KubeProxy).Single().Cause);
        }
    }

    [Fact]
    public async Task Without_a_plan_checks_that_need_one_say_no_plan_and_the_exit_code_is_unknown()
    {
        var run = await fx.RunAsync(N1, null, "--checks", "podCidrReachability,dnsService,ipForward", "--host-root", N1.HostRoot);
        Assert.Equal((int)CheckStatus.Unknown, run.ExitCode);
        Assert.Contains("no plan", run.Check(CheckNames.PodCidrReachability).Reason);
        Assert.Contains("no plan", run.Check(CheckNames.DnsService).Reason);
        Assert.Equal(CheckStatus.Pass, run.Check(CheckNames.IpForward).Status);
    }

    [Fact]
    public async Task Usage_errors_exit_64_and_help_documents_the_exit_codes()
    {
        var bad = await fx.RunAsync(N1, null, "--checks", "podCidrOverlap");
        Assert.Equal(64, bad.ExitCode);
        Assert.Contains("not a node check", bad.Stderr);
        var help = await N1.ExecAsync("dotnet", ProbeLabFixture.ProbeDll, "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("0 Pass, 1 Warning, 2 Unknown, 3 Critical; 64 usage error", help.StdOut);
    }
}
