using System.Text.Json;
using k8s;
using k8s.Models;
using NetDiag.Operator.Checks;

namespace NetDiag.Operator.Kubernetes;

/// <summary>
/// Reads <see cref="ClusterFacts"/> with a handful of GET/LIST calls (called once per run, not per
/// poll). Forbidden becomes <see cref="ClusterFacts.GatherErrors"/>; NotFound means absent;
/// anything else (5xx, connection refused during an API server restart) throws, and the queue retries.
/// </summary>
public sealed class KubernetesClusterFactsReader(IKubernetes client, TimeProvider time) : IClusterFactsReader
{
    /// <summary>Previous-container log bytes read per crash-looping CoreDNS pod: the loop line is near the end.</summary>
    public const int PreviousLogBytes = 64 * 1024;

    /// <summary>Lines read from the end of an unhealthy CNI pod's log (seed 001 §3 reads the last few dozen).</summary>
    public const int CniLogTailLines = 50;

    /// <summary>At most this many CNI pod logs per run: a cluster-wide CNI outage must not cost one read per node.</summary>
    public const int MaxCniLogPods = 20;

    public async Task<ClusterFacts> ReadAsync(CancellationToken ct)
    {
        var errors = new Dictionary<string, string>();
        var pods = new List<V1Pod>();
        var daemonSets = new List<V1DaemonSet>();
        foreach (var ns in SystemObjects.CniNamespaces)
        {
            var p = await Lasting(() => client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: ct), $"pods/{ns}", errors);
            if (p is not null) pods.AddRange(p.Items.Select(Normalize));
            var d = await Lasting(() => client.AppsV1.ListNamespacedDaemonSetAsync(ns, cancellationToken: ct), ns == SystemObjects.KubeSystem ? "daemonsets" : $"daemonsets/{ns}", errors);
            if (d is not null) daemonSets.AddRange(d.Items);
        }
        // Newer flannel manifests use their own namespace; older ones kube-system.
        var flannel = await Get(() => client.CoreV1.ReadNamespacedConfigMapAsync(SystemObjects.FlannelConfigMap, SystemObjects.KubeFlannel, cancellationToken: ct), $"configmaps/{SystemObjects.FlannelConfigMap}", errors)
                      ?? await Get(() => client.CoreV1.ReadNamespacedConfigMapAsync(SystemObjects.FlannelConfigMap, SystemObjects.KubeSystem, cancellationToken: ct), $"configmaps/{SystemObjects.FlannelConfigMap}", errors);
        var coredns = await Get(() => client.CoreV1.ReadNamespacedConfigMapAsync(SystemObjects.CoreDnsConfigMap, SystemObjects.KubeSystem, cancellationToken: ct), $"configmaps/{SystemObjects.CoreDnsConfigMap}", errors);
        var kubeProxy = await Get(() => client.CoreV1.ReadNamespacedConfigMapAsync(SystemObjects.KubeProxyConfigMap, SystemObjects.KubeSystem, cancellationToken: ct), $"configmaps/{SystemObjects.KubeProxyConfigMap}", errors);
        var kubeDns = await Get(() => client.CoreV1.ReadNamespacedServiceAsync(SystemObjects.KubeDnsService, SystemObjects.KubeSystem, cancellationToken: ct), $"services/{SystemObjects.KubeDnsService}", errors);
        var endpoints = await Get(() => client.CoreV1.ReadNamespacedEndpointsAsync(SystemObjects.KubeDnsService, SystemObjects.KubeSystem, cancellationToken: ct), SystemObjects.EndpointsSource, errors);
        var kubernetes = await Get(() => client.CoreV1.ReadNamespacedServiceAsync(SystemObjects.KubernetesService, "default", cancellationToken: ct), $"services/{SystemObjects.KubernetesService}", errors);
        var (slices, sliceApi) = await ReadKubeDnsSlicesAsync(errors, ct);
        var pools = await ReadCalicoPoolsAsync(errors, ct);
        var cniLogs = await ReadCniLogsAsync(pods, daemonSets, ct);

        // Previous logs only for crash-looping CoreDNS pods (the dnsLoop signature), never for all pods.
        var previous = new Dictionary<string, string>();
        foreach (var pod in pods.Where(p => p.Metadata.NamespaceProperty == SystemObjects.KubeSystem &&
                                            p.Metadata.Labels?.TryGetValue(SystemObjects.CoreDnsLabelKey, out var v) == true && v == SystemObjects.CoreDnsLabelValue &&
                                            (PodFacts.IsCrashLooping(p) || PodFacts.Restarts(p) > 0)))
        {
            previous[pod.Metadata.Name] = await ReadPreviousLog(pod, ct);
        }

