using NetnsLab = NetDiag.Lab.LabCluster;
using System.Diagnostics;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using NetDiag.Lab;
using NetDiag.LabCluster.Faults;
using NetDiag.LabCluster.Kubelet;
using NetDiag.LabCluster.KubeSystem;
using NetDiag.LabCluster.Nodes;

namespace NetDiag.LabCluster;

/// <summary>What lab cluster to bring up against an API server.</summary>
public sealed record LabClusterOptions
{
    /// <summary>Admin kubeconfig of the control plane.</summary>
    public required string KubeconfigPath { get; init; }

    /// <summary>The probe program to run for probe pods (netdiag-probe.dll or a native binary).</summary>
    public required string ProbePath { get; init; }

    public int NodeCount { get; init; } = 4;

    /// <summary>Lab name: prefix of its network namespaces ([a-z0-9], at most 8).</summary>
    public string Name { get; init; } = "ndlab";

    /// <summary>Faults as <c>name[:node],...</c> (see <see cref="FaultNames"/>).</summary>
    public string? Faults { get; init; }

    /// <summary>How long to wait for kube-system to settle.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(90);

    public Action<string>? Log { get; init; }
}

/// <summary>
/// A lab cluster joined to a real control plane: the network-namespace lab with its faults, the
/// lab's nodes registered as Nodes, kube-system as a flannel cluster has it, and the lab kubelet
/// running pods. Dispose removes every object, process, namespace and file it created.
/// </summary>
public sealed class LabClusterEnvironment : IAsyncDisposable
{
    private readonly LabClusterOptions _options;
    private NetnsLab? _lab;
    private LabKubelet? _kubelet;
    private bool _disposed;

    private LabClusterEnvironment(LabClusterOptions options, IKubernetes client)
    {
        _options = options;
        Client = client;
    }

    public IKubernetes Client { get; }

    /// <summary>The network-namespace lab.</summary>
    public NetnsLab Lab => _lab ?? throw new InvalidOperationException("the lab is not started");

    public LabTopology Topology { get; private set; } = null!;

    /// <summary>The faults in force, resolved to nodes.</summary>
    public IReadOnlyList<ResolvedFault> Faults { get; private set; } = [];

    public LabKubelet Kubelet => _kubelet ?? throw new InvalidOperationException("the kubelet is not started");

    /// <summary>The lab index whose service range the API server uses (10.(96+I).0.0/16).</summary>
    public static bool TryLabIndexForKubernetesServiceIp(string? clusterIp, out int index)
    {
        index = -1;
        if (clusterIp is null || !IPAddress.TryParse(clusterIp, out var ip)) return false;
        var b = ip.GetAddressBytes();
        if (b.Length != 4 || b[0] != 10 || b[1] < 96 || b[1] > 105 || b[2] != 0 || b[3] != 1) return false;
        index = b[1] - 96;
        return true;
    }

