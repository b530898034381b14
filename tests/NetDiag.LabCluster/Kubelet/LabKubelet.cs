using System.Collections.Concurrent;
using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using NetDiag.LabCluster.KubeSystem;
using NetDiag.LabCluster.Nodes;

namespace NetDiag.LabCluster.Kubelet;

/// <summary>Settings of a <see cref="LabKubelet"/>.</summary>
public sealed record LabKubeletOptions
{
    /// <summary>The lab's name: a label on every Node and kube-system object it creates.</summary>
    public required string LabName { get; init; }

    /// <summary>How to start the probe program here.</summary>
    public required ProbeProgram Probe { get; init; }

    /// <summary>Where termination-message files go (one per container run).</summary>
    public required string WorkDir { get; init; }

    /// <summary>How often the Ready condition's heartbeat is renewed (the node controller's grace period is 40 s).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Progress and error lines.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// A kubelet for the lab's nodes, talking to a real API server: registers the nodes, binds
/// unscheduled pods (the lab runs no kube-scheduler), runs every pod bound to a lab node and
/// reports its status the way a kubelet does, and serves container logs to the API server.
/// Probe pods run the real probe inside the node's namespaces; the kube-system pods (flannel,
/// CoreDNS, kube-proxy) are stand-ins whose behaviour follows their real configuration.
/// <code>
///   watch pods ──► unbound? ──► Binder ──► pods/binding
///               └► bound to a lab node ──► worker: Running ─► run ─► Succeeded/Failed (pods/status)
///                                       └► deletionTimestamp: stop worker ─► delete (grace 0)
/// </code>
/// </summary>
public sealed partial class LabKubelet : IAsyncDisposable
{
    private readonly IKubernetes _client;
    private readonly LabTopology _topology;
    private readonly ILabNodes _nodes;
    private readonly LabKubeletOptions _options;
    private readonly ConcurrentDictionary<string, V1Pod> _pods = new();
    private readonly ConcurrentDictionary<string, PodWorker> _workers = new();
    private readonly SemaphoreSlim _overlayLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly DateTime _readySince = DateTime.UtcNow;
    private KubeletLogServer? _server;
    private Task? _watchLoop;
    private Task? _heartbeatLoop;
    private volatile bool _draining;

    private sealed record PodWorker(CancellationTokenSource Cancel, Task Task);

    public LabKubelet(IKubernetes client, LabTopology topology, ILabNodes nodes, LabKubeletOptions options)
    {
        _client = client;
        _topology = topology;
        _nodes = nodes;
        _options = options;
        Directory.CreateDirectory(options.WorkDir);
    }

    /// <summary>The container logs this kubelet keeps (and serves).</summary>
    public ContainerLogStore Logs { get; } = new();

    /// <summary>The port of the log endpoint every lab Node advertises.</summary>
    public int Port => _server?.Port ?? 0;

    /// <summary>Starts the log server, registers the nodes, and starts watching pods.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        _server = await KubeletLogServer.StartAsync(Logs, 0, ct);
        foreach (var node in _topology.Nodes) await RegisterNodeAsync(node, ct);
        _watchLoop = Task.Run(() => WatchLoopAsync(_stop.Token), CancellationToken.None);
        _heartbeatLoop = Task.Run(() => HeartbeatLoopAsync(_stop.Token), CancellationToken.None);
        Log($"lab kubelet up: {_topology.Nodes.Count} nodes registered, logs served on https://127.0.0.1:{Port}");
    }

    /// <summary>
    /// The lab is going away: bind nothing and start no pod any more, but keep confirming the
    /// deletions of pods that are being removed.
    /// </summary>
    public void BeginShutdown() => _draining = true;

    // ------------------------------------------------------------------ nodes

