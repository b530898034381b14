using k8s;
using k8s.Models;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Kubernetes;
using NetDiag.Operator.Tests.Integration;
using NetDiag.Testing;

namespace NetDiag.Operator.Tests.Reconcile;

/// <summary>
/// The facts reader against the real Kubernetes 1.20 API server and controller-manager: kube-dns
/// EndpointSlices come from discovery.k8s.io/v1beta1 after v1 answers 404, kept by the real
/// EndpointSlice controller; the missing Calico CRD is "no Calico", not an error; a CNI pod whose
/// log cannot be read (no node) is a note, never a failed read of the facts.
/// </summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class FactsReaderIntegrationTests(ControlPlaneFixture cp)
{
    [Fact]
    public async Task On_1_20_kube_dns_slices_come_from_v1beta1_and_follow_pod_readiness_while_missing_Calico_and_unreadable_CNI_logs_are_not_errors()
    {
        var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cp.KubeconfigPath));
        var id = $"fr{Environment.ProcessId % 1000}";
        var node = $"netdiag-{id}-node";
        var testLabel = new Dictionary<string, string> { ["netdiag-test"] = id };
        var podName = $"coredns-{id}";
        var flannelPod = $"kube-flannel-ds-{id}";
        var unscheduledPod = $"kube-flannel-ds-{id}-pending";
        var reader = new KubernetesClusterFactsReader(client, TimeProvider.System);
        try
        {
            // The 1.20 EndpointSlice controller looks the pod's node up, so give the pod a real Node object.
            await client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = node, Labels = testLabel } });
            await client.CoreV1.CreateNamespacedServiceAsync(new V1Service
            {
                Metadata = new V1ObjectMeta { Name = SystemObjects.KubeDnsService },
                Spec = new V1ServiceSpec { Selector = testLabel, Ports = [new V1ServicePort { Name = "dns", Port = 53, Protocol = "UDP" }] },
            }, SystemObjects.KubeSystem);
            await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = podName, Labels = new Dictionary<string, string>(testLabel) { ["k8s-app"] = "kube-dns" } },
                Spec = new V1PodSpec { NodeName = node, Containers = [new V1Container { Name = "coredns", Image = "registry.k8s.io/coredns/coredns:v1.8.0" }], AutomountServiceAccountToken = false },
            }, SystemObjects.KubeSystem);
            await SetReadyAsync(client, podName, ready: true);

            // A flannel DaemonSet that places nothing (its nodeSelector matches no node), a pod of it on
            // the address-less node (owned, but not by controller reference, so the DaemonSet controller
            // leaves it alone): not ready, so its log is wanted, and the API server cannot reach a
            // kubelet for it. An unscheduled pod of it has no log and is not read at all.
            var ds = await client.AppsV1.CreateNamespacedDaemonSetAsync(new V1DaemonSet
            {
                Metadata = new V1ObjectMeta { Name = "kube-flannel-ds" },
                Spec = new V1DaemonSetSpec
                {
                    Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = $"flannel-{id}" } },
                    Template = new V1PodTemplateSpec
                    {
                        Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = $"flannel-{id}" } },
                        Spec = new V1PodSpec { NodeSelector = new Dictionary<string, string> { ["netdiag-nowhere"] = id }, Containers = [new V1Container { Name = "kube-flannel", Image = "flannel" }] },
                    },
                },
            }, SystemObjects.KubeSystem);
            foreach (var (name, onNode) in new[] { (flannelPod, node), (unscheduledPod, (string?)null) })
            {
                await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
                {
                    Metadata = new V1ObjectMeta
                    {
                        Name = name, Labels = new Dictionary<string, string> { ["app"] = $"other-{id}" },
                        OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "DaemonSet", Name = ds.Metadata.Name, Uid = ds.Metadata.Uid }],
                    },
                    Spec = new V1PodSpec { NodeName = onNode, Containers = [new V1Container { Name = "kube-flannel", Image = "flannel" }], AutomountServiceAccountToken = false },
                }, SystemObjects.KubeSystem);
            }

            var facts = await OperatorHarness.EventuallyAsync(() => reader.ReadAsync(default),
                f => KubeDnsEndpoints.From(f).HasReady == true && f.KubeDnsEndpointSlices is { Count: > 0 }, "the EndpointSlice controller to publish the ready pod");
            Assert.Equal("discovery.k8s.io/v1beta1", facts.EndpointSliceApi);
            Assert.DoesNotContain(SystemObjects.EndpointSlicesSource, facts.GatherErrors.Keys);
            Assert.Empty(facts.CalicoIpPools);
            Assert.DoesNotContain(CalicoIpPool.Source, facts.GatherErrors.Keys);
            var log = facts.CniPodLogs[$"kube-system/{flannelPod}"];
            Assert.Null(log.Text);
            Assert.NotNull(log.Error);
            Assert.DoesNotContain($"kube-system/{unscheduledPod}", facts.CniPodLogs.Keys);

            var nodes = new List<V1Node> { await client.CoreV1.ReadNodeAsync(node) };
            var view = new ClusterView(nodes, nodes, facts);
            Assert.DoesNotContain(new CoreDnsHealthCheck().Run(view), f => f.Cause is "kube-dns has no endpoints" or "kube-dns endpoints unreadable");
            var notReady = Assert.Single(new CniHealthCheck().Run(view), f => f.Object == $"kube-system/{flannelPod}");
            Assert.Contains(notReady.Finding.Evidence, e => e.StartsWith($"kube-system/{flannelPod} log (kube-flannel) unreadable: ", StringComparison.Ordinal));

            // The pod turns unready: both sources drop it, and the check says so with the slice as evidence.
            await SetReadyAsync(client, podName, ready: false);
            facts = await OperatorHarness.EventuallyAsync(() => reader.ReadAsync(default),
                f => KubeDnsEndpoints.From(f).HasReady == false, "the controllers to drop the unready pod");
            var none = Assert.Single(new CoreDnsHealthCheck().Run(new ClusterView(nodes, nodes, facts)), f => f.Cause == "kube-dns has no endpoints");
            Assert.Contains(none.Finding.Evidence, e => e.StartsWith("EndpointSlices (discovery.k8s.io/v1beta1): 1 slice(s), 0 ready address(es)", StringComparison.Ordinal));
            Assert.Contains("Endpoints kube-dns: 0 ready, 1 not-ready address(es)", none.Finding.Evidence);
        }
        finally
        {
            await OperatorHarness.IgnoreNotFound(() => client.CoreV1.DeleteNamespacedPodAsync(flannelPod, SystemObjects.KubeSystem, gracePeriodSeconds: 0));
            await OperatorHarness.IgnoreNotFound(() => client.CoreV1.DeleteNamespacedPodAsync(unscheduledPod, SystemObjects.KubeSystem, gracePeriodSeconds: 0));
            await OperatorHarness.IgnoreNotFound(() => client.AppsV1.DeleteNamespacedDaemonSetAsync("kube-flannel-ds", SystemObjects.KubeSystem));
            await OperatorHarness.IgnoreNotFound(() => client.CoreV1.DeleteNamespacedPodAsync(podName, SystemObjects.KubeSystem, gracePeriodSeconds: 0));
            // 1.20 answers a Service delete with a Status, which the client cannot read as a V1Service: the delete itself succeeded.
            try { await OperatorHarness.IgnoreNotFound(() => client.CoreV1.DeleteNamespacedServiceAsync(SystemObjects.KubeDnsService, SystemObjects.KubeSystem)); }
            catch (System.Text.Json.JsonException) { }
            await OperatorHarness.IgnoreNotFound(() => client.CoreV1.DeleteNodeAsync(node));
        }
    }

    /// <summary>What a kubelet reports for a running pod: Running, a pod IP, and the Ready condition.</summary>
    private static async Task SetReadyAsync(IKubernetes client, string pod, bool ready)
    {
        var status = new
        {
            status = new
            {
                phase = "Running",
                podIP = "10.250.0.5",
                podIPs = new[] { new { ip = "10.250.0.5" } },
                conditions = new[] { new { type = "Ready", status = ready ? "True" : "False", lastTransitionTime = DateTime.UtcNow } },
                containerStatuses = new[] { new { name = "coredns", image = "registry.k8s.io/coredns/coredns:v1.8.0", imageID = "", ready, restartCount = 0, state = new { running = new { startedAt = DateTime.UtcNow } } } },
            },
        };
        await client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch(KubernetesJson.Serialize(status), V1Patch.PatchType.StrategicMergePatch), pod, SystemObjects.KubeSystem);
    }
}
