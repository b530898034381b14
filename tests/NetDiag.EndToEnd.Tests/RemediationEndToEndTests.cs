using k8s;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.LabCluster.KubeSystem;


namespace NetDiag.EndToEnd.Tests;

/// <summary>
/// Auto-remediation in the lab: a real fault, a diagnosis in mode Auto, the operator (with
/// <c>--Operator:EnableRemediation=true</c> where the test says so) patching the API objects or
/// running a node Job through the lab kubelet, and the re-check verifying the fix.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class RemediationEndToEndTests(EndToEndFixture fx)
{
    private const string Enable = "--Operator:EnableRemediation=true";
    private static readonly TimeSpan Verify = TimeSpan.FromMinutes(4);

    private static string Yaml(string name, string check, string actions, bool dryRun = false, string extra = "") => $"""
        apiVersion: netdiag.io/v1alpha1
        kind: NetworkDiagnosis
        metadata:
          name: {name}
        spec:
          timeout: 1m
          checks: [{check}]
          remediation:
            mode: Auto
            actions: [{actions}]
            dryRun: {(dryRun ? "true" : "false")}
        {extra}
        """;

    private static bool Remediated(V1alpha1NetworkDiagnosis nd, string status) =>
        nd.Condition(ConditionTypes.Remediated)?.Status == status;

    [Fact]
    public async Task FlannelPort_Auto_patches_the_backend_port_flannel_moves_the_overlay_and_the_recheck_passes()
    {
        await fx.UseOperatorArgsAsync(Enable);
        await using var lab = await fx.StartLabAsync("flannelPort:node-3");
        const string name = "e2e-fix-flannel";
        var before = (await fx.Client.CoreV1.ReadNamespacedConfigMapAsync(KubeSystemObjects.FlannelConfigMap, KubeSystemObjects.Namespace)).Data["net-conf.json"];
        await fx.ApplyAsync(Yaml(name, "flannelPort", ActionNames.PatchFlannelBackend), name);
        try
        {
            var nd = await fx.WaitForAsync(name, n => Remediated(n, "True") || Remediated(n, "False"), Verify, "Remediated True or False");
            var report = DiagnosisWaits.Describe(fx, nd);
            Assert.True(Remediated(nd, "True"), report);

            var cm = await fx.Client.CoreV1.ReadNamespacedConfigMapAsync(KubeSystemObjects.FlannelConfigMap, KubeSystemObjects.Namespace);
            Assert.Equal(before, cm.Metadata.Annotations["netdiag.io/previous-net-conf.json"]);
            Assert.DoesNotContain("8472", cm.Data["net-conf.json"]);
            Assert.NotEqual(8472, lab.Lab.VxlanPort); // the flannel stand-in rebuilt the overlay on the new port

            var record = Assert.Single(nd.Status!.Remediations!, r => r.Action == ActionNames.PatchFlannelBackend);
            Assert.Equal(("Applied", "Passed"), (record.Result, record.Recheck));
            var fixedFinding = Assert.Single(nd.Status.Findings!, f => f.Check == CheckNames.FlannelPort);
            Assert.True(fixedFinding.Verified == true, report);
            Assert.Equal(0, nd.Status.Summary!.Critical);
            Assert.Contains(nd.Status.History![0].Resolved ?? [], k => k.StartsWith("flannelPort", StringComparison.Ordinal));
            Assert.Equal("True", nd.Condition(ConditionTypes.Healthy)?.Status);
        }
        finally
        {
            await fx.DeleteDiagnosisAsync(name);
        }
    }

    [Fact]
    public async Task IpForward_Auto_runs_a_node_Job_that_restores_the_sysctl_and_the_recheck_passes()
    {
        await fx.UseOperatorArgsAsync(Enable);
        await using var lab = await fx.StartLabAsync("ipForward:node-3");
        const string name = "e2e-fix-ipforward";
        var node = lab.Lab.Node("node-3");
        Assert.Equal("0", (await node.ExecAsync("cat", "/proc/sys/net/ipv4/ip_forward")).StdOut.Trim());
        await fx.ApplyAsync(Yaml(name, "ipForward", ActionNames.EnableIpForward), name);
        try
        {
            var nd = await fx.WaitForAsync(name, n => Remediated(n, "True") || Remediated(n, "False"), Verify, "Remediated True or False");
            var report = DiagnosisWaits.Describe(fx, nd);
            Assert.Equal("1", (await node.ExecAsync("cat", "/proc/sys/net/ipv4/ip_forward")).StdOut.Trim());
            Assert.True(File.Exists(Path.Combine(node.HostRoot, "etc/sysctl.d/99-zz-netdiag-ip_forward.conf")), report);
            Assert.True(Remediated(nd, "True"), report);
            var record = Assert.Single(nd.Status!.Remediations!, r => r.Action == ActionNames.EnableIpForward);
            Assert.Equal(("node/node-3", "Passed"), (record.Target, record.Recheck));
            Assert.True(nd.Status.Findings!.Single(f => f.Check == CheckNames.IpForward).Verified == true, report);
        }
        finally
        {
            await fx.DeleteDiagnosisAsync(name);
        }
    }

    [Fact]
    public async Task DnsLoop_Auto_patches_the_Corefile_forward_restarts_CoreDNS_and_the_recheck_passes()
    {
        await fx.UseOperatorArgsAsync(Enable);
        await using var lab = await fx.StartLabAsync("dnsLoop");
        const string name = "e2e-fix-dnsloop";
        // An upstream inside the lab (a node's address): never an address outside this machine.
        var upstream = lab.Lab.Node("node-4").NodeIp;
        await fx.ApplyAsync(Yaml(name, "dnsLoop", $"{ActionNames.PatchCorefileForward}, {ActionNames.RestartCoreDns}",
            extra: $"  dnsUpstreams: [\"{upstream}\"]"), name);
        try
        {
            var nd = await fx.WaitForAsync(name, n => n.Status?.Remediations?.Count(r => r.Result != "Planned") >= 2,
                TimeSpan.FromMinutes(2), "both CoreDNS actions recorded");
            var report = DiagnosisWaits.Describe(fx, nd);
            Assert.All(nd.Status!.Remediations!, r => Assert.True(r.Result == "Applied", report));

            var corefile = (await fx.Client.CoreV1.ReadNamespacedConfigMapAsync(KubeSystemObjects.CoreDnsConfigMap, KubeSystemObjects.Namespace)).Data["Corefile"];
            Assert.Contains($"forward . {upstream}", corefile);
            Assert.DoesNotContain("forward . /etc/resolv.conf", corefile);
            var deployment = await fx.Client.AppsV1.ReadNamespacedDeploymentAsync(KubeSystemObjects.CoreDnsDeployment, KubeSystemObjects.Namespace);
            Assert.True(deployment.Spec.Template.Metadata.Annotations?.ContainsKey("kubectl.kubernetes.io/restartedAt") == true, report);
            Assert.Equal(nd.Status.CurrentRun, deployment.Spec.Template.Metadata.Annotations!["netdiag.io/restarted-for-run"]);

            // The re-check: the restarted CoreDNS pods read the patched Corefile and stop looping, and the
            // nodes' loopback resolv.conf is no longer the trap because CoreDNS no longer forwards to it.
            nd = await fx.WaitForAsync(name, n => Remediated(n, "True") || Remediated(n, "False"), Verify, "Remediated True or False");
            report = DiagnosisWaits.Describe(fx, nd);
            Assert.True(Remediated(nd, "True"), report);
            Assert.All(nd.Status!.Remediations!, r => Assert.True(r.Recheck == "Passed", report));
            var loopFindings = nd.Status.Findings!.Where(f => f.Check == CheckNames.DnsLoop).ToList();
            Assert.True(loopFindings.Count > 0, report);
            Assert.All(loopFindings, f => Assert.True(f.Verified == true, report));
            Assert.Equal(0, nd.Status.Summary!.Critical);
            var pods = await fx.Client.CoreV1.ListNamespacedPodAsync(KubeSystemObjects.Namespace, labelSelector: "k8s-app=kube-dns");
            var running = pods.Items.Where(p => p.Metadata.DeletionTimestamp is null).ToList();
            Assert.True(running.Count > 0, report);
            Assert.All(running, p => Assert.True(p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true,
                $"{p.Metadata.Name} not Ready after the restart\n{report}"));
        }
        finally
        {
            await fx.DeleteDiagnosisAsync(name);
        }
    }

    [Fact]
    public async Task DryRun_changes_nothing_and_reports_the_plan_in_status()
    {
        await fx.UseOperatorArgsAsync(Enable);
        await using var lab = await fx.StartLabAsync("ipForward:node-3");
        const string name = "e2e-fix-dryrun";
        await fx.ApplyAsync(Yaml(name, "ipForward", ActionNames.EnableIpForward, dryRun: true), name);
        try
        {
            var nd = await fx.WaitForAsync(name, DiagnosisWaits.Finished, TimeSpan.FromMinutes(2), "run finished");
            var report = DiagnosisWaits.Describe(fx, nd);
            var record = Assert.Single(nd.Status!.Remediations!);
            Assert.Equal((ActionNames.EnableIpForward, "Planned", true, "node/node-3"), (record.Action, record.Result, record.DryRun, record.Target));
            Assert.StartsWith("Dry run", record.Message);
            Assert.Equal("0", (await lab.Lab.Node("node-3").ExecAsync("cat", "/proc/sys/net/ipv4/ip_forward")).StdOut.Trim());
            var jobs = await fx.Client.BatchV1.ListNamespacedJobAsync(EndToEndFixture.OperatorNamespace,
                labelSelector: $"{WellKnown.LabelDiagnosis}={name},{WellKnown.LabelComponent}={WellKnown.ComponentRemediation}");
            Assert.Empty(jobs.Items);
            Assert.Equal(("False", "DryRun"), (nd.Condition(ConditionTypes.Remediated)?.Status, nd.Condition(ConditionTypes.Remediated)?.Reason));
            Assert.Contains("Dry run", nd.Status.Findings!.Single(f => f.Check == CheckNames.IpForward).Remediation);
        }
        finally
        {
            await fx.DeleteDiagnosisAsync(name);
        }
    }

    [Fact]
    public async Task Auto_without_the_operator_flag_changes_nothing_and_the_finding_says_why()
    {
        await fx.UseOperatorArgsAsync();
        await using var lab = await fx.StartLabAsync("ipForward:node-3");
        const string name = "e2e-fix-noflag";
        await fx.ApplyAsync(Yaml(name, "ipForward", ActionNames.EnableIpForward), name);
        try
        {
            var nd = await fx.WaitForAsync(name, DiagnosisWaits.Finished, TimeSpan.FromMinutes(2), "run finished");
            var report = DiagnosisWaits.Describe(fx, nd);
            var record = Assert.Single(nd.Status!.Remediations!);
            Assert.Equal("Skipped", record.Result);
            Assert.Contains("--Operator:EnableRemediation=true", record.Message);
            var finding = nd.Status.Findings!.Single(f => f.Check == CheckNames.IpForward);
            Assert.Contains("--Operator:EnableRemediation=true", finding.Remediation);
            Assert.Equal("Critical", finding.Severity);
            Assert.Equal("0", (await lab.Lab.Node("node-3").ExecAsync("cat", "/proc/sys/net/ipv4/ip_forward")).StdOut.Trim());
            Assert.Equal(("False", "NotApplied"), (nd.Condition(ConditionTypes.Remediated)?.Status, nd.Condition(ConditionTypes.Remediated)?.Reason));
            Assert.True(report.Length > 0);
        }
        finally
        {
            await fx.DeleteDiagnosisAsync(name);
        }
    }
}