    /// <summary>
    /// Brings the lab cluster up. Bad options (unknown fault, unknown node, a control plane whose
    /// service range no lab matches) throw <see cref="ArgumentException"/> with a message to show
    /// as is; everything created before a failure is removed again.
    /// </summary>
    public static async Task<LabClusterEnvironment> StartAsync(LabClusterOptions options, CancellationToken ct = default)
    {
        if (!FaultParser.TryParse(options.Faults, out var requests, out var faultError)) throw new ArgumentException(faultError);
        if (!File.Exists(options.ProbePath)) throw new ArgumentException($"probe program {options.ProbePath} not found (build src/Probes first)");
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(options.KubeconfigPath);
        var client = new Kubernetes(config);
        var env = new LabClusterEnvironment(options, client);
        try
        {
            await env.StartCoreAsync(requests, config.Host, ct);
            return env;
        }
        catch
        {
            await env.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(List<FaultRequest> requests, string apiServerUrl, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var kubernetesSvc = await Client.CoreV1.ReadNamespacedServiceAsync("kubernetes", "default", cancellationToken: ct);
        if (!TryLabIndexForKubernetesServiceIp(kubernetesSvc.Spec.ClusterIP, out var index))
            throw new ArgumentException(
                $"the API server's kubernetes Service has ClusterIP {kubernetesSvc.Spec.ClusterIP}; the lab needs a service range 10.(96+I).0.0/16 " +
                "(start the control plane with NETDIAG_SERVICE_CIDR=10.96.0.0/16)");

        await RemoveLeftoversAsync(ct);
        Log($"creating lab {_options.Name}: {_options.NodeCount} nodes (index {index})");
        _lab = await NetnsLab.CreateAsync(new LabOptions
        {
            NodeCount = _options.NodeCount,
            Name = _options.Name,
            Index = index,
            Log = _options.Log is null ? null : line => _options.Log("[lab] " + line.Trim()),
        }, ct);

        var nodeNames = _lab.Nodes.Select(n => n.Name).ToList();
        var coreDns = _lab.CoreDnsPods.Select(p => new CoreDnsInstance(p.Node.Name, p.Ip)).ToList();
        if (!FaultParser.TryResolve(requests, nodeNames, coreDns.Select(c => c.Node).Distinct().ToList(), out var faults, out var resolveError))
            throw new ArgumentException(resolveError);
        Faults = faults;

        // Node faults are kernel state and host-root files; dnsLoop's resolv.conf is one of them,
        // and the CoreDNS stand-in then loops because of it when its pods start.
        foreach (var fault in faults.Where(f => !FaultNames.ApiOnly.Contains(f.Name)))
        foreach (var node in fault.Nodes)
        {
            Log($"injecting {fault.Name} on {node}");
            await _lab.InjectFaultAsync(fault.Name, node, ct);
        }

        var realCidrs = _lab.Nodes.ToDictionary(n => n.Name, n => n.PodCidr);
        var claimed = new Dictionary<string, string>(realCidrs);
        foreach (var fault in faults.Where(f => f.Name == FaultNames.PodCidrOverlap))
        foreach (var node in fault.Nodes)
        {
            var (claim, overlapped) = PodCidrOverlapFault.Claim(node, realCidrs);
            claimed[node] = claim;
            Log($"podCidrOverlap: {node} registers podCIDR {claim} (overlaps {string.Join(", ", overlapped)})");
        }

        Topology = new LabTopology
        {
            Nodes = _lab.Nodes.Select(n => new LabNodeInfo(n.Name, n.NodeIp, [claimed[n.Name]], n.HostRoot)).ToList(),
            FlannelNetwork = _lab.FlannelNetwork,
            VxlanPort = _lab.VxlanPort,
            CoreDns = coreDns,
            KubeDnsServiceIp = _lab.KubeDnsServiceIp,
            KubernetesServiceIp = _lab.KubernetesServiceIp,
        };

        _kubelet = new LabKubelet(Client, Topology, new LabNodesAdapter(_lab), new LabKubeletOptions
        {
            LabName = _options.Name,
            Probe = ProbeProgram.FromPath(_options.ProbePath),
            WorkDir = Path.Combine(_lab.WorkDir, "kubelet"),
            Log = _options.Log,
        });
        await _kubelet.StartAsync(ct);

        foreach (var obj in KubeSystemObjects.All(Topology, _options.Name, apiServerUrl))
            await CreateAsync(obj, ct);
        await WaitForKubeSystemAsync(ct);
        await WarmPathsToCoreDnsAsync(ct);
        Log($"lab cluster {_options.Name} ready in {sw.Elapsed.TotalSeconds:0.0}s: {Topology.Nodes.Count} nodes, faults: {(faults.Count == 0 ? "none" : string.Join(", ", faults))}");
    }

    /// <summary>
    /// One ping from every node to every CoreDNS pod, results ignored: it fills the neighbour caches
    /// along the overlay and the cni0 bridges, so a probe's first 1-second DNS query right after the
    /// lab came up does not race the address resolution (seen as a one-off "CoreDNS pod does not
    /// answer" from a single node). A fault that breaks a path is untouched by this.
    /// </summary>
    private async Task WarmPathsToCoreDnsAsync(CancellationToken ct)
    {
        var pings = Lab.Nodes.SelectMany(n => Lab.CoreDnsPods.Select(p => (n, p.Ip))).Select(async t =>
        {
            try { await t.n.ExecAsync("ping", ["-c", "1", "-W", "1", t.Ip], null, ct, TimeSpan.FromSeconds(3)); }
            catch (Exception e) when (e is not OperationCanceledException) { /* warming only */ }
        });
        await Task.WhenAll(pings);
    }

    /// <summary>
    /// Waits until kube-system looks as it would on such a cluster: a flannel and a kube-proxy pod
    /// Running on every node, every CoreDNS replica Running (or crash-looping, on a dnsLoop node),
    /// and kube-dns Endpoints listing the ready CoreDNS pods.
    /// </summary>
    private async Task WaitForKubeSystemAsync(CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        var loopNodes = Faults.Where(f => f.Name == FaultNames.DnsLoop).SelectMany(f => f.Nodes).ToHashSet();
        var healthyDns = Topology.CoreDns.Count(c => !loopNodes.Contains(c.Node));
        string state = "";
        while (deadline.Elapsed < _options.ReadyTimeout)
        {
            var pods = (await Client.CoreV1.ListNamespacedPodAsync(KubeSystemObjects.Namespace, labelSelector: $"{NodeObjects.LabLabel}={_options.Name}", cancellationToken: ct)).Items;
            int Running(Func<V1Pod, bool> which) => pods.Count(p => which(p) && p.Status?.Phase == "Running" && p.Metadata.DeletionTimestamp is null);
            var flannel = Running(p => KubeSystemObjects.StandInOf(p) == StandIn.Flannel);
            var proxy = Running(p => KubeSystemObjects.StandInOf(p) == StandIn.KubeProxy);
            var dns = Running(p => KubeSystemObjects.StandInOf(p) == StandIn.CoreDns);
            var crashing = pods.Count(p => KubeSystemObjects.StandInOf(p) == StandIn.CoreDns
                && p.Status?.ContainerStatuses?.Any(c => c.State?.Waiting?.Reason == "CrashLoopBackOff") == true);
            var endpoints = await ReadEndpointAddressesAsync(ct);
            state = $"flannel {flannel}/{Topology.Nodes.Count}, kube-proxy {proxy}/{Topology.Nodes.Count}, CoreDNS running {dns}/{Topology.CoreDns.Count} (crash-looping {crashing}), kube-dns endpoints {endpoints}/{healthyDns}";
            if (flannel == Topology.Nodes.Count && proxy == Topology.Nodes.Count && dns == Topology.CoreDns.Count
                && crashing == Topology.CoreDns.Count - healthyDns && endpoints == healthyDns)
                return;
            await Task.Delay(250, ct);
        }
        throw new TimeoutException($"kube-system did not settle within {_options.ReadyTimeout.TotalSeconds:0}s: {state}");
    }

    private async Task<int> ReadEndpointAddressesAsync(CancellationToken ct)
    {
        try
        {
            var ep = await Client.CoreV1.ReadNamespacedEndpointsAsync(KubeSystemObjects.KubeDnsService, KubeSystemObjects.Namespace, cancellationToken: ct);
            return ep.Subsets?.Sum(s => s.Addresses?.Count ?? 0) ?? 0;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return 0;
        }
    }

    private async Task CreateAsync(IKubernetesObject<V1ObjectMeta> obj, CancellationToken ct)
    {
        var ns = obj.Metadata.NamespaceProperty;
        var name = obj.Metadata.Name;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                switch (obj)
                {
                    case V1ServiceAccount sa: await Client.CoreV1.CreateNamespacedServiceAccountAsync(sa, ns, cancellationToken: ct); break;
                    case V1ConfigMap cm: await Client.CoreV1.CreateNamespacedConfigMapAsync(cm, ns, cancellationToken: ct); break;
                    case V1Service svc: await Client.CoreV1.CreateNamespacedServiceAsync(svc, ns, cancellationToken: ct); break;
                    case V1DaemonSet ds: await Client.AppsV1.CreateNamespacedDaemonSetAsync(ds, ns, cancellationToken: ct); break;
                    case V1Deployment d: await Client.AppsV1.CreateNamespacedDeploymentAsync(d, ns, cancellationToken: ct); break;
                    default: throw new InvalidOperationException($"no create for {obj.GetType().Name}");
                }
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 50)
            {
                // left over from an earlier lab and still being deleted: wait for it to go
                await DeleteAsync(obj, ct);
                await Task.Delay(200, ct);
            }
        }
    }

