using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Hosting;
using NetDiag.Operator.Remediation;
using NetDiag.Operator.Runtime;
using NetDiag.Testing;

namespace NetDiag.Operator.Tests.Remediation;

/// <summary>
/// Remediation tests share the real control plane but never run beside other collections: they own
/// kube-system/coredns and kube-flannel/kube-flannel-cfg while they run.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RemediationControlPlaneCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "RemediationControlPlane";
}

/// <summary>
/// The executor, the coordinator and the permission checks against a real Kubernetes 1.20 API
/// server (hack/controlplane): real merge patches, resourceVersions, admission of the node Job,
/// RBAC decisions from the committed config/rbac roles.
/// </summary>
[Collection(RemediationControlPlaneCollection.Name)]
public sealed class RemediationExecutorIntegrationTests : IAsyncLifetime
{
    private const string FlannelNs = "kube-flannel";
    private const string OperatorNs = "netdiag-system";

    private const string NetConf = """
        {
          "Network": "10.244.0.0/16",
          "EnableNFTables": false,
          "Backend": {
            "Type": "vxlan"
          }
        }
        """;

    private const string Corefile = """
        .:53 {
            errors
            health {
               lameduck 5s
            }
            kubernetes cluster.local in-addr.arpa ip6.arpa {
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
            }
            forward . /etc/resolv.conf {
               max_concurrent 1000
            }
            cache 30
            loop
            reload
        }
        """;

    private readonly ControlPlaneFixture cp;
    private readonly k8s.Kubernetes client;
    private readonly TimeProvider time = TimeProvider.System;
    private readonly string runId = $"g1-{Guid.NewGuid().ToString("N")[..8]}";

