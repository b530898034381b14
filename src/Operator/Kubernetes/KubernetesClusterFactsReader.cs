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
        var endpoints = await Get(() => client.CoreV1.ReadNamespacedEndpointsAsync(SystemObjects.KubeDnsService, SystemObjects.KubeSystem, cancellationToken: ct), "endpoints/kube-dns", errors);
        var kubernetes = await Get(() => client.CoreV1.ReadNamespacedServiceAsync(SystemObjects.KubernetesService, "default", cancellationToken: ct), $"services/{SystemObjects.KubernetesService}", errors);

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
            PreviousCoreDnsLogs = previous,
            GatherErrors = errors,
            ReadAt = time.GetUtcNow(),
        };
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
