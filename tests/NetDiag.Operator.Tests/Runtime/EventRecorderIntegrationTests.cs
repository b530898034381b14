using k8s;
using k8s.Models;
using NetDiag.Entities.Api;
using NetDiag.Operator.Runtime;
using NetDiag.Operator.Runtime.Metrics;
using NetDiag.Testing;
using Xunit.Abstractions;
using static NetDiag.Operator.Tests.Runtime.ClusterHelpers;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>Events written by the recorder, read back the way a user reads them: kubectl describe / kubectl events.</summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class EventRecorderIntegrationTests(ControlPlaneFixture cp, ITestOutputHelper output)
{
    private readonly IKubernetes _client = Client(cp);

    private KubernetesEventRecorder Recorder(OperatorMetrics metrics) =>
        new(_client, TimeProvider.System, null, metrics, new EventRecorderOptions { Instance = "test-replica" });

    [Fact]
    public async Task A_repeated_event_on_a_node_is_aggregated_and_shows_in_kubectl_describe()
    {
        var label = Unique("ev");
        var name = Unique("node");
        var node = await _client.CoreV1.CreateNodeAsync(NodeObject(name, label));
        try
        {
            var metrics = new OperatorMetrics();
            var recorder = Recorder(metrics);
            for (var i = 0; i < 3; i++)
                await recorder.RecordAsync(node, EventTypes.Warning, Reasons.FindingDetected, "ipForward is off on this node", CancellationToken.None);
            await recorder.RecordAsync(node, EventTypes.Normal, Reasons.RunCompleted, "run g1 completed", CancellationToken.None);

            var events = (await _client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: $"involvedObject.name={name}")).Items;
            Assert.Equal(2, events.Count);
            var finding = Assert.Single(events, e => e.Reason == Reasons.FindingDetected);
            Assert.Equal(3, finding.Count);
            Assert.Equal("netdiag-operator", finding.Source.Component);
            Assert.Equal(node.Metadata.Uid, finding.InvolvedObject.Uid);
            Assert.Equal(1, metrics.Events.Value("Warning", Reasons.FindingDetected, "created"));
            Assert.Equal(2, metrics.Events.Value("Warning", Reasons.FindingDetected, "aggregated"));

            var describe = cp.Kubectl("describe", "node", name).EnsureSuccess("kubectl describe node").StdOut;
            output.WriteLine(describe);
            Assert.Contains("FindingDetected", describe);
            Assert.Contains("ipForward is off on this node", describe);
            Assert.Contains("RunCompleted", describe);
        }
        finally
        {
            await DeleteNodes(_client, label);
        }
    }

    [Fact]
    public async Task Events_on_a_cluster_scoped_diagnosis_show_in_describe_and_in_kubectl_events_for()
    {
        var crd = File.ReadAllText(Path.Combine(cp.ControlPlane.RepoRoot, "config", "crd", "netdiag.io_networkdiagnoses.yaml"));
        (await cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], crd)).EnsureSuccess("install the NetworkDiagnosis CRD");
        (await cp.ControlPlane.KubectlAsync(["wait", "--for=condition=Established", "crd/networkdiagnoses.netdiag.io", "--timeout=60s"]))
            .EnsureSuccess("wait for the CRD");
        var name = Unique("events");
        var nd = $$"""
            apiVersion: netdiag.io/v1alpha1
            kind: NetworkDiagnosis
            metadata: {name: {{name}}}
            spec: {checks: [dnsLoop]}
            """;
        await Eventually.True(() => cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], nd).Result.Succeeded, "create a diagnosis (the CRD may still be initialising)", TimeSpan.FromSeconds(60));
        try
        {
            var obj = await _client.CustomObjects.GetClusterCustomObjectAsync<V1alpha1NetworkDiagnosis>(
                V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName, name);
            var recorder = Recorder(new OperatorMetrics());
            await recorder.RecordAsync(obj, EventTypes.Warning, Reasons.InvalidSpec, "spec.schedule: not a cron expression", CancellationToken.None);
            await recorder.RecordAsync(obj, EventTypes.Warning, Reasons.InvalidSpec, "spec.schedule: not a cron expression", CancellationToken.None);

            var describe = cp.Kubectl("describe", "networkdiagnosis", name).EnsureSuccess("kubectl describe nd").StdOut;
            output.WriteLine(describe);
            Assert.Contains("InvalidSpec", describe);
            Assert.Contains("spec.schedule: not a cron expression", describe);
            Assert.Matches(@"x2 over", describe); // aggregated: one line, count 2

            var events = cp.Kubectl("events", "--for", $"networkdiagnosis/{name}").EnsureSuccess("kubectl events --for").StdOut;
            output.WriteLine(events);
            Assert.Contains("InvalidSpec", events);
            Assert.Contains("spec.schedule: not a cron expression", events);
        }
        finally
        {
            cp.Kubectl("delete", "networkdiagnoses.netdiag.io", name, "--ignore-not-found", "--wait=false");
        }
    }

    [Fact]
    public async Task A_failing_event_never_throws_into_the_caller()
    {
        var metrics = new OperatorMetrics();
        var recorder = Recorder(metrics);
        // An involved object in a namespace that does not exist: the API server refuses the Event.
        var ghost = new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new() { Name = "ghost", NamespaceProperty = Unique("no-such-ns") } };
        await recorder.RecordAsync(ghost, EventTypes.Normal, "Test", "m", CancellationToken.None);
        Assert.Equal(1, metrics.Events.Value("Normal", "Test", "failed"));
    }
}
