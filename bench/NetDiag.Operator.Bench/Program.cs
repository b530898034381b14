using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NetDiag.Entities.Api;
using NetDiag.Operator.Bench;
using NetDiag.Operator.Controllers;
using NetDiag.Operator.Hosting;
using NetDiag.Operator.Runtime.Metrics;

// Operator benchmark: one diagnosis run over N Node objects on a real kube-apiserver.
// usage: NetDiag.Operator.Bench KUBECONFIG NODES [REPORT.md]
// The operator runs in this process (the same composition as Program.cs) with a request-counting
// handler; Nodes are created through a separate client before it starts, so their garbage is
// collected before the idle figures are taken.
if (args.Length < 2) { Console.Error.WriteLine("usage: NetDiag.Operator.Bench KUBECONFIG NODES [REPORT.md]"); return 2; }
var kubeconfig = args[0];
var nodeCount = int.Parse(args[1], CultureInfo.InvariantCulture);
var report = args.Length > 2 ? args[2] : null;
var ns = "netdiag-bench";
var diagnosis = $"bench-{nodeCount}";

var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
using (var setup = new Kubernetes(config))
{
    await Ignore409(() => setup.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }));
    await Ignore409(() => setup.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "netdiag-probe" } }, ns));
    try { await setup.CustomObjects.DeleteClusterCustomObjectAsync(V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName, diagnosis); }
    catch (k8s.Autorest.HttpOperationException) { }
    var existing = (await setup.CoreV1.ListNodeAsync(labelSelector: "netdiag.bench=1")).Items.Count;
    Console.Error.WriteLine($"creating {nodeCount - existing} Nodes ({existing} exist)...");
    var now = DateTime.UtcNow;
    await Parallel.ForEachAsync(Enumerable.Range(existing, Math.Max(0, nodeCount - existing)), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
    {
        var name = $"bench-node-{i:D4}";
        await Ignore409(() => setup.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["netdiag.bench"] = "1", ["kubernetes.io/hostname"] = name } },
            Spec = new V1NodeSpec { PodCIDR = $"10.{64 + i / 256}.{i % 256}.0/24", PodCIDRs = [$"10.{64 + i / 256}.{i % 256}.0/24"] },
            Status = new V1NodeStatus
            {
                Addresses = [new V1NodeAddress { Type = "InternalIP", Address = $"198.18.{i / 250}.{i % 250 + 1}" }],
                Conditions = [new V1NodeCondition { Type = "Ready", Status = "True", Reason = "KubeletReady", LastHeartbeatTime = now, LastTransitionTime = now }],
            },
        }, cancellationToken: ct));
    });
}
GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

var counter = new RequestCounter();
var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Operator:Kubeconfig"] = kubeconfig,
    ["Operator:Namespace"] = ns,
    ["Operator:LeaderElection"] = "false",
    ["Operator:MetricsPort"] = "0",
});
builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(config, counter));
builder.Services.AddOperatorOptions(builder.Configuration).AddKubernetesClient().AddOperatorRuntime().AddNetworkDiagnosisController();
using var host = builder.Build();
await host.StartAsync();
var metrics = host.Services.GetRequiredService<OperatorMetrics>();
using var client = new Kubernetes(config); // the driver's own reads are not counted

// Idle: informers synced, nothing to do.
await Task.Delay(TimeSpan.FromSeconds(5));
var idleWindow = TimeSpan.FromSeconds(20);
var beforeIdle = counter.Snapshot();
var cpuBeforeIdle = Process.GetCurrentProcess().TotalProcessorTime;
await Task.Delay(idleWindow);
var idleRequests = RequestCounter.Diff(counter.Snapshot(), beforeIdle);
var idleCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBeforeIdle;
var rssIdle = Rss();
var heapIdle = GC.GetGCMemoryInfo();

