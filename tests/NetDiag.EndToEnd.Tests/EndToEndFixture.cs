using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using NetDiag.Entities.Api;
using NetDiag.LabCluster;
using NetDiag.Testing;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace NetDiag.EndToEnd.Tests;

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<EndToEndFixture>
{
    public const string Name = "EndToEnd";
}

/// <summary>
/// One control plane and one operator for every end-to-end test (starting them is the slow part);
/// each test brings up its own lab cluster with its faults and removes it again. The control plane
/// serves 10.96.0.0/16, the service range of lab index 0, so the kubernetes and kube-dns ClusterIPs
/// the lab's nodes route and answer are the API server's own.
/// </summary>
public sealed class EndToEndFixture : IAsyncLifetime
{
    public const string OperatorNamespace = "netdiag-system";
    public const string LabName = "nde2e";

    private readonly IMessageSink _sink;
    private ControlPlane? _controlPlane;
    private OperatorProcess? _operator;

    public EndToEndFixture(IMessageSink sink)
    {
        _sink = sink;
    }

    public ControlPlane ControlPlane => _controlPlane ?? throw new InvalidOperationException("control plane not started");

    public IKubernetes Client { get; private set; } = null!;

    public OperatorProcess Operator => _operator ?? throw new InvalidOperationException("operator not started");

    /// <summary>
    /// The probe program the lab kubelet runs: NETDIAG_E2E_PROBE if set, else the NativeAOT build
    /// from hack/lab/probe.sh (what the probe image runs: no JIT eating the probe's 1 s budgets),
    /// else the framework-dependent dll.
    /// </summary>
    public string ProbePath { get; private set; } = "";

    public static string OperatorDll => BuiltPath("NetDiag.OperatorDll");

