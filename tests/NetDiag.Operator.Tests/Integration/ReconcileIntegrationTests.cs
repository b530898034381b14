using k8s;
using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Planning;
using Microsoft.Extensions.DependencyInjection;
using NetDiag.Operator.Runtime.Metrics;
using NetDiag.Testing;

namespace NetDiag.Operator.Tests.Integration;

/// <summary>
/// The operator against a real kube-apiserver and kube-controller-manager (no kubelet, no
/// scheduler): probe Jobs are accepted with the expected spec and get Pods that stay Pending, so
/// the run deadline turns them into Unknown findings naming the nodes. A probe that "ran" is
/// simulated the way a kubelet reports it: a pods/status update with a terminated container and
/// its termination message.
/// </summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class ReconcileIntegrationTests(ControlPlaneFixture cp)
{
    private static int _seq;

    /// <summary>A unique id per test, and a pod-network octet no other test uses (nodes are cluster-scoped).</summary>
    private static (string Id, int Octet) Unique()
    {
        var n = Interlocked.Increment(ref _seq);
        return ($"t{Environment.ProcessId % 1000}x{n}", 100 + n);
    }

    [Fact]
    public async Task Probe_jobs_are_accepted_with_the_expected_spec_and_pending_probes_time_out_as_unknown_naming_the_nodes()
    {
        var (id, o) = Unique();
        await using var h = new OperatorHarness(cp, id);
        await h.StartAsync();
        string a = h.NodeName("a"), b = h.NodeName("b"), c = h.NodeName("c");
        await h.CreateNodeAsync(a, $"10.{o}.1.0/24", "192.0.2.11");
        await h.CreateNodeAsync(b, $"10.{o}.2.0/24", "192.0.2.12");
        await h.CreateNodeAsync(c, $"10.{o}.3.0/24", "192.0.2.13", ready: false);

        var name = $"probe-{id}";
        await h.CreateDiagnosisAsync(name, new NetworkDiagnosisSpec { Checks = [CheckNames.IpForward], NodeSelector = h.TestNodes, Timeout = "10s" });

        var jobs = await OperatorHarness.EventuallyAsync(() => h.JobsAsync(name), j => j.Count == 2, "two probe Jobs");
        var d = (await h.GetDiagnosisAsync(name))!;
        foreach (var job in jobs)
        {
            var node = job.Spec.Template.Spec.NodeName;
            Assert.Contains(node, new[] { a, b });
            Assert.Equal(Names.JobName(name, d.Metadata.Uid, "g1", node), job.Metadata.Name);
            var owner = Assert.Single(job.Metadata.OwnerReferences);
            Assert.Equal((d.Metadata.Uid, true, true), (owner.Uid, owner.Controller, owner.BlockOwnerDeletion));
            Assert.Equal((0, 600), (job.Spec.BackoffLimit, job.Spec.TtlSecondsAfterFinished));
            Assert.InRange(job.Spec.ActiveDeadlineSeconds ?? 0, 1, 10);
            var pod = job.Spec.Template.Spec;
            Assert.True(pod.HostNetwork == true && pod.HostPID == true && pod.AutomountServiceAccountToken == false);
            Assert.Equal("Exists", Assert.Single(pod.Tolerations).OperatorProperty);
            var container = Assert.Single(pod.Containers);
            Assert.Equal(["NET_RAW", "NET_ADMIN"], container.SecurityContext.Capabilities.Add);
            Assert.True(container.VolumeMounts.Single().ReadOnlyProperty);
            Assert.True(ProbeReportCodec.TryParsePlan(container.Env.Single(e => e.Name == ProbePlan.EnvironmentVariable).Value, out var plan, out _));
            Assert.Equal(node, plan!.Node);
        }

        // The Job controller accepts them and creates their Pods (Pending: no kubelet here).
        await OperatorHarness.EventuallyAsync(() => h.Client.CoreV1.ListNamespacedPodAsync(h.Namespace, labelSelector: $"{WellKnown.LabelDiagnosis}={name}"),
            p => p.Items.Count == 2, "the Job controller to create the probe pods");

        var done = await h.PhaseAsync(name, Phases.Failed, Phases.Completed);
        Assert.Equal(Phases.Failed, done.Status!.Phase); // no node delivered a report
        var timedOut = done.Status.Findings!.Single(f => f.Cause == "probe timed out");
        Assert.Equal([a, b], timedOut.Nodes);
        Assert.Equal("Unknown", timedOut.Severity);
        var notReady = done.Status.Findings!.Single(f => f.Cause == "node NotReady");
        Assert.Equal([c], notReady.Nodes);
        Assert.Equal(3, done.Status.Summary!.NodesSelected);
        Assert.Equal("True", done.Status.Conditions!.Single(x => x.Type == ConditionTypes.Ready).Status);
        Assert.Equal(done.Metadata.Generation, done.Status.ObservedGeneration);

        Assert.Equal(2, (await h.JobsAsync(name)).Count); // never one for the NotReady node, never a duplicate
        var events = await OperatorHarness.EventuallyAsync(() => h.EventsAsync(name), e => e.Any(x => x.Reason == Reasons.RunCompleted), "a RunCompleted Event");
        Assert.Contains(events, e => e.Reason == Reasons.ProbeFailed && e.Type == "Warning" && e.Message.Contains("probe timed out on 2 of 3 nodes"));
        Assert.All(events, e => Assert.Equal(V1alpha1NetworkDiagnosis.GroupVersion, e.InvolvedObject.ApiVersion));
    }

    [Fact]
    public async Task Reports_delivered_through_the_pod_status_become_findings_and_a_malformed_one_is_ProbeFailed()
    {
        var (id, o) = Unique();
        await using var h = new OperatorHarness(cp, id);
        await h.StartAsync();
        string a = h.NodeName("a"), b = h.NodeName("b");
        await h.CreateNodeAsync(a, $"10.{o}.1.0/24", "192.0.2.21");
        await h.CreateNodeAsync(b, $"10.{o}.2.0/24", "192.0.2.22");
        var name = $"report-{id}";
        await h.CreateDiagnosisAsync(name, new NetworkDiagnosisSpec { Checks = [CheckNames.IpForward], NodeSelector = h.TestNodes, Timeout = "60s" });

        var pods = await OperatorHarness.EventuallyAsync(() => h.Client.CoreV1.ListNamespacedPodAsync(h.Namespace, labelSelector: $"{WellKnown.LabelDiagnosis}={name}"),
            p => p.Items.Count == 2, "the probe pods");
        var report = new ProbeReport
        {
            Node = a, StartedAt = DateTimeOffset.UtcNow, DurationMs = 420,
            Checks = [new CheckResult { Check = CheckNames.IpForward, Status = CheckStatus.Critical }],
            Findings = [new Finding { Check = CheckNames.IpForward, Severity = Severity.Critical, Cause = "ip_forward=0", Message = "IPv4 forwarding is off",
                Evidence = ["/proc/sys/net/ipv4/ip_forward = 0"], Remediation = "sysctl -w net.ipv4.ip_forward=1", AutoAction = ActionNames.EnableIpForward }],
        };
        foreach (var pod in pods.Items)
        {
            var node = pod.Spec.NodeName;
            var message = node == a ? ProbeReportCodec.ToTerminationMessage(report) : "probe: panic: something broke\n";
            await CompletePodAsync(h.Client, pod, exitCode: node == a ? 3 : 2, message);
        }

        var done = await h.PhaseAsync(name, Phases.Completed, Phases.Failed);
        Assert.Equal(Phases.Completed, done.Status!.Phase);
        var ipf = done.Status.Findings!.Single(f => f.Check == CheckNames.IpForward);
        Assert.Equal(("Critical", "ip_forward=0"), (ipf.Severity, ipf.Cause));
        Assert.Equal([a], ipf.Nodes);
        Assert.Equal("sysctl -w net.ipv4.ip_forward=1", ipf.Remediation);
        var bad = done.Status.Findings!.Single(f => f.Check == CheckNames.ProbeFailed);
        Assert.Equal(("malformed report", b), (bad.Cause, bad.Nodes!.Single()));
        Assert.Equal("Probed 1 of 2 nodes: 1 critical, 1 unknown", done.Status.Message);
        var healthy = done.Status.Conditions!.Single(x => x.Type == ConditionTypes.Healthy);
        Assert.Equal(("False", Reasons.FindingsPresent), (healthy.Status, healthy.Reason));

        var events = await OperatorHarness.EventuallyAsync(() => h.EventsAsync(name), e => e.Any(x => x.Reason == Reasons.RunCompleted), "a RunCompleted Event");
        Assert.Contains(events, e => e.Reason == Reasons.FindingDetected && e.Message.StartsWith("Critical ipForward on 1 of 2 nodes"));

        // /metrics: findings by check and severity, probe Jobs by outcome.
        var metrics = h.Services.GetRequiredService<OperatorMetrics>();
        Assert.Equal(1, metrics.Findings.Value(name, CheckNames.IpForward, "Critical"));
        Assert.Equal(1, metrics.Findings.Value(name, CheckNames.ProbeFailed, "Unknown"));
        Assert.True(metrics.ProbeJobs.Value("created") >= 2);
        Assert.Contains("netdiag_findings{", metrics.Registry.Export());
        Assert.Equal("Probed 1 of 2 nodes: 1 critical, 1 unknown", events.Single(e => e.Reason == Reasons.RunCompleted).Message);
    }

    [Fact]
    public async Task An_invalid_spec_is_marked_InvalidSpec_with_one_Warning_Event_and_no_Jobs()
    {
        var (id, o) = Unique();
        await using var h = new OperatorHarness(cp, id);
        await h.StartAsync();
        await h.CreateNodeAsync(h.NodeName("a"), $"10.{o}.1.0/24", "192.0.2.31");
        var name = $"invalid-{id}";
        // Passes the CRD schema (a well-formed duration), fails the operator's bound.
        await h.CreateDiagnosisAsync(name, new NetworkDiagnosisSpec { NodeSelector = h.TestNodes, Timeout = "3h" });

        var d = await h.PhaseAsync(name, Phases.Invalid);
        var ready = d.Status!.Conditions!.Single(x => x.Type == ConditionTypes.Ready);
        Assert.Equal(("False", Reasons.InvalidSpec), (ready.Status, ready.Reason));
        Assert.Contains("spec.timeout", ready.Message);
        var events = await OperatorHarness.EventuallyAsync(() => h.EventsAsync(name), e => e.Count > 0, "the InvalidSpec Event");
        // A few more poll periods: still one Event, still no Job (no retry storm).
        await Task.Delay(TimeSpan.FromSeconds(3));
        events = await h.EventsAsync(name);
        var e = Assert.Single(events);
        Assert.Equal(("Warning", Reasons.InvalidSpec, 1), (e.Type, e.Reason, e.Count ?? 1));
        Assert.Empty(await h.JobsAsync(name));
    }

    [Fact]
    public async Task Overlapping_podCIDRs_and_Pending_CoreDNS_pods_are_found_from_the_API()
    {
        var (id, o) = Unique();
        await using var h = new OperatorHarness(cp, id);
        await h.StartAsync();
        string a = h.NodeName("a"), b = h.NodeName("b");
        await h.CreateNodeAsync(a, $"10.{o}.1.0/24", "192.0.2.41");
        await h.CreateNodeAsync(b, $"10.{o}.1.128/25", "192.0.2.42");
        var coreDns = new List<string>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var pod = await h.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
                {
                    Metadata = new V1ObjectMeta { Name = $"coredns-{id}-{i}", Labels = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "coredns", Image = "registry.k8s.io/coredns/coredns:v1.8.0" }], AutomountServiceAccountToken = false },
                }, "kube-system");
                coreDns.Add(pod.Metadata.Name);
            }
            var name = $"api-{id}";
            await h.CreateDiagnosisAsync(name, new NetworkDiagnosisSpec { Checks = [CheckNames.PodCidrOverlap, CheckNames.CoreDnsHealth], NodeSelector = h.TestNodes });

            var d = await h.PhaseAsync(name, Phases.Completed);
            var overlap = d.Status!.Findings!.Single(f => f.Cause == "node podCIDRs overlap");
            Assert.Equal("Critical", overlap.Severity);
            Assert.Equal([a, b], overlap.Nodes);
            Assert.Contains(overlap.Evidence!, e => e.Contains($"10.{o}.1.128/25"));
            var pending = d.Status.Findings!.Single(f => f.Check == CheckNames.CoreDnsHealth && f.Cause == "CoreDNS Pending");
            Assert.Contains("network plugin", pending.Message);
            Assert.Equal(coreDns.Select(n => $"kube-system/{n}"), pending.Objects);
            Assert.Empty(await h.JobsAsync(name)); // cluster checks only: no probes
        }
        finally
        {
            foreach (var n in coreDns) await OperatorHarness.IgnoreNotFound(() => h.Client.CoreV1.DeleteNamespacedPodAsync(n, "kube-system", gracePeriodSeconds: 0));
        }
    }

    [Fact]
    public async Task Deleting_a_diagnosis_garbage_collects_its_Jobs()
    {
        var (id, o) = Unique();
        await using var h = new OperatorHarness(cp, id);
        await h.StartAsync();
        await h.CreateNodeAsync(h.NodeName("a"), $"10.{o}.1.0/24", "192.0.2.51");
        var name = $"gc-{id}";
        await h.CreateDiagnosisAsync(name, new NetworkDiagnosisSpec { Checks = [CheckNames.IpForward], NodeSelector = h.TestNodes, Timeout = "5m" });
        await OperatorHarness.EventuallyAsync(() => h.JobsAsync(name), j => j.Count == 1, "the probe Job");

        await h.DeleteDiagnosisAsync(name);
        await OperatorHarness.EventuallyAsync(() => h.JobsAsync(name), j => j.Count == 0, "the garbage collector to delete the Job", seconds: 90);
    }

    [Fact]
    public async Task The_operator_rides_out_an_API_server_restart_mid_run_without_duplicate_Jobs()
    {
        var (id, o) = Unique();
        await using var h = new OperatorHarness(cp, id);
        await h.StartAsync();
        var nodes = new[] { h.NodeName("a"), h.NodeName("b"), h.NodeName("c") };
        for (var i = 0; i < nodes.Length; i++) await h.CreateNodeAsync(nodes[i], $"10.{o}.{i + 1}.0/24", $"192.0.2.{61 + i}");
        var name = $"restart-{id}";
        await h.CreateDiagnosisAsync(name, new NetworkDiagnosisSpec { Checks = [CheckNames.IpForward], NodeSelector = h.TestNodes, Timeout = "3m", MaxConcurrentProbes = 2 });
        await OperatorHarness.EventuallyAsync(() => h.JobsAsync(name), j => j.Count >= 1, "the first probe Job");

        await cp.ControlPlane.RestartApiServerAsync();

        // Free the slots the way kubelets would, so the third Job must be created after the restart.
        var completed = new HashSet<string>();
        for (var round = 0; round < 2; round++)
        {
            var pods = await OperatorHarness.EventuallyAsync(() => h.Client.CoreV1.ListNamespacedPodAsync(h.Namespace, labelSelector: $"{WellKnown.LabelDiagnosis}={name}"),
                p => p.Items.Count(x => !completed.Contains(x.Metadata.Name)) > 0 && p.Items.Count >= (round == 0 ? 2 : 3), $"probe pods (round {round})");
            Assert.True(pods.Items.Count(p => !completed.Contains(p.Metadata.Name)) <= 2, "never more than maxConcurrentProbes=2 alive");
            foreach (var pod in pods.Items.Where(p => completed.Add(p.Metadata.Name)))
            {
                await CompletePodAsync(h.Client, pod, 0, ProbeReportCodec.ToTerminationMessage(new ProbeReport
                {
                    Node = pod.Spec.NodeName, StartedAt = DateTimeOffset.UtcNow, Checks = [new CheckResult { Check = CheckNames.IpForward, Status = CheckStatus.Pass }],
                }));
            }
        }
        var d = await h.PhaseAsync(name, Phases.Completed, Phases.Failed);
        var jobs = await h.JobsAsync(name);
        Assert.Equal(3, jobs.Count);
        Assert.Equal(nodes.Order(), jobs.Select(j => j.Spec.Template.Spec.NodeName).Order());
        Assert.Equal(jobs.Select(j => Names.JobName(name, d.Metadata.Uid, "g1", j.Spec.Template.Spec.NodeName)).Order(), jobs.Select(j => j.Metadata.Name).Order());
        Assert.Equal(Phases.Completed, d.Status!.Phase);
        Assert.Equal(3, d.Status.Summary!.NodesProbed);
        Assert.Equal("Probed 3 of 3 nodes: no findings", d.Status.Message);
    }

    /// <summary>What a kubelet reports when the probe container exits: terminated state, exit code, termination message.</summary>
    private static async Task CompletePodAsync(IKubernetes client, V1Pod pod, int exitCode, string message)
    {
        var now = DateTime.UtcNow;
        var status = new
        {
            status = new
            {
                phase = exitCode == 0 ? "Succeeded" : "Failed",
                containerStatuses = new[]
                {
                    new
                    {
                        name = pod.Spec.Containers[0].Name, image = pod.Spec.Containers[0].Image, imageID = "", ready = false, restartCount = 0,
                        state = new { terminated = new { exitCode, reason = exitCode == 0 ? "Completed" : "Error", message, startedAt = now, finishedAt = now } },
                    },
                },
            },
        };
        await client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(KubernetesJson.Serialize(status), V1Patch.PatchType.MergePatch), pod.Metadata.Name, pod.Metadata.NamespaceProperty);
    }
}