    private async Task RegisterNodeAsync(LabNodeInfo node, CancellationToken ct)
    {
        var desired = NodeObjects.Build(node, _options.LabName);
        desired.Status = NodeObjects.BuildStatus(node, Port, DateTime.UtcNow, _readySince);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _client.CoreV1.CreateNodeAsync(desired, cancellationToken: ct);
                break;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 30)
            {
                // A Node of that name from an earlier lab: spec.podCIDR is immutable, so replace it.
                if (attempt == 0) Log($"node {node.Name} exists (an earlier lab); replacing it");
                try
                {
                    await _client.CoreV1.DeleteNodeAsync(node.Name, new V1DeleteOptions { GracePeriodSeconds = 0 }, cancellationToken: ct);
                }
                catch (HttpOperationException d) when (d.Response.StatusCode == HttpStatusCode.NotFound)
                {
                }
                await Task.Delay(200, ct);
            }
        }
        await PatchNodeStatusAsync(node, ct);
    }

    private Task PatchNodeStatusAsync(LabNodeInfo node, CancellationToken ct)
    {
        var status = NodeObjects.BuildStatus(node, Port, DateTime.UtcNow, _readySince);
        var patch = new V1Patch(KubernetesJson.Serialize(new { status }), V1Patch.PatchType.MergePatch);
        return _client.CoreV1.PatchNodeStatusAsync(patch, node.Name, cancellationToken: ct);
    }

    private async Task HeartbeatLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.HeartbeatInterval, ct);
                foreach (var node in _topology.Nodes) await PatchNodeStatusAsync(node, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log($"node heartbeat failed (retrying): {e.Message}");
            }
        }
    }

    // ------------------------------------------------------------------ watch

    private async Task WatchLoopAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var list = await _client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct);
                var seen = list.Items.Select(p => p.Metadata.Uid).ToHashSet();
                foreach (var gone in _pods.Keys.Where(uid => !seen.Contains(uid)).ToList())
                {
                    if (_pods.TryRemove(gone, out var old)) await OnDeletedAsync(old);
                }
                foreach (var pod in list.Items)
                {
                    _pods[pod.Metadata.Uid] = pod;
                }
                foreach (var pod in list.Items) await OnPodAsync(pod, ct);

                var watch = _client.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(
                    watch: true, resourceVersion: list.Metadata.ResourceVersion, allowWatchBookmarks: true,
                    timeoutSeconds: 300, cancellationToken: ct);
#pragma warning disable CS0618 // the list-with-watch call is the one that takes a resourceVersion
                await foreach (var (type, pod) in watch.WatchAsync<V1Pod, V1PodList>(cancellationToken: ct))