// Busy: one diagnosis, all checks, probes that never run (no kubelet) so the deadline ends the run.
var beforeRun = counter.Snapshot();
var cpuBeforeRun = Process.GetCurrentProcess().TotalProcessorTime;
var reconcilesBefore = ReconcileCount(metrics);
var sw = Stopwatch.StartNew();
await client.CustomObjects.CreateClusterCustomObjectAsync(new V1alpha1NetworkDiagnosis
{
    Metadata = new V1ObjectMeta { Name = diagnosis },
    Spec = new NetworkDiagnosisSpec { Timeout = "20s", MaxConcurrentProbes = 50 },
}, V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName);
long rssPeak = 0;
V1alpha1NetworkDiagnosis? d = null;
string statusJson = "";
while (sw.Elapsed < TimeSpan.FromMinutes(3))
{
    rssPeak = Math.Max(rssPeak, Rss());
    var o = await client.CustomObjects.GetClusterCustomObjectAsync(V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName, diagnosis);
    var raw = ((JsonElement)o).GetRawText();
    d = KubernetesJson.Deserialize<V1alpha1NetworkDiagnosis>(raw);
    if (d.Status?.Phase is Phases.Completed or Phases.Failed)
    {
        statusJson = ((JsonElement)o).GetProperty("status").GetRawText();
        break;
    }
    await Task.Delay(250);
}
var wall = sw.Elapsed;
await Task.Delay(TimeSpan.FromSeconds(2)); // let the last reconcile finish
var runRequests = RequestCounter.Diff(counter.Snapshot(), beforeRun);
var runCpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBeforeRun;
var reconciles = ReconcileCount(metrics) - reconcilesBefore;
rssPeak = Math.Max(rssPeak, Rss());
var hwm = HighWater();

// Idle again after the run: no periodic LIST, no reconcile.
var beforeIdle2 = counter.Snapshot();
await Task.Delay(idleWindow);
var idle2Requests = RequestCounter.Diff(counter.Snapshot(), beforeIdle2);
var rssAfter = Rss();
var heapAfter = GC.GetGCMemoryInfo();
await host.StopAsync();

var md = new StringBuilder();
md.AppendLine($"## Operator bench: one diagnosis over {nodeCount} Nodes");
md.AppendLine();
md.AppendLine("| figure | value |");
md.AppendLine("| --- | --- |");
md.AppendLine($"| run phase | {d?.Status?.Phase} ({d?.Status?.Message}) |");
md.AppendLine($"| run wall time (timeout 20s, no kubelet) | {wall.TotalSeconds:F1} s |");
md.AppendLine($"| reconciles during the run | {reconciles} |");
md.AppendLine($"| operator CPU time for the run | {runCpu.TotalMilliseconds:F0} ms ({(reconciles > 0 ? runCpu.TotalMilliseconds / reconciles : 0):F1} ms per reconcile) |");
md.AppendLine($"| API requests during the run | {runRequests.Values.Sum()}: {Format(runRequests)} |");
md.AppendLine($"| status size | {Encoding.UTF8.GetByteCount(statusJson) / 1024.0:F1} KiB ({d?.Status?.Findings?.Count} findings) |");
md.AppendLine($"| RSS idle before (informers synced) | {rssIdle / 1024 / 1024} MB |");
md.AppendLine($"| RSS busy (peak sampled / VmHWM) | {rssPeak / 1024 / 1024} MB / {hwm / 1024 / 1024} MB |");
md.AppendLine($"| RSS idle after | {rssAfter / 1024 / 1024} MB |");
md.AppendLine($"| GC heap idle before / after (size, committed) | {heapIdle.HeapSizeBytes / 1024 / 1024} MB, {heapIdle.TotalCommittedBytes / 1024 / 1024} MB / {heapAfter.HeapSizeBytes / 1024 / 1024} MB, {heapAfter.TotalCommittedBytes / 1024 / 1024} MB |");
md.AppendLine($"| GC settings | server={System.Runtime.GCSettings.IsServerGC}, latency={System.Runtime.GCSettings.LatencyMode}, DOTNET_GCgen0size={Environment.GetEnvironmentVariable("DOTNET_GCgen0size") ?? "default"} |");
md.AppendLine($"| API requests in {idleWindow.TotalSeconds:F0} s idle (before / after) | {Format(idleRequests)} / {Format(idle2Requests)} |");
md.AppendLine($"| CPU in {idleWindow.TotalSeconds:F0} s idle | {idleCpu.TotalMilliseconds:F0} ms |");
Console.WriteLine(md.ToString());
if (report is not null) await File.AppendAllTextAsync(report, md + "\n");

var listsWhenIdle = idleRequests.Concat(idle2Requests).Where(kv => kv.Key.StartsWith("LIST", StringComparison.Ordinal)).Sum(kv => kv.Value);
return listsWhenIdle == 0 ? 0 : 1;

static string Format(IReadOnlyDictionary<string, int> counts) =>
    counts.Count == 0 ? "none" : string.Join(", ", counts.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} ×{kv.Value}"));

static long Rss() => StatusField("VmRSS:");
static long HighWater() => StatusField("VmHWM:");
static long StatusField(string field)
{
    var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
}

static double ReconcileCount(OperatorMetrics m) =>
    m.Registry.Export().Split('\n').Where(l => l.StartsWith("netdiag_reconcile_total{", StringComparison.Ordinal))
        .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

static async Task Ignore409(Func<Task> create)
{
    try { await create(); }
    catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict) { }
}
