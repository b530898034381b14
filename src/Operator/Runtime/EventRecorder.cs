using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Runtime;

/// <summary>Who records Events: the source component and this replica.</summary>
public sealed record EventRecorderOptions
{
    public string Component { get; init; } = "netdiag-operator";
    /// <summary>Source host and reporting instance (the pod name in a cluster).</summary>
    public string? Instance { get; init; } = Environment.MachineName;
    /// <summary>Recent events remembered for aggregation; the oldest is forgotten first.</summary>
    public int CacheSize { get; init; } = 4096;
}

/// <summary>
/// Records core/v1 Events like client-go's recorder: in the involved object's namespace, or
/// <c>default</c> for cluster-scoped objects (where <c>kubectl describe</c>, which searches all
/// namespaces with <c>involvedObject.namespace=""</c>, and <c>kubectl events --for</c> in the
/// default namespace both find them). A repeat of the same object, type, reason and message bumps
/// <c>count</c> and <c>lastTimestamp</c> of the existing Event instead of creating another.
/// Never throws: a failed Event is logged and counted.
/// </summary>
public sealed class KubernetesEventRecorder : IEventRecorder
{
    private readonly IKubernetes _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OperatorMetrics? _metrics;
    private readonly EventRecorderOptions _options;
    private readonly BoundedCache<string, RecordedEvent> _recent;

    private sealed record RecordedEvent(string Namespace, string Name, int Count);

    public KubernetesEventRecorder(IKubernetes client, TimeProvider time, ILogger<KubernetesEventRecorder>? logger = null,
        OperatorMetrics? metrics = null, EventRecorderOptions? options = null)
    {
        _client = client;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = metrics;
        _options = options ?? new EventRecorderOptions();
        _recent = new BoundedCache<string, RecordedEvent>(_options.CacheSize);
    }

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> involvedObject, string type, string reason, string message,
        CancellationToken cancellationToken)
    {
        try
        {
            var key = EventBuilder.AggregationKey(involvedObject, type, reason, message);
            var now = _time.GetUtcNow().UtcDateTime;
            if (_recent.TryGet(key, out var previous))
            {
                try
                {
                    var patch = new V1Patch(EventBuilder.BumpPatch(previous.Count + 1, now), V1Patch.PatchType.MergePatch);
                    await _client.CoreV1.PatchNamespacedEventAsync(patch, previous.Name, previous.Namespace,
                        cancellationToken: cancellationToken).ConfigureAwait(false);
                    _recent.Set(key, previous with { Count = previous.Count + 1 });
                    _metrics?.Events.Inc(type, reason, "aggregated");
                    return;
                }
                catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.NotFound)
                {
                    // The Event expired (the API server keeps Events for an hour by default): create a new one.
                    _recent.Remove(key);
                }
            }
            var ev = EventBuilder.Build(involvedObject, type, reason, message, now, _options.Component, _options.Instance,
                Random.Shared.Next(0x10000));
            var created = await _client.CoreV1.CreateNamespacedEventAsync(ev, ev.Metadata.NamespaceProperty,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            _recent.Set(key, new RecordedEvent(created.Metadata.NamespaceProperty ?? ev.Metadata.NamespaceProperty,
                created.Metadata.Name ?? ev.Metadata.Name, created.Count ?? 1));
            _metrics?.Events.Inc(type, reason, "created");
        }
        catch (Exception ex)
        {
            _metrics?.Events.Inc(type, reason, "failed");
            _logger.EventFailed(reason, involvedObject?.Kind, involvedObject?.Metadata?.Name,
                ex is OperationCanceledException ? "cancelled" : WatchFailures.Describe(ex));
        }
    }
}

/// <summary>The Event objects and patches the recorder sends (pure).</summary>
public static class EventBuilder
{
    /// <summary>Longer messages are cut (events.k8s.io limits a note to 1 kB).</summary>
    public const int MaxMessageLength = 1024;

    /// <summary>Events from cluster-scoped objects go here, as client-go's recorder does.</summary>
    public const string ClusterScopedNamespace = "default";

    public static string AggregationKey(IKubernetesObject<V1ObjectMeta> o, string type, string reason, string message) =>
        string.Join('\u001f', o.ApiVersion, o.Kind, o.Metadata?.NamespaceProperty, o.Metadata?.Name, o.Metadata?.Uid,
            type, reason, Truncate(message));

    public static Corev1Event Build(IKubernetesObject<V1ObjectMeta> o, string type, string reason, string message,
        DateTime now, string component, string? instance, int salt)
    {
        var ns = string.IsNullOrEmpty(o.Metadata?.NamespaceProperty) ? ClusterScopedNamespace : o.Metadata.NamespaceProperty;
        var unixNanos = (now - DateTime.UnixEpoch).Ticks * 100;
        return new Corev1Event
        {
            Metadata = new V1ObjectMeta
            {
                // client-go's naming: <object>.<hex nanoseconds>; the salt keeps two Events of the same instant apart.
                Name = $"{o.Metadata?.Name}.{unixNanos:x}{salt:x4}",
                NamespaceProperty = ns,
            },
            InvolvedObject = new V1ObjectReference
            {
                ApiVersion = o.ApiVersion,
                Kind = o.Kind,
                Name = o.Metadata?.Name,
                NamespaceProperty = string.IsNullOrEmpty(o.Metadata?.NamespaceProperty) ? null : o.Metadata.NamespaceProperty,
                Uid = o.Metadata?.Uid,
                ResourceVersion = o.Metadata?.ResourceVersion,
            },
            Type = type,
            Reason = reason,
            Message = Truncate(message),
            Count = 1,
            FirstTimestamp = now,
            LastTimestamp = now,
            Source = new V1EventSource { Component = component, Host = instance },
            ReportingComponent = component,
            ReportingInstance = instance,
        };
    }

    /// <summary>A merge patch that records one more occurrence.</summary>
    public static string BumpPatch(int count, DateTime now) =>
        $$"""{"count":{{count}},"lastTimestamp":"{{now.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}}"}""";

    private static string Truncate(string message) =>
        message.Length <= MaxMessageLength ? message : message[..(MaxMessageLength - 3)] + "...";
}

/// <summary>A small thread-safe LRU map: holds at most <c>capacity</c> entries, dropping the least recently used.</summary>
public sealed class BoundedCache<TKey, TValue>(int capacity) where TKey : notnull
{
    private readonly object _gate = new();
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> _map = new();
    private readonly LinkedList<(TKey Key, TValue Value)> _order = new();

    public int Count { get { lock (_gate) return _map.Count; } }

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                value = node.Value.Value;
                return true;
            }
            value = default!;
            return false;
        }
    }

    public void Set(TKey key, TValue value)
    {
        lock (_gate)
        {
            if (_map.Remove(key, out var old)) _order.Remove(old);
            _map[key] = _order.AddFirst((key, value));
            while (_map.Count > Math.Max(1, capacity))
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }
    }

    public void Remove(TKey key)
    {
        lock (_gate)
            if (_map.Remove(key, out var node)) _order.Remove(node);
    }
}
