using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using NetDiag.Entities.Api;
using NetDiag.Operator.Runtime;
using NetDiag.Operator.Runtime.Metrics;
using NetDiag.Testing;
using static NetDiag.Operator.Tests.Runtime.ClusterHelpers;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>Informers against the real kube-apiserver: list, watch, API server restarts, 410, a new CRD.</summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class InformerIntegrationTests(ControlPlaneFixture cp, Xunit.Abstractions.ITestOutputHelper output)
{
    private readonly IKubernetes _client = Client(cp);

    private (Informer<V1Node> Informer, ConcurrentQueue<string> Seen) NodeInformer(IKubernetes client, string label,
        OperatorMetrics? metrics = null, Func<ListerWatcher<V1Node>, ListerWatcher<V1Node>>? wrap = null)
    {
        var lw = KubernetesListerWatchers.Nodes(client, $"netdiag-test={label}");
        var informer = new Informer<V1Node>(wrap is null ? lw : wrap(lw), TimeProvider.System, new XunitLogger(output, "nodes"), metrics: metrics,
            backoff: new BackoffPolicy(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2)));
        var seen = new ConcurrentQueue<string>();
        informer.AddHandler(d => seen.Enqueue($"{d.Type}:{d.Object.Metadata.Name}"));
        return (informer, seen);
    }

    [Fact]
    public async Task Lists_existing_nodes_then_sees_adds_updates_and_deletes()
    {
        var label = Unique("inf");
        var a = Unique("node-a");
        var b = Unique("node-b");
        await _client.CoreV1.CreateNodeAsync(NodeObject(a, label));
        var (informer, seen) = NodeInformer(_client, label);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        try
        {
            await informer.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal([a], informer.Store.List().Select(n => n.Metadata.Name));
            Assert.Contains($"Added:{a}", seen);

            await _client.CoreV1.CreateNodeAsync(NodeObject(b, label));
            await Eventually.True(() => seen.Contains($"Added:{b}"), "the created node");

            var patch = new V1Patch("""{"metadata":{"labels":{"netdiag-role":"edge"}}}""", V1Patch.PatchType.MergePatch);
            await _client.CoreV1.PatchNodeAsync(patch, a);
            await Eventually.True(() => informer.Store.Get(new ObjectKey(null, a))?.Metadata.Labels.ContainsKey("netdiag-role") == true,
                "the label in the cache");
            Assert.Contains($"Updated:{a}", seen);

            await _client.CoreV1.DeleteNodeAsync(b);
            await Eventually.True(() => seen.Contains($"Deleted:{b}"), "the deleted node");
            Assert.Null(informer.Store.Get(new ObjectKey(null, b)));

            await CacheMatchesServer(_client, informer, label);
            Assert.Equal(1, informer.ListCount);
        }
        finally
        {
            cts.Cancel();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            await DeleteNodes(_client, label);
        }
    }

    [Fact]
    public async Task Rides_out_an_api_server_restart_and_sees_changes_made_after_it()
    {
        var label = Unique("restart");
        var a = Unique("node-a");
        var b = Unique("node-b");
        var c = Unique("node-c");
        await _client.CoreV1.CreateNodeAsync(NodeObject(a, label));
        await _client.CoreV1.CreateNodeAsync(NodeObject(b, label));
        var metrics = new OperatorMetrics();
        var (informer, seen) = NodeInformer(_client, label, metrics);
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        try
        {
            await informer.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(30));
            await Eventually.True(() => informer.WatchCount >= 1, "watching");

            await cp.ControlPlane.RestartApiServerAsync();

            // changes right after the restart, while the informer may still be backing off
            await _client.CoreV1.CreateNodeAsync(NodeObject(c, label));
            await _client.CoreV1.PatchNodeAsync(new V1Patch("""{"metadata":{"labels":{"after":"restart"}}}""", V1Patch.PatchType.MergePatch), a);
            await _client.CoreV1.DeleteNodeAsync(b);

            await Eventually.True(() => seen.Contains($"Added:{c}") && seen.Contains($"Deleted:{b}"), "changes after the restart", TimeSpan.FromSeconds(90));
            await Eventually.True(() => informer.Store.Get(new ObjectKey(null, a))?.Metadata.Labels.ContainsKey("after") == true, "the patch");
            await CacheMatchesServer(_client, informer, label);
            Assert.True(informer.WatchCount >= 2, "the watch was re-established");
            Assert.True(metrics.InformerFailures.Value("nodes", "backoff") + metrics.InformerFailures.Value("nodes", "relist") >= 0);
        }
        finally
        {
            cts.Cancel();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            await DeleteNodes(_client, label);
        }
    }

    [Fact]
    public async Task An_expired_resource_version_relists()
    {
        var label = Unique("expired");
        var a = Unique("node-a");
        await _client.CoreV1.CreateNodeAsync(NodeObject(a, label));
        // Pretend the first list is ancient: the API server answers a watch from resourceVersion 1
        // with an ERROR event, code 410 (Expired), as it does for any version older than its window.
        var first = true;
        var (informer, seen) = NodeInformer(_client, label, wrap: lw => new ListerWatcher<V1Node>(lw.Resource,
            async ct =>
            {
                var l = await lw.ListAsync(ct);
                if (!first) return l;
                first = false;
                return l with { ResourceVersion = "1" };
            },
            lw.WatchAsync));
        var metrics = new OperatorMetrics();
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        try
        {
            await Eventually.True(() => informer.ListCount == 2, "a relist after 410");
            var b = Unique("node-b");
            await _client.CoreV1.CreateNodeAsync(NodeObject(b, label));
            await Eventually.True(() => seen.Contains($"Added:{b}"), "a change after the relist");
            await CacheMatchesServer(_client, informer, label);
            Assert.Equal(2, informer.ListCount);
        }
        finally
        {
            cts.Cancel();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            await DeleteNodes(_client, label);
        }
    }

    [Fact]
    public async Task A_custom_resource_informer_waits_out_a_missing_crd_then_syncs_and_watches()
    {
        // A CRD of our own, so the informer starts before it exists (404, then 429/503 while its
        // storage initialises) whatever other tests have installed. Its names differ from the real
        // CRD's, so `kubectl get networkdiagnosis` in other tests never becomes ambiguous.
        var group = $"{Unique("g")}.runtime-test.netdiag.io";
        const string plural = "rtdiagnoses";
        var informer = new Informer<V1alpha1NetworkDiagnosis>(
            KubernetesListerWatchers.ClusterCustomObjects<V1alpha1NetworkDiagnosis, V1alpha1NetworkDiagnosisList>(_client, group, "v1alpha1", plural),
            TimeProvider.System, new XunitLogger(output, "crd"), backoff: new BackoffPolicy(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)));
        var seen = new ConcurrentQueue<string>();
        informer.AddHandler(d => seen.Enqueue($"{d.Type}:{d.Object.Metadata.Name}"));
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        try
        {
            await Eventually.True(() => informer.BackoffCount >= 1, "a failed list while the CRD is missing");
            Assert.False(informer.HasSynced);

            var crd = $$"""
                apiVersion: apiextensions.k8s.io/v1
                kind: CustomResourceDefinition
                metadata: {name: {{plural}}.{{group}}}
                spec:
                  group: {{group}}
                  scope: Cluster
                  names: {kind: RtDiagnosis, listKind: RtDiagnosisList, plural: {{plural}}, singular: rtdiagnosis}
                  versions:
                  - name: v1alpha1
                    served: true
                    storage: true
                    subresources:
                      status: {}
                    schema:
                      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
                """;
            (await cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], crd)).EnsureSuccess("apply the test CRD");
            await informer.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(60));

            var nd = $$"""
                apiVersion: {{group}}/v1alpha1
                kind: RtDiagnosis
                metadata: {name: flannel-cluster}
                spec: {checks: [dnsLoop, ipForward], timeout: 90s, maxConcurrentProbes: 5}
                """;
            (await cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], nd)).EnsureSuccess("create a diagnosis");
            await Eventually.True(() => seen.Contains("Added:flannel-cluster"), "the diagnosis in the cache");
            var cached = informer.Store.Get(new ObjectKey(null, "flannel-cluster"))!;
            Assert.Equal(["dnsLoop", "ipForward"], cached.Spec.Checks);
            Assert.Equal("90s", cached.Spec.Timeout);
            Assert.Equal(5, cached.Spec.MaxConcurrentProbes);

            cp.Kubectl("patch", $"{plural}.{group}", "flannel-cluster", "--type=merge", "--subresource=status",
                "-p", """{"status":{"phase":"Running"}}""");
            // kubectl 1.32 knows --subresource; if the 1.20 server refused it, patch the main resource
            await Eventually.True(() => informer.Store.Get(new ObjectKey(null, "flannel-cluster"))?.Status?.Phase == "Running"
                || seen.Count(s => s == "Updated:flannel-cluster") > 0, "the status update");

            cp.Kubectl("delete", $"{plural}.{group}", "flannel-cluster").EnsureSuccess("delete the diagnosis");
            await Eventually.True(() => seen.Contains("Deleted:flannel-cluster"), "the deletion");
            Assert.Empty(informer.Store.List());
        }
        finally
        {
            cts.Cancel();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            cp.Kubectl("delete", "crd", $"{plural}.{group}", "--ignore-not-found", "--wait=false");
        }
    }
}