#pragma warning restore CS0618
                {
                    delay = TimeSpan.FromMilliseconds(200);
                    switch (type)
                    {
                        case WatchEventType.Added:
                        case WatchEventType.Modified:
                            _pods[pod.Metadata.Uid] = pod;
                            await OnPodAsync(pod, ct);
                            break;
                        case WatchEventType.Deleted:
                            _pods.TryRemove(pod.Metadata.Uid, out _);
                            await OnDeletedAsync(pod);
                            break;
                    }
                }
                // the server ended the watch (timeout): list again, which also resyncs
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // 410 Gone (the watch window expired), a restarted API server, a dropped
                // connection: back off a little and list again.
                Log($"pod watch interrupted ({e.GetType().Name}: {FirstLine(e.Message)}); relisting in {delay.TotalSeconds:0.#}s");
                try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private async Task OnPodAsync(V1Pod pod, CancellationToken ct)
    {
        if (Binder.NeedsBinding(pod))
        {
            if (_draining) return;
            await BindAsync(pod, ct);
            return;
        }
        var node = _topology.Node(pod.Spec?.NodeName ?? "");
        if (node is null) return;
        var uid = pod.Metadata.Uid;
        if (pod.Metadata.DeletionTimestamp is not null)
        {
            // The kubelet's part of a graceful delete: stop the containers, then remove the pod.
            if (_workers.TryRemove(uid, out var w)) await StopWorkerAsync(w);
            await ForceDeleteAsync(pod);
            return;
        }
        if (pod.Status?.Phase is "Succeeded" or "Failed") return;
        if (_workers.ContainsKey(uid) || _draining) return;
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var task = Task.Run(() => RunPodSafelyAsync(pod, node, cts.Token), CancellationToken.None);
        if (!_workers.TryAdd(uid, new PodWorker(cts, task))) cts.Cancel();
    }

    private async Task OnDeletedAsync(V1Pod pod)
    {
        if (_workers.TryRemove(pod.Metadata.Uid, out var w)) await StopWorkerAsync(w);
        Logs.Remove(pod.Metadata.NamespaceProperty, pod.Metadata.Name);
        // A pod that waited for a place (a CoreDNS replica of a rollout restart waiting for the old one
        // to leave its DNS server) gets no event of its own when the place frees: try it again now,
        // as kube-scheduler retries unschedulable pods when the cluster changes.
        if (_draining) return;
        foreach (var waiting in _pods.Values.Where(Binder.NeedsBinding).ToList())
            await BindAsync(waiting, _stop.Token);
    }

    private static async Task StopWorkerAsync(PodWorker worker)
    {
        await worker.Cancel.CancelAsync();
        try
        {
            await worker.Task.WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (Exception)
        {
            // the worker logs its own failures; a stuck one is abandoned (its process was killed)
        }
    }

    private async Task ForceDeleteAsync(V1Pod pod)
    {
        try
        {
            await _client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } });
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
        }
        catch (Exception e)
        {
            Log($"could not remove terminating pod {Key(pod)}: {FirstLine(e.Message)}");
        }
    }

    // ------------------------------------------------------------------ binding

    private async Task BindAsync(V1Pod pod, CancellationToken ct)
    {
        var live = _pods.Values.Where(p => p.Metadata.DeletionTimestamp is null && p.Status?.Phase is not ("Succeeded" or "Failed")).ToList();
        var nodes = _topology.Nodes.Select(n => new BindableNode(
            n.Name,
            NodeObjects.Build(n, _options.LabName).Metadata.Labels.AsReadOnly(),
            live.Count(p => p.Spec?.NodeName == n.Name))).ToList();
        var coreDnsTaken = live.Where(p => Binder.IsCoreDns(p) && !string.IsNullOrEmpty(p.Spec?.NodeName))
            .Select(p => p.Spec.NodeName).ToHashSet(StringComparer.Ordinal);
        var decision = Binder.Decide(pod, nodes, _topology.CoreDnsNodes, coreDnsTaken);
        if (decision.Node is null) return;
        try
        {
            await _client.CoreV1.CreateNamespacedPodBindingAsync(new V1Binding
            {
                Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = pod.Metadata.NamespaceProperty, Uid = pod.Metadata.Uid },
                Target = new V1ObjectReference { ApiVersion = "v1", Kind = "Node", Name = decision.Node },
            }, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
            // remember the placement now, so the next pod of the same batch spreads correctly
            pod.Spec.NodeName = decision.Node;
            await EventAsync(pod, "Normal", "Scheduled", $"Successfully assigned {Key(pod)} to {decision.Node}", "default-scheduler", null);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
        {
            // bound meanwhile, or gone: the watch brings the truth
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log($"binding {Key(pod)} to {decision.Node} failed: {FirstLine(e.Message)}");
        }
    }

    // ------------------------------------------------------------------ running pods

    private async Task RunPodSafelyAsync(V1Pod pod, LabNodeInfo node, CancellationToken ct)
    {
        try
        {
            switch (KubeSystemObjects.StandInOf(pod))
            {
                case StandIn.Flannel: await RunFlannelAsync(pod, node, ct); break;
                case StandIn.CoreDns: await RunCoreDnsAsync(pod, node, ct); break;
                case StandIn.KubeProxy: await RunKubeProxyAsync(pod, node, ct); break;
                default: await RunContainersAsync(pod, node, ct); break;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Log($"pod {Key(pod)} on {node.Name}: {e}");
        }
    }

    private async Task RunContainersAsync(V1Pod pod, LabNodeInfo node, CancellationToken ct)
    {
        var containers = pod.Spec?.Containers ?? [];
        if (pod.Spec?.InitContainers is { Count: > 0 })
        {
            await WriteStatusAsync(pod, p => PodStatuses.CannotRun(p, node, DateTime.UtcNow, "ContainerCannotRun", "init containers are not supported by the NetDiag lab kubelet"), ct);
            return;
        }
        var specs = new List<ContainerRunSpec>();
        foreach (var container in containers)
        {
            var file = Path.Combine(_options.WorkDir, $"{pod.Metadata.Uid}-{container.Name}.termination-log");
            if (!ContainerRunSpecs.TryBuild(pod, container, node, _options.Probe, file, out var spec, out var reason, out var message))
            {
                Log($"pod {Key(pod)} cannot run: {reason}: {message}");
                await WriteStatusAsync(pod, p => PodStatuses.CannotRun(p, node, DateTime.UtcNow, reason, message), ct);
                await EventAsync(pod, "Warning", "Failed", $"Error: {message}", "kubelet", node.Name);
                return;
            }
            specs.Add(spec!);
        }

        var startedAt = DateTime.UtcNow;
        await WriteStatusAsync(pod, p => PodStatuses.Running(p, node, node.NodeIp, startedAt), ct);
        await EventAsync(pod, "Normal", "Started", $"Started container {string.Join(", ", specs.Select(s => s.Container))}", "kubelet", node.Name);
        var outcomes = await Task.WhenAll(specs.Select(s => RunContainerAsync(pod, node, s, ct)));
        await WriteStatusAsync(pod, p => PodStatuses.Terminated(p, node, node.NodeIp, startedAt, outcomes), ct);
        _workers.TryRemove(pod.Metadata.Uid, out _);
    }

    private async Task<ContainerOutcome> RunContainerAsync(V1Pod pod, LabNodeInfo node, ContainerRunSpec spec, CancellationToken ct)
    {
        var started = DateTime.UtcNow;
        File.Delete(spec.TerminationMessageFile);
        File.WriteAllText(spec.TerminationMessageFile, "");
        NodeRunResult result;
        try
        {
            result = await _nodes.RunAsync(node.Name, [spec.FileName, .. spec.Args], spec.Environment, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            result = new NodeRunResult(128, "", $"cannot start {spec.FileName}: {e.Message}");
        }
        var finished = DateTime.UtcNow;
        var log = result.StdOut + result.StdErr;
        Logs.Append(pod.Metadata.NamespaceProperty, pod.Metadata.Name, spec.Container, log);
        var message = ReadTerminationMessage(spec.TerminationMessageFile);
        if (string.IsNullOrEmpty(message) && spec.FallbackToLogsOnError && result.ExitCode != 0)
            message = ContainerLogStore.Select(log, 80, 2048);
        File.Delete(spec.TerminationMessageFile);
        Log($"{Key(pod)} on {node.Name}: exit {result.ExitCode} after {(finished - started).TotalSeconds:0.0}s");
        return new ContainerOutcome(spec.Container, result.ExitCode, message, started, finished);
    }

    /// <summary>The kubelet reads at most 4096 bytes of a termination message.</summary>
    private static string ReadTerminationMessage(string file)
    {
        try
        {
            if (!File.Exists(file)) return "";
            var bytes = File.ReadAllBytes(file);
            return Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 4096));
        }
        catch (IOException)
        {
            return "";
        }
    }

    // ------------------------------------------------------------------ API writes

    /// <summary>Read-modify-write of pods/status, retried on conflicts; false when the pod is gone.</summary>
    private async Task<bool> WriteStatusAsync(V1Pod pod, Func<V1Pod, V1PodStatus> build, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 8; attempt++)
        {
            try
            {
                var fresh = await _client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
                if (fresh.Metadata.Uid != pod.Metadata.Uid) return false;
                fresh.Status = build(fresh);
                await _client.CoreV1.ReplaceNamespacedPodStatusAsync(fresh, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: ct);
                return true;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                await Task.Delay(50 * (attempt + 1), ct);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
            catch (Exception e) when (e is not OperationCanceledException && attempt < 7)
            {
                Log($"status of {Key(pod)}: {FirstLine(e.Message)} (retrying)");
                await Task.Delay(500 * (attempt + 1), ct);
            }
        }
        return false;
    }

    private async Task EventAsync(V1Pod pod, string type, string reason, string message, string component, string? host)
    {
        var now = DateTime.UtcNow;
        try
        {
            await _client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
            {
                Metadata = new V1ObjectMeta { GenerateName = pod.Metadata.Name + ".", NamespaceProperty = pod.Metadata.NamespaceProperty },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = "v1", Kind = "Pod", Name = pod.Metadata.Name,
                    NamespaceProperty = pod.Metadata.NamespaceProperty, Uid = pod.Metadata.Uid,
                },
                Type = type,
                Reason = reason,
                Message = message,
                Source = new V1EventSource { Component = component, Host = host },
                FirstTimestamp = now,
                LastTimestamp = now,
                Count = 1,
            }, pod.Metadata.NamespaceProperty);
        }
        catch (Exception)
        {
            // events are best effort, as in the kubelet
        }
    }

    private void Log(string line) => _options.Log?.Invoke($"[lab-kubelet] {line}");

    private static string Key(V1Pod pod) => $"{pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}";

    private static string FirstLine(string s) => s.Split('\n')[0];

    /// <summary>Stops watching and every pod worker (their processes are killed) and the log server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var w in _workers.Values) await StopWorkerAsync(w);
        _workers.Clear();
        foreach (var t in new[] { _watchLoop, _heartbeatLoop })
        {
            if (t is null) continue;
            try { await t.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
        }
        if (_server is not null) await _server.DisposeAsync();
        _stop.Dispose();
    }
}
