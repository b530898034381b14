using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NetDiag.Entities.Api;
using NetDiag.Operator.Controllers;
using NetDiag.Operator.Hosting;
using NetDiag.Testing;

namespace NetDiag.Operator.Tests.Integration;

/// <summary>
/// The real operator host (same composition as Program.cs: options, client, runtime with its
/// informers, the reconcile) against the real API server, in its own namespace, plus the API
/// helpers the tests use to set up a cluster and read what the operator did.
/// </summary>
public sealed class OperatorHarness : IAsyncDisposable
{
    private static readonly SemaphoreSlim CrdGate = new(1, 1);
    private static bool _crdInstalled;
    private IHost? _host;

    public OperatorHarness(ControlPlaneFixture cp, string testId)
    {
        ControlPlane = cp;
        Id = testId;
        Namespace = $"nd-it-{testId}";
        Client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cp.KubeconfigPath));
    }

    public ControlPlaneFixture ControlPlane { get; }
    public string Id { get; }
    public string Namespace { get; }
    public IKubernetes Client { get; }
    public IServiceProvider Services => _host!.Services;

    /// <summary>Installs the CRD (config/crd), the namespace and the probe ServiceAccount, then starts the operator.</summary>
    public async Task StartAsync()
    {
        await InstallCrdAsync();
        await IgnoreConflict(() => Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } }));
        await IgnoreConflict(() => Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "netdiag-probe" } }, Namespace));
        await StartOperatorAsync();
    }

    public async Task StartOperatorAsync()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Operator:Kubeconfig"] = ControlPlane.KubeconfigPath,
            ["Operator:Namespace"] = Namespace,
            ["Operator:LeaderElection"] = "false",
            ["Operator:MetricsPort"] = "0",
            ["Operator:PollInterval"] = "00:00:01",
            ["Operator:ProbeImage"] = "registry.invalid/netdiag-probe:test",
        });
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddOperatorOptions(builder.Configuration).AddKubernetesClient().AddOperatorRuntime().AddNetworkDiagnosisController();
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task StopOperatorAsync()
    {
        if (_host is null) return;
        await _host.StopAsync();
        _host.Dispose();
        _host = null;
    }

    private async Task InstallCrdAsync()
    {
        await CrdGate.WaitAsync();
        try
        {
            if (_crdInstalled) return;
            var crd = Path.Combine(NetDiag.Testing.ControlPlane.FindRepoRoot(), "config", "crd", "netdiag.io_networkdiagnoses.yaml");
            ControlPlane.Kubectl("apply", "-f", crd).EnsureSuccess("apply the CRD");
            ControlPlane.Kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/networkdiagnoses.netdiag.io").EnsureSuccess("wait for the CRD");
            _crdInstalled = true;
        }
        finally { CrdGate.Release(); }
    }

    // ---------------------------------------------------------------- cluster set-up

    public string NodeName(string n) => $"{Id}-{n}";

    /// <summary>Creates a Node object as a kubelet would register it (status included on create).</summary>
    public Task<V1Node> CreateNodeAsync(string name, string podCidr, string ip, bool ready = true)
    {
        var now = DateTime.UtcNow;
        return Client.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["netdiag.test/id"] = Id, ["kubernetes.io/hostname"] = name } },
            Spec = new V1NodeSpec { PodCIDR = podCidr, PodCIDRs = [podCidr] },
            Status = new V1NodeStatus
            {
                Addresses = [new V1NodeAddress { Type = "InternalIP", Address = ip }],
                Conditions = [new V1NodeCondition { Type = "Ready", Status = ready ? "True" : "False", Reason = ready ? "KubeletReady" : "KubeletNotReady",
                    Message = ready ? "kubelet is posting ready status" : "container runtime is down", LastHeartbeatTime = now, LastTransitionTime = now }],
            },
        });
    }

    public V1LabelSelector TestNodes => new() { MatchLabels = new Dictionary<string, string> { ["netdiag.test/id"] = Id } };

    public Task CreateDiagnosisAsync(string name, NetworkDiagnosisSpec spec) =>
        Client.CustomObjects.CreateClusterCustomObjectAsync(new V1alpha1NetworkDiagnosis { Metadata = new V1ObjectMeta { Name = name }, Spec = spec },
            V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName);

    public async Task<V1alpha1NetworkDiagnosis?> GetDiagnosisAsync(string name)
    {
        try
        {
            var o = await Client.CustomObjects.GetClusterCustomObjectAsync(V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName, name);
            return KubernetesJson.Deserialize<V1alpha1NetworkDiagnosis>(((JsonElement)o).GetRawText());
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { return null; }
    }

    public Task DeleteDiagnosisAsync(string name) =>
        IgnoreNotFound(() => Client.CustomObjects.DeleteClusterCustomObjectAsync(V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion,
            V1alpha1NetworkDiagnosis.KubePluralName, name));

    public async Task<IList<V1Job>> JobsAsync(string diagnosis) =>
        (await Client.BatchV1.ListNamespacedJobAsync(Namespace, labelSelector: $"{WellKnown.LabelDiagnosis}={diagnosis}")).Items;

    public async Task<IList<Corev1Event>> EventsAsync(string diagnosis) =>
        (await Client.CoreV1.ListNamespacedEventAsync("default", fieldSelector: $"involvedObject.name={diagnosis},involvedObject.kind=NetworkDiagnosis")).Items;

    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> and the last value seen.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what, int seconds = 60)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        T last = default!;
        Exception? error = null;
        while (DateTime.UtcNow < until)
        {
            try
            {
                last = await read();
                error = null;
                if (condition(last)) return last;
            }
            catch (Exception e) { error = e; }
            await Task.Delay(250);
        }
        var shown = last is null ? "null" : last is V1alpha1NetworkDiagnosis d ? KubernetesJson.Serialize(d.Status) : KubernetesJson.Serialize(last);
        throw new Xunit.Sdk.XunitException($"Timed out waiting for {what}. Last seen: {shown}{(error is null ? "" : $"; last error: {error.Message}")}");
    }

    public Task<V1alpha1NetworkDiagnosis> PhaseAsync(string name, params string[] phases) =>
        EventuallyAsync(() => GetDiagnosisAsync(name), d => d?.Status?.Phase is { } p && phases.Contains(p), $"{name} to reach {string.Join("/", phases)}")!;

    public static async Task IgnoreConflict(Func<Task> create)
    {
        try { await create(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict) { }
    }

    public static async Task IgnoreNotFound(Func<Task> delete)
    {
        try { await delete(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { }
    }

    /// <summary>Stops the operator and deletes what the test created (diagnoses first, so their Jobs are collected).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopOperatorAsync();
        try
        {
            var list = await Client.CustomObjects.ListClusterCustomObjectAsync(V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName);
            foreach (var item in ((JsonElement)list).GetProperty("items").EnumerateArray())
                await DeleteDiagnosisAsync(item.GetProperty("metadata").GetProperty("name").GetString()!);
            await Client.CoreV1.DeleteCollectionNodeAsync(labelSelector: $"netdiag.test/id={Id}");
            await IgnoreNotFound(() => Client.CoreV1.DeleteNamespaceAsync(Namespace));
        }
        catch (Exception)
        {
            // Best effort: the control plane is torn down at the end of the run anyway.
        }
        Client.Dispose();
    }
}