    private static string BuiltPath(string key)
    {
        var path = typeof(EndToEndFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
            throw new InvalidOperationException($"{key} not built ({path ?? "no path recorded"}); build tests/NetDiag.EndToEnd.Tests");
        return path;
    }

    public async Task InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        // kube-apiserver's service range = lab index 0's (see the class comment)
        Environment.SetEnvironmentVariable("NETDIAG_SERVICE_CIDR", "10.96.0.0/16");
        _controlPlane = await ControlPlane.StartAsync(new ControlPlaneOptions { Log = Log });
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(ControlPlane.KubeconfigPath));
        var root = ControlPlane.RepoRoot;
        ControlPlane.Kubectl("apply", "-k", Path.Combine(root, "config", "crd")).EnsureSuccess("install the CRD");
        ControlPlane.Kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/networkdiagnoses.netdiag.io").EnsureSuccess("CRD established");
        ControlPlane.Kubectl("apply", "-k", Path.Combine(root, "config", "rbac")).EnsureSuccess("install RBAC");
        ProbePath = await ResolveProbeAsync(root);
        // a lab left behind by a killed test run would hold the namespaces this run needs
        await NetDiag.Lab.LabCluster.CleanupStaleAsync(LabName);
        _operator = OperatorProcess.Start(OperatorDll, ControlPlane.KubeconfigPath, OperatorNamespace);
        Log($"control plane and operator (pid {_operator.Pid}) up in {sw.Elapsed.TotalSeconds:0}s; probe {ProbePath}");
    }

    private async Task<string> ResolveProbeAsync(string root)
    {
        if (Environment.GetEnvironmentVariable("NETDIAG_E2E_PROBE") is { Length: > 0 } fromEnv) return fromEnv;
        var psi = new ProcessStartInfo("bash", [Path.Combine(root, "hack", "lab", "probe.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
        }
        var path = (await stdout).Trim();
        if (p.HasExited && p.ExitCode == 0 && File.Exists(path)) return path;
        Log($"NativeAOT probe unavailable, using the dll: {(await stderr).Trim()}");
        return BuiltPath("NetDiag.ProbeDll");
    }

    /// <summary>A lab cluster with these faults; dispose it at the end of the test.</summary>
    public Task<LabClusterEnvironment> StartLabAsync(string? faults, int nodes = 4) =>
        LabClusterEnvironment.StartAsync(new LabClusterOptions
        {
            KubeconfigPath = ControlPlane.KubeconfigPath,
            ProbePath = ProbePath,
            NodeCount = nodes,
            Name = LabName,
            Faults = faults,
            Log = Log,
        });

    /// <summary>
    /// Applies a diagnosis with kubectl, as a user does, and waits until its run finished
    /// (phase Completed or Failed for generation 1). Fails with the operator's log on timeout.
    /// </summary>
    public async Task<V1alpha1NetworkDiagnosis> DiagnoseAsync(string name, IReadOnlyList<string>? checks = null, TimeSpan? wait = null)
    {
        var yaml = $"""
            apiVersion: netdiag.io/v1alpha1
            kind: NetworkDiagnosis
            metadata:
              name: {name}
            spec:
              timeout: 2m
            {(checks is null ? "" : "  checks: [" + string.Join(", ", checks) + "]\n")}
            """;
        (await ControlPlane.KubectlAsync(["apply", "-f", "-"], yaml)).EnsureSuccess($"kubectl apply nd/{name}");
        var deadline = Stopwatch.StartNew();
        var limit = wait ?? TimeSpan.FromMinutes(3);
        V1alpha1NetworkDiagnosis? last = null;
        while (deadline.Elapsed < limit)
        {
            last = await GetAsync(name);
            if (last?.Status is { Phase: Phases.Completed or Phases.Failed } s && s.ObservedGeneration == last.Metadata.Generation)
                return last;
            if (Operator.HasExited) break;
            await Task.Delay(500);
        }
        throw new XunitException(
            $"nd/{name} did not complete within {limit.TotalSeconds:0}s (phase {last?.Status?.Phase ?? "none"}, operator {(Operator.HasExited ? "exited" : "running")}).\n" +
            $"--- kubectl get pods,jobs -A ---\n{ControlPlane.Kubectl("get", "pods,jobs", "-A", "-o", "wide").StdOut}\n" +
            $"--- operator log (tail) ---\n{Operator.Tail()}");
    }

    public async Task<V1alpha1NetworkDiagnosis?> GetAsync(string name)
    {
        try
        {
            var obj = await Client.CustomObjects.GetClusterCustomObjectAsync(
                V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName, name);
            return KubernetesJson.Deserialize<V1alpha1NetworkDiagnosis>(JsonSerializer.Serialize(obj));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Deletes the diagnosis and waits until it and its probe Jobs are gone.</summary>
    public async Task DeleteDiagnosisAsync(string name)
    {
        await ControlPlane.KubectlAsync(["delete", "nd", name, "--ignore-not-found", "--wait=true", "--timeout=60s"]);
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            var jobs = await Client.BatchV1.ListNamespacedJobAsync(OperatorNamespace, labelSelector: $"{WellKnown.LabelDiagnosis}={name}");
            if (jobs.Items.Count == 0) return;
            await Task.Delay(500);
        }
    }

    private string[] _operatorArgs = [];

    /// <summary>
    /// Runs the shared operator with these extra command-line args (e.g. <c>--Operator:EnableRemediation=true</c>),
    /// restarting it only when they differ from the ones it runs with. Tests run one at a time in the
    /// collection; a test that needs a flag asks for it, one that needs it off asks for no args.
    /// </summary>
    public async Task UseOperatorArgsAsync(params string[] extraArgs)
    {
        if (_operator is { HasExited: false } && _operatorArgs.SequenceEqual(extraArgs)) return;
        if (_operator is not null) await _operator.DisposeAsync();
        _operator = OperatorProcess.Start(OperatorDll, ControlPlane.KubeconfigPath, OperatorNamespace, extraArgs);
        _operatorArgs = extraArgs;
        Log($"operator restarted (pid {_operator.Pid}) with [{string.Join(' ', extraArgs)}]");
    }

    public void Log(string line) => _sink.OnMessage(new DiagnosticMessage($"[e2e {DateTime.Now:HH:mm:ss}] {line}"));

    public async Task DisposeAsync()
    {
        if (_operator is not null) await _operator.DisposeAsync();
        if (_controlPlane is not null) await _controlPlane.DisposeAsync();
    }
}
