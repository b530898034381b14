using System.Diagnostics;
using k8s;
using k8s.Models;
using NetDiag.Entities.Reports;
using NetDiag.LabCluster.KubeSystem;

namespace NetDiag.EndToEnd.Tests;

/// <summary>
/// The lab kubelet behaves as a kubelet where the operator and users can tell: Jobs complete or
/// fail through the real Job controller, logs come through the API server, CoreDNS crash-loops
/// on a real loop, and flannel pods restarted with a new port really move the overlay.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LabKubeletTests(EndToEndFixture fx)
{
    private const string Ns = "default";

    [Fact]
    public async Task A_probe_pod_runs_in_its_node_and_its_report_comes_back_as_log_and_termination_message()
    {
        await using var lab = await fx.StartLabAsync("ipForward:node-2", nodes: 2);
        var plan = new ProbePlan { Node = "node-2", Checks = ["ipForward"] };
        await CreateJobAsync("lab-probe", "node-2", "registry.example/netdiag-probe:dev",
            ["/usr/local/bin/netdiag-probe", "--output", "json", "--termination-log", "/dev/termination-log"],
            ProbeReportCodec.SerializePlan(plan));
        var pod = await WaitForPodAsync("lab-probe", p => p.Status?.Phase is "Succeeded" or "Failed");

        // exit code = worst status: ipForward is Critical (3), so the pod failed, as on a cluster
        var terminated = pod.Status.ContainerStatuses.Single().State.Terminated;
        Assert.Equal(("Failed", 3, "Error"), (pod.Status.Phase, terminated.ExitCode, terminated.Reason));
        Assert.True(ProbeReportCodec.TryParse(terminated.Message, out var compact, out var error), error);
        Assert.Equal("node-2", compact!.Node);

        // kubectl logs goes API server -> the lab kubelet's /containerLogs over HTTPS
        var logs = fx.ControlPlane.Kubectl("logs", "-n", Ns, pod.Metadata.Name).EnsureSuccess("kubectl logs");
        Assert.True(ProbeReportCodec.TryParseFromLog(logs.StdOut, out var full, out error), error + "\n" + logs.StdOut);
        var finding = Assert.Single(full!.Findings, f => f.Check == "ipForward");
        Assert.Contains(finding.Evidence, e => e.Contains("99-zz-hardening.conf"));

        await WaitForJobConditionAsync("lab-probe", "Failed");
        await DeleteJobAsync("lab-probe");
    }

    [Fact]
    public async Task A_pod_the_lab_cannot_run_fails_with_a_reason_and_its_Job_fails()
    {
        await using var lab = await fx.StartLabAsync(faults: null, nodes: 2);
        await CreateJobAsync("lab-nginx", "node-1", "nginx:1.25", ["nginx", "-g", "daemon off;"], null);
        var pod = await WaitForPodAsync("lab-nginx", p => p.Status?.Phase == "Failed");
        var terminated = pod.Status.ContainerStatuses.Single().State.Terminated;
        Assert.Equal("ContainerCannotRun", terminated.Reason);
        Assert.Contains("nginx:1.25", terminated.Message);
        await WaitForJobConditionAsync("lab-nginx", "Failed");
        await DeleteJobAsync("lab-nginx");
    }

    [Fact]
    public async Task CoreDNS_on_a_looping_node_crash_loops_with_the_loop_line_in_its_previous_log()
    {
        await using var lab = await fx.StartLabAsync("dnsLoop:node-1", nodes: 2);
        var pods = await fx.Client.CoreV1.ListNamespacedPodAsync(KubeSystemObjects.Namespace, labelSelector: "k8s-app=kube-dns");
        var looping = pods.Items.Single(p => p.Spec.NodeName == "node-1");
        var healthy = pods.Items.Single(p => p.Spec.NodeName == "node-2");

        var status = looping.Status.ContainerStatuses.Single();
        Assert.Equal("CrashLoopBackOff", status.State.Waiting?.Reason);
        Assert.True(status.RestartCount > 0);
        var previous = fx.ControlPlane.Kubectl("logs", "-n", "kube-system", looping.Metadata.Name, "--previous").EnsureSuccess("kubectl logs --previous");
        Assert.Contains("[FATAL] plugin/loop: Loop (127.0.0.1:44222 -> :53) detected for zone \".\"", previous.StdOut);

        Assert.True(healthy.Status.ContainerStatuses.Single().Ready);
        Assert.Equal(lab.Topology.CoreDns.Single(c => c.Node == "node-2").PodIp, healthy.Status.PodIP);
        var endpoints = await fx.Client.CoreV1.ReadNamespacedEndpointsAsync("kube-dns", "kube-system");
        Assert.Equal([healthy.Status.PodIP], endpoints.Subsets.SelectMany(s => s.Addresses).Select(a => a.Ip).Distinct());
    }

    [Fact]
    public async Task CoreDNS_restarted_with_a_Corefile_that_forwards_to_real_upstreams_stops_looping()
    {
        await using var lab = await fx.StartLabAsync("dnsLoop:node-1", nodes: 2);
        await WaitForPodsAsync(KubeSystemObjects.Namespace, "k8s-app=kube-dns", 2,
            p => p.Spec.NodeName != "node-1" || p.Status?.ContainerStatuses?.SingleOrDefault()?.State?.Waiting?.Reason == "CrashLoopBackOff");

        // what patchCorefileForward + restartCoreDNS do: explicit upstreams, then a rollout restart; the
        // node's resolv.conf keeps its loopback server, as real CoreDNS then no longer reads it
        var upstream = lab.Lab.Node("node-2").NodeIp;
        var cm = await fx.Client.CoreV1.ReadNamespacedConfigMapAsync(KubeSystemObjects.CoreDnsConfigMap, KubeSystemObjects.Namespace);
        cm.Data["Corefile"] = cm.Data["Corefile"].Replace("forward . /etc/resolv.conf", $"forward . {upstream}");
        await fx.Client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, cm.Metadata.Name, cm.Metadata.NamespaceProperty);
        fx.ControlPlane.Kubectl("rollout", "restart", "-n", "kube-system", $"deployment/{KubeSystemObjects.CoreDnsDeployment}").EnsureSuccess("rollout restart coredns");

        var restarted = await WaitForPodsAsync(KubeSystemObjects.Namespace, "k8s-app=kube-dns", 2,
            p => p.Metadata.Annotations?.ContainsKey("kubectl.kubernetes.io/restartedAt") == true && p.Status?.ContainerStatuses?.SingleOrDefault()?.Ready == true);
        Assert.Contains(restarted, p => p.Spec.NodeName == "node-1");
        Assert.Contains("127.0.0.53", File.ReadAllText(Path.Combine(lab.Lab.Node("node-1").HostRoot, "etc/resolv.conf")));
    }

    [Fact]
    public async Task Flannel_pods_restarted_with_a_new_port_in_net_conf_move_the_overlay_to_it()
    {
        await using var lab = await fx.StartLabAsync("flannelPort:node-2", nodes: 2);
        var peer = lab.Lab.Node("node-2").OverlayIp;
        Assert.False((await lab.Lab.Node("node-1").ExecAsync("ping", "-c", "1", "-W", "1", peer)).Succeeded, "udp/8472 is dropped on node-2");

        // what patchFlannelBackend does: a new Backend.Port in net-conf.json, then restart the pods
        var cm = await fx.Client.CoreV1.ReadNamespacedConfigMapAsync(KubeSystemObjects.FlannelConfigMap, KubeSystemObjects.Namespace);
        cm.Data["net-conf.json"] = KubeSystemObjects.NetConf(lab.Topology.FlannelNetwork, "vxlan", 8475);
        await fx.Client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, cm.Metadata.Name, cm.Metadata.NamespaceProperty);
        fx.ControlPlane.Kubectl("delete", "pod", "-n", "kube-system", "-l", "app=flannel", "--wait=true").EnsureSuccess("restart flannel");

        var sw = Stopwatch.StartNew();
        while (lab.Lab.VxlanPort != 8475 && sw.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(250);
        Assert.Equal(8475, lab.Lab.VxlanPort);
        Assert.True((await lab.Lab.Node("node-1").ExecAsync("ping", "-c", "1", "-W", "2", peer)).Succeeded, "the overlay on 8475 passes");
        var flannel = await WaitForPodsAsync("kube-system", "app=flannel", 2, p => p.Status?.Phase == "Running");
        var log = fx.ControlPlane.Kubectl("logs", "-n", "kube-system", flannel[0].Metadata.Name).EnsureSuccess("flannel log");
        Assert.Contains("VXLAN config: VNI=1 Port=8475", log.StdOut);
    }

    // ------------------------------------------------------------------ helpers

    private async Task CreateJobAsync(string name, string node, string image, IList<string> command, string? plan)
    {
        var job = new V1Job
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Ns },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["job"] = name } },
                    Spec = new V1PodSpec
                    {
                        NodeName = node,
                        HostNetwork = true,
                        HostPID = true,
                        RestartPolicy = "Never",
                        AutomountServiceAccountToken = false,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "main",
                                Image = image,
                                Command = command,
                                Env = plan is null ? null : [new V1EnvVar { Name = ProbePlan.EnvironmentVariable, Value = plan }],
                                TerminationMessagePath = "/dev/termination-log",
                                VolumeMounts = [new V1VolumeMount { Name = "host-root", MountPath = "/host", ReadOnlyProperty = true }],
                            },
                        ],
                        Volumes = [new V1Volume { Name = "host-root", HostPath = new V1HostPathVolumeSource { Path = "/" } }],
                    },
                },
            },
        };
        await fx.Client.BatchV1.CreateNamespacedJobAsync(job, Ns);
    }

    private async Task<V1Pod> WaitForPodAsync(string job, Func<V1Pod, bool> done)
    {
        var pods = await WaitForPodsAsync(Ns, $"job={job}", 1, done);
        return pods[0];
    }

    private async Task<IList<V1Pod>> WaitForPodsAsync(string ns, string selector, int count, Func<V1Pod, bool> done)
    {
        var sw = Stopwatch.StartNew();
        IList<V1Pod> pods = [];
        while (sw.Elapsed < TimeSpan.FromSeconds(90))
        {
            pods = (await fx.Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector)).Items
                .Where(p => p.Metadata.DeletionTimestamp is null).ToList();
            if (pods.Count >= count && pods.All(done)) return pods;
            await Task.Delay(250);
        }
        throw new Xunit.Sdk.XunitException($"pods {selector} in {ns} not as expected after 90 s: " +
            string.Join("; ", pods.Select(p => $"{p.Metadata.Name} {p.Status?.Phase}")) + "\n" + fx.ControlPlane.Kubectl("get", "pods", "-A", "-o", "wide").StdOut);
    }

    private async Task WaitForJobConditionAsync(string name, string type)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            var job = await fx.Client.BatchV1.ReadNamespacedJobAsync(name, Ns);
            if (job.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True") == true) return;
            await Task.Delay(250);
        }
        throw new Xunit.Sdk.XunitException($"job {name} has no {type} condition after 60 s");
    }

    private Task DeleteJobAsync(string name) =>
        fx.ControlPlane.KubectlAsync(["delete", "job", "-n", Ns, name, "--cascade=foreground", "--wait=true", "--timeout=60s"]);
}
