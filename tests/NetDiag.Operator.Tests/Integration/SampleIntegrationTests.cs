using k8s;
using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;
using NetDiag.Testing;

namespace NetDiag.Operator.Tests.Integration;

/// <summary>
/// Every sample in config/samples, applied with kubectl to the real API server, reaches its
/// expected phase; the invalid ones are refused by the schema or marked InvalidSpec by the
/// operator. Probe pods are completed the way a kubelet would (pods/status with a terminated
/// container and a passing report), because this control plane has no kubelet.
/// </summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class SampleIntegrationTests(ControlPlaneFixture cp)
{
    private static string Samples => Path.Combine(ControlPlane.FindRepoRoot(), "config", "samples");

    [Fact]
    public async Task Each_sample_reaches_its_expected_phase()
    {
        await using var h = new OperatorHarness(cp, $"s{Environment.ProcessId % 1000}");
        await h.StartAsync();
        await h.CreateNodeAsync(h.NodeName("cp"), "10.250.1.0/24", "192.0.2.71");
        await h.Client.CoreV1.PatchNodeAsync(new V1Patch("{\"metadata\":{\"labels\":{\"node-role.kubernetes.io/control-plane\":\"\"}}}", V1Patch.PatchType.MergePatch), h.NodeName("cp"));
        await h.CreateNodeAsync(h.NodeName("w"), "10.250.2.0/24", "192.0.2.72");

        using var kubelet = new CancellationTokenSource();
        var stand = Task.Run(() => StandInKubeletAsync(h.Client, h.Namespace, kubelet.Token));
        try
        {
            var names = new List<string>();
            foreach (var file in Directory.GetFiles(Samples, "netdiag_v1alpha1_*.yaml").Order())
            {
                var yaml = await File.ReadAllTextAsync(file);
                (await cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], yaml)).EnsureSuccess($"kubectl apply {Path.GetFileName(file)}");
                names.Add(yaml.Split('\n').First(l => l.TrimStart().StartsWith("name:")).Split(':', 2)[1].Trim());
            }
            Assert.Contains("flannel-cluster", names);
            foreach (var name in names)
            {
                // A scheduled sample waits for its time (the scheduling seam); all others run once now.
                var d = await h.PhaseAsync(name, Phases.Completed, Phases.Pending, Phases.Running, Phases.Failed, Phases.Invalid);
                if (d.Spec.Schedule is null)
                    d = await h.PhaseAsync(name, Phases.Completed);
                Assert.NotEqual(Phases.Invalid, d.Status!.Phase);
                Assert.Equal(d.Metadata.Generation, d.Status.ObservedGeneration);
            }
            var cpOnly = (await h.GetDiagnosisAsync("control-plane-only"))!;
            Assert.Equal(1, cpOnly.Status!.Summary!.NodesProbed); // its nodeSelector picks the control-plane node only
            Assert.All(cpOnly.Status.Findings ?? [], f => Assert.Null(f.Remediation)); // remediation mode Off
        }
        finally
        {
            kubelet.Cancel();
            await stand;
        }
    }

    [Fact]
    public async Task Invalid_samples_are_refused_by_the_schema_or_marked_InvalidSpec()
    {
        await using var h = new OperatorHarness(cp, $"i{Environment.ProcessId % 1000}");
        await h.StartAsync();
        foreach (var file in Directory.GetFiles(Path.Combine(Samples, "invalid"), "*.yaml").Order())
        {
            var yaml = await File.ReadAllTextAsync(file);
            var name = yaml.Split('\n').First(l => l.TrimStart().StartsWith("name:")).Split(':', 2)[1].Trim();
            var applied = await cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], yaml);
            if (Path.GetFileName(file).StartsWith("schema_"))
            {
                Assert.False(applied.Succeeded, $"{file} should be refused by the CRD schema");
                Assert.Contains("spec.", applied.StdErr);
                continue;
            }
            applied.EnsureSuccess($"kubectl apply {file}");
            var d = await h.PhaseAsync(name, Phases.Invalid);
            var ready = d.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready);
            Assert.Equal(("False", Reasons.InvalidSpec), (ready.Status, ready.Reason));
            Assert.Contains("spec.", ready.Message);
            Assert.Empty(await h.JobsAsync(name));
        }
    }

    /// <summary>Completes every probe pod with a passing report for its plan's checks, as a kubelet running the probe would report it.</summary>
    private static async Task StandInKubeletAsync(IKubernetes client, string ns, CancellationToken ct)
    {
        var done = new HashSet<string>();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"{WellKnown.LabelComponent}={WellKnown.ComponentProbe}", cancellationToken: ct);
                foreach (var pod in pods.Items.Where(p => !done.Contains(p.Metadata.Name)))
                {
                    var planJson = pod.Spec.Containers[0].Env.First(e => e.Name == ProbePlan.EnvironmentVariable).Value;
                    Assert.True(ProbeReportCodec.TryParsePlan(planJson, out var plan, out var error), error);
                    var checks = plan!.Checks.Count > 0 ? plan.Checks : CheckNames.NodeChecks.ToList();
                    var report = new ProbeReport
                    {
                        Node = plan.Node, StartedAt = DateTimeOffset.UtcNow, DurationMs = 300,
                        Checks = checks.Select(c => new CheckResult { Check = c, Status = CheckStatus.Pass }).ToList(),
                    };
                    var now = DateTime.UtcNow;
                    var patch = new
                    {
                        status = new
                        {
                            phase = "Succeeded",
                            containerStatuses = new[]
                            {
                                new
                                {
                                    name = pod.Spec.Containers[0].Name, image = pod.Spec.Containers[0].Image, imageID = "", ready = false, restartCount = 0,
                                    state = new { terminated = new { exitCode = 0, reason = "Completed", message = ProbeReportCodec.ToTerminationMessage(report), startedAt = now, finishedAt = now } },
                                },
                            },
                        },
                    };
                    await client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch), pod.Metadata.Name, ns, cancellationToken: ct);
                    done.Add(pod.Metadata.Name);
                }
                await Task.Delay(300, ct);
            }
            catch (OperationCanceledException) { return; }
            catch (k8s.Autorest.HttpOperationException) { await Task.Delay(300, CancellationToken.None); }
        }
    }
}