    public RemediationExecutorIntegrationTests(ControlPlaneFixture cp)
    {
        this.cp = cp;
        client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cp.KubeconfigPath));
    }

    public async Task InitializeAsync()
    {
        foreach (var ns in new[] { FlannelNs, OperatorNs })
            await IgnoreConflict(() => client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = ns } }));
        await Recreate(() => client.CoreV1.DeleteNamespacedConfigMapAsync("kube-flannel-cfg", FlannelNs),
            () => client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "kube-flannel-cfg" }, Data = new Dictionary<string, string> { ["net-conf.json"] = NetConf } }, FlannelNs));
        await Recreate(() => client.CoreV1.DeleteNamespacedConfigMapAsync("coredns", "kube-system"),
            () => client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "coredns" }, Data = new Dictionary<string, string> { ["Corefile"] = Corefile } }, "kube-system"));
        await Recreate(() => client.AppsV1.DeleteNamespacedDeploymentAsync("coredns", "kube-system"),
            () => client.AppsV1.CreateNamespacedDeploymentAsync(Deployment("coredns", "kube-dns"), "kube-system"));
        await Recreate(() => client.AppsV1.DeleteNamespacedDaemonSetAsync("kube-flannel-ds", FlannelNs),
            () => client.AppsV1.CreateNamespacedDaemonSetAsync(DaemonSet(), FlannelNs));
        // The DaemonSet controller adopts matching pods, so deleting the old DaemonSet has the garbage
        // collector delete them too, concurrently: tolerate 404s, and name this test's pods uniquely.
        foreach (var pod in (await client.CoreV1.ListNamespacedPodAsync(FlannelNs, labelSelector: "app=flannel")).Items)
            await IgnoreNotFound(() => client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, FlannelNs));
        for (var i = 0; i < 3; i++)
            await CreateFlannelPod($"kube-flannel-ds-{runId}-{i}");
    }

    public Task DisposeAsync()
    {
        client.Dispose();
        return Task.CompletedTask;
    }

    private RemediationContext Context => new("flannel-cluster", "uid-" + runId, runId, OperatorNs, "netdiag-probe:dev", null, null);

    [Fact]
    public async Task Flannel_port_patch_keeps_the_previous_config_restarts_flannel_and_is_idempotent()
    {
        var executor = new RemediationExecutor(client, time);
        var action = new PlannedAction
        {
            Action = ActionNames.PatchFlannelBackend, Target = $"{FlannelNs}/configmap/kube-flannel-cfg", Port = 8475,
            Description = "patch kube-flannel-cfg net-conf.json Backend.Port 8472→8475 and restart the flannel pods",
        };

        var first = await executor.ApplyAsync(action, Context, default);

        Assert.Equal(RemediationResults.Applied, first.Record.Result);
        Assert.True(first.Changed);
        Assert.Equal(RemediationResults.RecheckPending, first.Record.Recheck);
        Assert.Contains("Backend.Port 8472→8475", first.Record.Message);
        Assert.Contains("deleted 3 pod(s)", first.Record.Message);
        var cm = await client.CoreV1.ReadNamespacedConfigMapAsync("kube-flannel-cfg", FlannelNs);
        Assert.Equal(8475, FlannelNetConfPatch.CurrentPort(cm.Data["net-conf.json"]));
        Assert.Equal(NetConf, cm.Metadata.Annotations[FlannelNetConfPatch.PreviousAnnotation]);
        Assert.Equal($"flannel-cluster/{runId}", cm.Metadata.Annotations[ConfigMapPatchBody.PatchedByAnnotation]);
        Assert.Empty((await client.CoreV1.ListNamespacedPodAsync(FlannelNs, labelSelector: "app=flannel")).Items);
        var ds = await client.AppsV1.ReadNamespacedDaemonSetAsync("kube-flannel-ds", FlannelNs);
        Assert.Equal(runId, ds.Metadata.Annotations[RolloutRestart.RestartedForRunAnnotation]);

        // The DaemonSet "recreates" a pod; applying again for the same run changes nothing.
        await CreateFlannelPod($"kube-flannel-ds-{runId}-new");
        var second = await executor.ApplyAsync(action, Context, default);
        Assert.Equal(RemediationResults.Applied, second.Record.Result);
        Assert.False(second.Changed);
        Assert.Equal(cm.Metadata.ResourceVersion, (await client.CoreV1.ReadNamespacedConfigMapAsync("kube-flannel-cfg", FlannelNs)).Metadata.ResourceVersion);
        Assert.Single((await client.CoreV1.ListNamespacedPodAsync(FlannelNs, labelSelector: "app=flannel")).Items);

        // The documented rollback (docs/remediation.md): read the annotation, put its value back.
        var previous = cp.Kubectl("-n", FlannelNs, "get", "cm", "kube-flannel-cfg", "-o",
            @"jsonpath={.metadata.annotations.netdiag\.io/previous-net-conf\.json}").EnsureSuccess("read the previous net-conf.json").StdOut.TrimEnd('\n'); // as $(...) strips it
        Assert.Equal(NetConf, previous);
        cp.Kubectl("-n", FlannelNs, "patch", "cm", "kube-flannel-cfg", "--type=merge", "-p",
            System.Text.Json.JsonSerializer.Serialize(new { data = new Dictionary<string, string> { ["net-conf.json"] = previous } })).EnsureSuccess("rollback");
        Assert.Equal(8472, FlannelNetConfPatch.CurrentPort((await client.CoreV1.ReadNamespacedConfigMapAsync("kube-flannel-cfg", FlannelNs)).Data["net-conf.json"]));
    }

    [Fact]
    public async Task Corefile_patch_records_the_previous_corefile_and_a_second_apply_keeps_the_resource_version()
    {
        var executor = new RemediationExecutor(client, time);
        var action = new PlannedAction
        {
            Action = ActionNames.PatchCorefileForward, Target = "kube-system/configmap/coredns", Upstreams = ["192.0.2.53"],
            Description = "patch kube-system/coredns Corefile",
        };

        var first = await executor.ApplyAsync(action, Context, default);
        Assert.Equal(RemediationResults.Applied, first.Record.Result);
        var cm = await client.CoreV1.ReadNamespacedConfigMapAsync("coredns", "kube-system");
        Assert.Contains("forward . 192.0.2.53 {", cm.Data["Corefile"]);
        Assert.DoesNotContain("/etc/resolv.conf", cm.Data["Corefile"]);
        Assert.Equal(Corefile, cm.Metadata.Annotations[CorefileForwardPatch.PreviousAnnotation]);

        var second = await executor.ApplyAsync(action, Context, default);
        Assert.False(second.Changed);
        Assert.Contains("nothing to patch", second.Record.Message);
        Assert.Equal(cm.Metadata.ResourceVersion, (await client.CoreV1.ReadNamespacedConfigMapAsync("coredns", "kube-system")).Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Rollout_restart_changes_the_pod_template_once_per_run()
    {
        var executor = new RemediationExecutor(client, time);
        var action = new PlannedAction { Action = ActionNames.RestartCoreDns, Target = "kube-system/deployment/coredns", Description = "rollout restart kube-system/deployment coredns" };
        var before = await client.AppsV1.ReadNamespacedDeploymentAsync("coredns", "kube-system");

        var first = await executor.ApplyAsync(action, Context, default);
        Assert.True(first.Changed, first.Record.Message);
        var after = await client.AppsV1.ReadNamespacedDeploymentAsync("coredns", "kube-system");
        Assert.True(after.Metadata.Generation > before.Metadata.Generation); // a new ReplicaSet rolls out
        Assert.True(after.Spec.Template.Metadata.Annotations.ContainsKey(RolloutRestart.RestartedAtAnnotation));
        Assert.Equal(runId, after.Spec.Template.Metadata.Annotations[RolloutRestart.RestartedForRunAnnotation]);

        // Again for the same run: no new rollout. (Not the resourceVersion: the Deployment
        // controller keeps writing status; generation moves only with the spec.)
        var second = await executor.ApplyAsync(action, Context, default);
        Assert.False(second.Changed);
        var unchanged = await client.AppsV1.ReadNamespacedDeploymentAsync("coredns", "kube-system");
        Assert.Equal(after.Metadata.Generation, unchanged.Metadata.Generation);
        Assert.Equal(after.Spec.Template.Metadata.Annotations[RolloutRestart.RestartedAtAnnotation], unchanged.Spec.Template.Metadata.Annotations[RolloutRestart.RestartedAtAnnotation]);

        // The next run may restart again.
        var next = await executor.ApplyAsync(action, Context with { RunId = runId + "x" }, default);
        Assert.True(next.Changed);
    }

    [Fact]
    public async Task The_node_job_is_admitted_by_the_api_server_pinned_to_its_node_and_created_once()
    {
        var executor = new RemediationExecutor(client, time);
        var action = new PlannedAction
        {
            Action = ActionNames.EnableIpForward, Target = "node/worker-1", Node = "worker-1", PreviousValue = "0",
            Description = "run a Job on node worker-1 that sets net.ipv4.ip_forward=1 and persists it in /etc/sysctl.d/99-zz-netdiag-ip_forward.conf",
        };

        var first = await executor.ApplyAsync(action, Context, default);
        Assert.Equal(RemediationResults.Applied, first.Record.Result);
        Assert.True(first.Changed, first.Record.Message);
        Assert.StartsWith($"{OperatorNs}/nd-fix-ipfwd-worker-1-", first.Job);
        var job = await client.BatchV1.ReadNamespacedJobAsync(first.Job![(OperatorNs.Length + 1)..], OperatorNs);
        Assert.Equal("worker-1", job.Spec.Template.Spec.NodeName);
        Assert.True(job.Spec.Template.Spec.Containers[0].SecurityContext.Privileged);
        Assert.Equal(runId, job.Metadata.Labels[WellKnown.LabelRun]);

        var second = await executor.ApplyAsync(action, Context, default);
        Assert.False(second.Changed);
        Assert.Equal(first.Job, second.Job);
        Assert.Contains("already created", second.Record.Message);
    }

    [Fact]
    public async Task Missing_objects_and_bad_configs_become_failed_records_not_exceptions()
    {
        var executor = new RemediationExecutor(client, time);
        await client.CoreV1.DeleteNamespacedConfigMapAsync("coredns", "kube-system");
        var missing = await executor.ApplyAsync(
            new PlannedAction { Action = ActionNames.PatchCorefileForward, Target = "kube-system/configmap/coredns", Upstreams = ["192.0.2.53"], Description = "patch the Corefile" },
            Context, default);
        Assert.Equal(RemediationResults.Failed, missing.Record.Result);
        Assert.Contains("not found", missing.Record.Message);

        await client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"data":{"net-conf.json":"{ broken"}}""", V1Patch.PatchType.MergePatch), "kube-flannel-cfg", FlannelNs);
        var broken = await executor.ApplyAsync(
            new PlannedAction { Action = ActionNames.PatchFlannelBackend, Target = "x", Port = 8475, FlannelNamespace = FlannelNs, Description = "patch flannel" },
            Context, default);
        Assert.Equal(RemediationResults.Failed, broken.Record.Result);
        Assert.Contains("not valid JSON", broken.Record.Message);
    }

    [Fact]
    public async Task The_committed_rbac_grants_exactly_what_auto_needs_only_with_the_remediation_role_bound()
    {
        cp.Kubectl("apply", "-f", Path.Join(cp.ControlPlane.RepoRoot, "config/rbac/role.yaml")).EnsureSuccess("apply operator role");
        cp.Kubectl("apply", "-f", Path.Join(cp.ControlPlane.RepoRoot, "config/rbac/remediation/role.yaml")).EnsureSuccess("apply remediation roles");

        var plain = await ServiceAccountClient("rem-plain", remediation: false);
        var full = await ServiceAccountClient("rem-full", remediation: true);
        var actions = ActionNames.All.Select(a => new PlannedAction { Action = a, Target = "t", Description = a }).ToList();

        var without = await SelfSubjectAccessReviewer.MissingAsync(new SelfSubjectAccessReviewer(plain), actions, FlannelNs, OperatorNs, default);
        Assert.All(ActionNames.All, a => Assert.NotEmpty(without[a]));
        Assert.Contains("patch configmaps kube-flannel/kube-flannel-cfg", without[ActionNames.PatchFlannelBackend]);
        Assert.Equal(["create nodeactions.netdiag.io"], without[ActionNames.EnableIpForward]);

        var with = await SelfSubjectAccessReviewer.MissingAsync(new SelfSubjectAccessReviewer(full), actions, FlannelNs, OperatorNs, default);
        Assert.All(ActionNames.All, a => Assert.Empty(with[a]));
    }

    [Fact]
    public async Task The_coordinator_applies_a_dns_loop_fix_in_auto_and_only_explains_without_the_flag()
    {
        var diagnosis = new V1alpha1NetworkDiagnosis
        {
            Metadata = new() { Name = "dns-loop", Uid = Guid.NewGuid().ToString(), Generation = 1 },
            Spec = new()
            {
                Remediation = new() { Mode = RemediationModes.Auto, Actions = [ActionNames.PatchCorefileForward, ActionNames.RestartCoreDns] },
            },
        };
        var findings = ActionableFinding.Group([(new Finding
        {
            Check = CheckNames.DnsLoop, Cause = "loopback nameserver", Severity = Severity.Warning, Message = "loop trap",
            AutoAction = ActionNames.PatchCorefileForward, Data = new() { [FindingDataKeys.Upstreams] = "127.0.0.53,192.0.2.53" },
        }, "worker-1", null)]);
        var events = new RecordedEvents();

        var off = new RemediationCoordinator(client, events, new OperatorOptions { EnableRemediation = false }, time);
        var explained = await off.PlanAndApplyAsync(diagnosis, runId, findings, default);
        Assert.All(explained.Records, r => Assert.Equal(RemediationResults.Skipped, r.Result));
        Assert.Contains("without --Operator:EnableRemediation=true", explained.Records[0].Message);
        Assert.Empty(explained.RecheckChecks);
        Assert.Contains("/etc/resolv.conf", (await client.CoreV1.ReadNamespacedConfigMapAsync("coredns", "kube-system")).Data["Corefile"]);
        Assert.Empty(events.Recorded);

        var on = new RemediationCoordinator(client, events, new OperatorOptions { EnableRemediation = true, Namespace = OperatorNs }, time);
        var applied = await on.PlanAndApplyAsync(diagnosis, runId, findings, default);
        Assert.Equal([ActionNames.PatchCorefileForward, ActionNames.RestartCoreDns], applied.Records.Select(r => r.Action));
        Assert.All(applied.Records, r => Assert.Equal(RemediationResults.Applied, r.Result));
        Assert.Equal([CheckNames.DnsLoop], applied.RecheckChecks);
        Assert.True(applied.RecheckDelay > TimeSpan.Zero);
        Assert.Contains("forward . 192.0.2.53 {", (await client.CoreV1.ReadNamespacedConfigMapAsync("coredns", "kube-system")).Data["Corefile"]);
        Assert.Equal(2, events.Recorded.Count(e => e.Reason == Reasons.RemediationApplied));

        // Level-triggered: the same run again changes nothing and records no new Event.
        var again = await on.PlanAndApplyAsync(diagnosis, runId, findings, default);
        Assert.All(again.Records, r => Assert.Equal(RemediationResults.Applied, r.Result));
        Assert.Equal(2, events.Recorded.Count(e => e.Reason == Reasons.RemediationApplied));
    }

    /// <summary>Captures what the coordinator asks to record (the Kubernetes recorder is tested by the runtime).</summary>
    private sealed class RecordedEvents : IEventRecorder
    {
        public List<(string Type, string Reason, string Message)> Recorded { get; } = [];

        public Task RecordAsync(IKubernetesObject<V1ObjectMeta> involvedObject, string type, string reason, string message, CancellationToken cancellationToken)
        {
            Recorded.Add((type, reason, message));
            return Task.CompletedTask;
        }
    }

    /// <summary>A client acting as a new ServiceAccount bound to the operator roles, and to the remediation roles if asked.</summary>
    private async Task<k8s.Kubernetes> ServiceAccountClient(string name, bool remediation)
    {
        await IgnoreConflict(() => client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new() { Name = name } }, OperatorNs));
        var subject = new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = OperatorNs };
        await IgnoreConflict(() => client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new() { Name = $"{name}-operator" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "netdiag-operator" },
            Subjects = [subject],
        }));
        await IgnoreConflict(() => client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new() { Name = $"{name}-operator" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "netdiag-operator" },
            Subjects = [subject],
        }, OperatorNs));
        if (remediation)
        {
            foreach (var ns in new[] { "kube-system", FlannelNs })
            {
                await IgnoreConflict(() => client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
                {
                    Metadata = new() { Name = $"{name}-remediation" },
                    RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "netdiag-remediation" },
                    Subjects = [subject],
                }, ns));
            }

            await IgnoreConflict(() => client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
            {
                Metadata = new() { Name = $"{name}-node-actions" },
                RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "netdiag-remediation-node-actions" },
                Subjects = [subject],
            }));
        }

        var token = await client.CoreV1.CreateNamespacedServiceAccountTokenAsync(
            new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { ExpirationSeconds = 600 } }, name, OperatorNs);
        var admin = KubernetesClientConfiguration.BuildConfigFromConfigFile(cp.KubeconfigPath);
        return new k8s.Kubernetes(new KubernetesClientConfiguration { Host = admin.Host, SslCaCerts = admin.SslCaCerts, AccessToken = token.Status.Token });
    }

    private async Task CreateFlannelPod(string name) =>
        await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new() { Name = name, Labels = new Dictionary<string, string> { ["app"] = "flannel", ["tier"] = "node" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "kube-flannel", Image = "flannel:test" }] },
        }, FlannelNs);

    private static V1Deployment Deployment(string name, string app) => new()
    {
        Metadata = new() { Name = name },
        Spec = new V1DeploymentSpec
        {
            Replicas = 0,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["k8s-app"] = app } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new() { Labels = new Dictionary<string, string> { ["k8s-app"] = app } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = name, Image = "coredns:test" }] },
            },
        },
    };

    private static V1DaemonSet DaemonSet() => new()
    {
        Metadata = new() { Name = "kube-flannel-ds" },
        Spec = new V1DaemonSetSpec
        {
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "flannel" } },
            Template = new V1PodTemplateSpec
            {
                Metadata = new() { Labels = new Dictionary<string, string> { ["app"] = "flannel", ["tier"] = "node" } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = "kube-flannel", Image = "flannel:test" }] },
            },
        },
    };

    private async Task Recreate(Func<Task> delete, Func<Task> create)
    {
        try
        {
            await delete();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }

        // Foreground-free deletes of these kinds are immediate; retry briefly on a lingering 409.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await create();
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task IgnoreNotFound(Func<Task> delete)
    {
        try
        {
            await delete();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    private static async Task IgnoreConflict(Func<Task> create)
    {
        try
        {
            await create();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
        }
    }
}
