using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace NetDiag.Operator.Runtime;

/// <summary>Where a watch starts and how long the server keeps it open before closing it cleanly.</summary>
public sealed record WatchRequest(string? ResourceVersion, int TimeoutSeconds, bool AllowBookmarks = true);

/// <summary>
/// How an informer reads one kind: a LIST and a WATCH from a resourceVersion. The C# client has no
/// informer and its <c>GenericClient.WatchAsync</c> takes no resourceVersion, so these call the
/// generated list methods with <c>watch=true</c> directly.
/// </summary>
public sealed class ListerWatcher<T>(
    string resource,
    Func<CancellationToken, Task<ListResult<T>>> list,
    Func<WatchRequest, CancellationToken, IAsyncEnumerable<WatchEvent<T>>> watch)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>A short name for logs and metrics (e.g. <c>nodes</c>, <c>jobs</c>).</summary>
    public string Resource { get; } = resource;

    public Task<ListResult<T>> ListAsync(CancellationToken ct) => list(ct);

    public IAsyncEnumerable<WatchEvent<T>> WatchAsync(WatchRequest request, CancellationToken ct) => watch(request, ct);
}

/// <summary>List/watch pairs for the kinds the operator watches, on the official client.</summary>
public static class KubernetesListerWatchers
{
    /// <summary>Nodes (cluster-scoped), optionally label-selected.</summary>
    public static ListerWatcher<V1Node> Nodes(IKubernetes client, string? labelSelector = null) => new(
        "nodes",
        async ct =>
        {
            var l = await client.CoreV1.ListNodeAsync(labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false);
            return new ListResult<V1Node>(l.Items.ToArray(), l.Metadata?.ResourceVersion);
        },
        (r, ct) => Stream<V1Node, V1NodeList>(client.CoreV1.ListNodeWithHttpMessagesAsync(
            allowWatchBookmarks: r.AllowBookmarks, labelSelector: labelSelector, resourceVersion: r.ResourceVersion,
            timeoutSeconds: r.TimeoutSeconds, watch: true, cancellationToken: ct), ct));

    /// <summary>Jobs in one namespace, label-selected (the operator's probe Jobs).</summary>
    public static ListerWatcher<V1Job> Jobs(IKubernetes client, string ns, string? labelSelector) => new(
        "jobs",
        async ct =>
        {
            var l = await client.BatchV1.ListNamespacedJobAsync(ns, labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false);
            return new ListResult<V1Job>(l.Items.ToArray(), l.Metadata?.ResourceVersion);
        },
        (r, ct) => Stream<V1Job, V1JobList>(client.BatchV1.ListNamespacedJobWithHttpMessagesAsync(ns,
            allowWatchBookmarks: r.AllowBookmarks, labelSelector: labelSelector, resourceVersion: r.ResourceVersion,
            timeoutSeconds: r.TimeoutSeconds, watch: true, cancellationToken: ct), ct));

    /// <summary>Pods in one namespace, label-selected (the probe Jobs' Pods).</summary>
    public static ListerWatcher<V1Pod> Pods(IKubernetes client, string ns, string? labelSelector) => new(
        "pods",
        async ct =>
        {
            var l = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false);
            return new ListResult<V1Pod>(l.Items.ToArray(), l.Metadata?.ResourceVersion);
        },
        (r, ct) => Stream<V1Pod, V1PodList>(client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns,
            allowWatchBookmarks: r.AllowBookmarks, labelSelector: labelSelector, resourceVersion: r.ResourceVersion,
            timeoutSeconds: r.TimeoutSeconds, watch: true, cancellationToken: ct), ct));

    /// <summary>ConfigMaps in one namespace (e.g. for tests or the CoreDNS Corefile).</summary>
    public static ListerWatcher<V1ConfigMap> ConfigMaps(IKubernetes client, string ns, string? labelSelector = null) => new(
        "configmaps",
        async ct =>
        {
            var l = await client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: labelSelector, cancellationToken: ct).ConfigureAwait(false);
            return new ListResult<V1ConfigMap>(l.Items.ToArray(), l.Metadata?.ResourceVersion);
        },
        (r, ct) => Stream<V1ConfigMap, V1ConfigMapList>(client.CoreV1.ListNamespacedConfigMapWithHttpMessagesAsync(ns,
            allowWatchBookmarks: r.AllowBookmarks, labelSelector: labelSelector, resourceVersion: r.ResourceVersion,
            timeoutSeconds: r.TimeoutSeconds, watch: true, cancellationToken: ct), ct));

    /// <summary>A cluster-scoped custom resource, deserialised into <typeparamref name="T"/>.</summary>
    public static ListerWatcher<T> ClusterCustomObjects<T, TList>(IKubernetes client, string group, string version, string plural)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : class, IKubernetesObject<V1ListMeta>, IItems<T> => new(
        plural,
        async ct =>
        {
            using var r = await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<TList>(group, version, plural,
                cancellationToken: ct).ConfigureAwait(false);
            return new ListResult<T>(r.Body.Items?.ToArray() ?? [], r.Body.Metadata?.ResourceVersion);
        },
        (r, ct) => Stream<T, object>(client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync(group, version, plural,
            allowWatchBookmarks: r.AllowBookmarks, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds,
            watch: true, cancellationToken: ct), ct));

    /// <summary>
    /// Adapts the client's watch stream: the client reports an ERROR event's Status (and lines it
    /// cannot decode) through a callback, not as an item; this turns them back into items so the
    /// informer sees one ordered stream.
    /// </summary>
    internal static async IAsyncEnumerable<WatchEvent<T>> Stream<T, TList>(
        Task<HttpOperationResponse<TList>> response, [EnumeratorCancellation] CancellationToken ct)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
#pragma warning disable CS0618 // WatchAsync is marked for future deprecation but is the client's watch decoder today
        var events = response.WatchAsync<T, TList>(errors.Enqueue, ct);
#pragma warning restore CS0618
        await using var e = events.GetAsyncEnumerator(ct);
        while (true)
        {
            bool more;
            try
            {
                more = await e.MoveNextAsync().ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                // The client waits for the first line before returning the response; a watch the
                // server closed (timeoutSeconds) before any event ends here: a normal end.
                more = false;
            }
            while (errors.TryDequeue(out var err))
            {
                if (err is KubernetesException { Status: { } status }) yield return WatchEvent<T>.Error(status);
                else throw new WatchDecodeException(err);
            }
            if (!more) yield break;
            var (type, obj) = e.Current;
            yield return new WatchEvent<T>(type, obj);
        }
    }
}

/// <summary>A watch line the client could not decode: the informer backs off and resumes.</summary>
public sealed class WatchDecodeException(Exception inner) : Exception($"undecodable watch event: {inner.Message}", inner);