        return new ClusterFacts
        {
            SystemPods = pods,
            SystemDaemonSets = daemonSets,
            FlannelConfig = flannel,
            CoreDnsConfig = coredns,
            KubeProxyConfig = kubeProxy,
            KubeDnsService = kubeDns,
            KubeDnsEndpoints = endpoints,
            KubernetesService = kubernetes,
            KubeDnsEndpointSlices = slices,
            EndpointSliceApi = sliceApi,
            CalicoIpPools = pools,
            CniPodLogs = cniLogs,
            PreviousCoreDnsLogs = previous,
            GatherErrors = errors,
            ReadAt = time.GetUtcNow(),
        };
    }

    /// <summary>
    /// kube-dns's EndpointSlices: discovery.k8s.io/v1 (1.21+); on 404 the v1beta1 of 1.20 (which the
    /// client has no typed call for, so through the generic path; its extra fields are ignored);
    /// on 404 again the API serves no slices and Endpoints stays the only source.
    /// </summary>
    private async Task<(IReadOnlyList<V1EndpointSlice>?, string?)> ReadKubeDnsSlicesAsync(Dictionary<string, string> errors, CancellationToken ct)
    {
        try
        {
            var v1 = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(SystemObjects.KubeSystem, labelSelector: SystemObjects.KubeDnsSliceSelector, cancellationToken: ct);
            return (v1.Items.ToList(), "discovery.k8s.io/v1");
        }
        catch (Exception e) when (ApiErrors.IsNotFound(e)) { }
        catch (Exception e) when (ApiErrors.IsLasting(e)) { errors[SystemObjects.EndpointSlicesSource] = ApiErrors.Describe(e); return (null, null); }
        try
        {
            var beta = await client.CustomObjects.ListNamespacedCustomObjectAsync<V1EndpointSliceList>("discovery.k8s.io", "v1beta1", SystemObjects.KubeSystem, "endpointslices",
                labelSelector: SystemObjects.KubeDnsSliceSelector, cancellationToken: ct);
            return ((beta?.Items ?? []).ToList(), "discovery.k8s.io/v1beta1");
        }
        catch (Exception e) when (ApiErrors.IsNotFound(e)) { return (null, null); }
        catch (Exception e) when (ApiErrors.IsLasting(e) || e is JsonException) { errors[SystemObjects.EndpointSlicesSource] = ApiErrors.Describe(e); return (null, null); }
    }

    /// <summary>
    /// Calico IPPools. 404: the CRD is not installed, i.e. no Calico. Any other failure is kept for
    /// podCidrOverlap to report as Unknown for this source only: an optional CRD that cannot be read
    /// must not fail the whole run.
    /// </summary>
    private async Task<IReadOnlyList<CalicoIpPool>> ReadCalicoPoolsAsync(Dictionary<string, string> errors, CancellationToken ct)
    {
        try
        {
            var list = await client.CustomObjects.ListClusterCustomObjectAsync<JsonElement>(CalicoIpPool.Group, CalicoIpPool.Version, CalicoIpPool.Plural, cancellationToken: ct);
            return CalicoIpPool.ParseList(list);
        }
        catch (Exception e) when (ApiErrors.IsNotFound(e)) { return []; }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            errors[CalicoIpPool.Source] = ApiErrors.Describe(e);
            return [];
        }
    }

    /// <summary>
    /// The last <see cref="CniLogTailLines"/> lines of each unhealthy pod of the detected CNI (the
    /// crashed container's with previous=true when it restarted), at most <see cref="MaxCniLogPods"/>,
    /// read concurrently. A failed read becomes a note in the evidence.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, CniPodLog>> ReadCniLogsAsync(List<V1Pod> pods, List<V1DaemonSet> daemonSets, CancellationToken ct)
    {
        var cni = CniDetector.Detect(daemonSets);
        if (cni.DaemonSet is null) return new Dictionary<string, CniPodLog>();
        var wanted = pods.Where(p => CniHealthCheck.BelongsTo(p, cni.DaemonSet) && CniHealthCheck.NeedsLogs(p))
            .OrderBy(PodFacts.Key, StringComparer.Ordinal).Take(MaxCniLogPods).ToList();
        var reads = await Task.WhenAll(wanted.Select(async p => (PodFacts.Key(p), await ReadCniLogAsync(p, ct))));
        return reads.ToDictionary(r => r.Item1, r => r.Item2);
    }

    private async Task<CniPodLog> ReadCniLogAsync(V1Pod pod, CancellationToken ct)
    {
        var (container, previous) = CniHealthCheck.LogTarget(pod);
        try
        {
            using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                container: container, previous: previous, tailLines: CniLogTailLines, limitBytes: PreviousLogBytes, cancellationToken: ct);
            using var reader = new StreamReader(stream);
            return new CniPodLog(container, previous, await reader.ReadToEndAsync(ct), null);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            return new CniPodLog(container, previous, null, ApiErrors.Describe(e));
        }
    }

    private async Task<string> ReadPreviousLog(V1Pod pod, CancellationToken ct)
    {
        try
        {
            using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                previous: true, limitBytes: PreviousLogBytes, cancellationToken: ct);
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return "error: " + ApiErrors.Describe(e);
        }
    }

    /// <summary>Kept small: a 1000-node cluster has thousands of kube-system pods; managed fields are never read.</summary>
    private static V1Pod Normalize(V1Pod p)
    {
        p.Metadata.ManagedFields = null;
        return p;
    }

    private static async Task<T?> Lasting<T>(Func<Task<T>> read, string what, Dictionary<string, string> errors) where T : class
    {
        try { return await read(); }
        catch (Exception e) when (ApiErrors.IsLasting(e)) { errors[what] = ApiErrors.Describe(e); return null; }
    }

    private static async Task<T?> Get<T>(Func<Task<T>> read, string what, Dictionary<string, string> errors) where T : class
    {
        try { return await read(); }
        catch (Exception e) when (ApiErrors.IsNotFound(e)) { return null; }
        catch (Exception e) when (ApiErrors.IsLasting(e)) { errors[what] = ApiErrors.Describe(e); return null; }
    }
}