    private async Task DeleteAsync(IKubernetesObject<V1ObjectMeta> obj, CancellationToken ct)
    {
        var ns = obj.Metadata.NamespaceProperty;
        var name = obj.Metadata.Name;
        var options = new V1DeleteOptions { PropagationPolicy = "Foreground" };
        try
        {
            switch (obj)
            {
                case V1ServiceAccount: await Client.CoreV1.DeleteNamespacedServiceAccountAsync(name, ns, options, cancellationToken: ct); break;
                case V1ConfigMap: await Client.CoreV1.DeleteNamespacedConfigMapAsync(name, ns, options, cancellationToken: ct); break;
                case V1Service: await Client.CoreV1.DeleteNamespacedServiceAsync(name, ns, options, cancellationToken: ct); break;
                case V1DaemonSet: await Client.AppsV1.DeleteNamespacedDaemonSetAsync(name, ns, options, cancellationToken: ct); break;
                case V1Deployment: await Client.AppsV1.DeleteNamespacedDeploymentAsync(name, ns, options, cancellationToken: ct); break;
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
        catch (System.Text.Json.JsonException)
        {
            // Deleted: a 1.20 API server answers some deletes (Services) with a Status object
            // where the client expects the deleted object.
        }
    }

    /// <summary>
    /// Objects an earlier lab left in this API server (a crashed run, a demo killed hard): its
    /// kube-system objects, its Nodes and the pods bound to them.
    /// </summary>
    private async Task RemoveLeftoversAsync(CancellationToken ct)
    {
        var nodes = await Client.CoreV1.ListNodeAsync(labelSelector: NodeObjects.LabLabel, cancellationToken: ct);
        var stale = nodes.Items.Count > 0
            || (await Client.AppsV1.ListNamespacedDaemonSetAsync(KubeSystemObjects.Namespace, labelSelector: NodeObjects.LabLabel, cancellationToken: ct)).Items.Count > 0
            || (await Client.AppsV1.ListNamespacedDeploymentAsync(KubeSystemObjects.Namespace, labelSelector: NodeObjects.LabLabel, cancellationToken: ct)).Items.Count > 0;
        if (!stale) return;
        Log("removing objects an earlier lab left in the API server");
        await RemoveApiObjectsAsync(nodes.Items.Select(n => n.Metadata.Name).ToList(), labSelector: NodeObjects.LabLabel, ct);
    }

    private async Task RemoveApiObjectsAsync(IReadOnlyList<string> nodeNames, string labSelector, CancellationToken ct)
    {
        var topology = Topology ?? new LabTopology
        {
            Nodes = [], FlannelNetwork = "10.244.0.0/16", CoreDns = [], KubeDnsServiceIp = "", KubernetesServiceIp = "",
        };
        // Foreground: the garbage collector removes ReplicaSets and pods before their owner, so
        // nothing is recreated behind our back; the kubelet (if still running) stops the pods.
        foreach (var obj in KubeSystemObjects.All(topology, _options.Name, "https://127.0.0.1").Reverse())
            await DeleteAsync(obj, ct);
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            var left = (await Client.AppsV1.ListNamespacedDaemonSetAsync(KubeSystemObjects.Namespace, labelSelector: labSelector, cancellationToken: ct)).Items.Count
                       + (await Client.AppsV1.ListNamespacedDeploymentAsync(KubeSystemObjects.Namespace, labelSelector: labSelector, cancellationToken: ct)).Items.Count;
            if (left == 0) break;
            await Task.Delay(250, ct);
        }
        // Pods bound to lab nodes (stand-ins, probe pods): the kubelet's final word is a delete
        // with grace 0; without it they would wait for a kubelet that is gone.
        var pods = await Client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: ct);
        foreach (var pod in pods.Items.Where(p => nodeNames.Contains(p.Spec?.NodeName ?? "") || IsLabPod(p, labSelector)))
        {
            try
            {
                await Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                    new V1DeleteOptions { GracePeriodSeconds = 0 }, cancellationToken: ct);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }
        }
        foreach (var node in nodeNames)
        {
            try
            {
                await Client.CoreV1.DeleteNodeAsync(node, new V1DeleteOptions { GracePeriodSeconds = 0 }, cancellationToken: ct);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }
        }
    }

    private static bool IsLabPod(V1Pod pod, string labSelector) => pod.Metadata.Labels?.ContainsKey(labSelector) == true;

    private void Log(string line) => _options.Log?.Invoke("[lab-cluster] " + line);

    /// <summary>
    /// Removes the kube-system objects while the kubelet still runs (it stops their pods and
    /// confirms the deletions, as kubelets do), force-deletes whatever pod is left on the lab's
    /// nodes, stops the kubelet, deletes the Nodes and removes the lab. Never throws: problems are logged.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        var errors = new List<string>();
        var nodeNames = _lab?.Nodes.Select(n => n.Name).ToList() ?? [];
        _kubelet?.BeginShutdown();
        if (_lab is not null)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await RemoveApiObjectsAsync(nodeNames, NodeObjects.LabLabel, cts.Token);
            }
            catch (Exception e)
            {
                errors.Add($"API objects: {e.Message}");
            }
        }
        if (_kubelet is not null)
        {
            try { await _kubelet.DisposeAsync(); } catch (Exception e) { errors.Add($"kubelet: {e.Message}"); }
        }
        if (_lab is not null)
        {
            try { await _lab.DisposeAsync(); } catch (Exception e) { errors.Add($"lab: {e.Message}"); }
        }
        if (errors.Count > 0) Log("cleanup problems: " + string.Join("; ", errors));
        else Log($"lab cluster {_options.Name} removed");
    }
}
