using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Runtime;

/// <summary>Settings of one controller's reconcile loop.</summary>
public sealed record ControllerOptions
{
    /// <summary>Keys reconciled in parallel (never the same key twice at once).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>On shutdown, how long running reconciles may finish before their token is cancelled.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Per-key back-off for reconciles that throw.</summary>
    public BackoffPolicy Backoff { get; init; } = BackoffPolicy.Reconcile;

    /// <summary>
    /// How long an event of a secondary kind (owned Jobs and Pods, watched Nodes) waits before it
    /// queues its primary key. The first event of a burst sets the wake-up and later ones join it
    /// (the queue keeps the earlier due time), so a burst of a thousand Pod and Node events costs
    /// one reconcile instead of hundreds. Changes of the primary object itself are never delayed.
    /// Zero queues secondary events immediately.
    /// </summary>
    public TimeSpan SecondaryEventDelay { get; init; } = TimeSpan.FromMilliseconds(300);
}

/// <summary>
/// controller-runtime's controller: watch events become keys in a <see cref="WorkQueue{TKey}"/>;
/// workers hand each key to <see cref="IReconciler{TEntity}"/>. A result with RequeueAfter comes
/// back after that delay; an exception is logged and retried with per-key back-off. Each reconcile
/// runs in a log scope carrying the controller, the key and a reconcile id.
/// </summary>
public sealed class Controller<T> : IController where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IReconciler<T> _reconciler;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OperatorMetrics _metrics;
    private readonly ControllerOptions _options;
    private int _unfinished;

    public Controller(string name, IReconciler<T> reconciler, TimeProvider time, ILogger? logger = null,
        OperatorMetrics? metrics = null, ControllerOptions? options = null, Func<double>? random = null)
    {
        Name = name;
        _reconciler = reconciler;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _metrics = metrics ?? new OperatorMetrics();
        _options = options ?? new ControllerOptions();
        Queue = new WorkQueue<ObjectKey>(time, _options.Backoff, random);
        _metrics.Registry.OnCollect(() =>
        {
            _metrics.WorkqueueDepth.Set(Queue.Count, Name);
            _metrics.WorkqueueWaiting.Set(Queue.WaitingCount, Name);
        });
    }

    public string Name { get; }

    public WorkQueue<ObjectKey> Queue { get; }

    /// <summary>Queues a key (deduplicated).</summary>
    public void Enqueue(ObjectKey key)
    {
        _metrics.WorkqueueAdds.Inc(Name);
        Queue.Add(key);
    }

    /// <summary>
    /// Queues a key for a change of a secondary kind: after <see cref="ControllerOptions.SecondaryEventDelay"/>,
    /// joining a wake-up already pending for the key, so a burst coalesces into one reconcile.
    /// </summary>
    public void EnqueueCoalesced(ObjectKey key)
    {
        _metrics.WorkqueueAdds.Inc(Name);
        Queue.AddAfter(key, _options.SecondaryEventDelay);
    }

    /// <summary>
    /// The primary kind: every change of an object queues its own key. <paramref name="predicate"/>
    /// can drop updates that cannot matter; by default every update counts (level-triggered, and
    /// a status write that changes nothing converges in one cheap pass).
    /// </summary>
    public Controller<T> For(Informer<T> informer, Func<Delta<T>, bool>? predicate = null)
    {
        informer.AddHandler(d =>
        {
            if (predicate is null || predicate(d)) Enqueue(ObjectKey.Of(d.Object));
        });
        return this;
    }

    /// <summary>
    /// An owned kind (probe Jobs, their Pods): a change queues (coalesced, see
    /// <see cref="ControllerOptions.SecondaryEventDelay"/>) the owner named by
    /// <paramref name="ownerLabel"/> (e.g. <c>netdiag.io/diagnosis=NAME</c>), or else by an
    /// ownerReference of the primary kind. The owner is cluster-scoped unless
    /// <paramref name="ownerNamespaced"/> is set, in which case it lives in the object's namespace.
    /// </summary>
    public Controller<T> Owns<TOwned>(Informer<TOwned> informer, string ownerLabel, bool ownerNamespaced = false)
        where TOwned : class, IKubernetesObject<V1ObjectMeta>
    {
        informer.AddHandler(d =>
        {
            foreach (var key in EventMappers.OwnerKeys<T, TOwned>(d.Object, ownerLabel, ownerNamespaced)) EnqueueCoalesced(key);
            // A relabelled object may have moved from one owner to another: the old owner learns too.
            if (d.Old is not null)
                foreach (var key in EventMappers.OwnerKeys<T, TOwned>(d.Old, ownerLabel, ownerNamespaced)) EnqueueCoalesced(key);
        });
        return this;
    }

    /// <summary>
    /// Any other kind: <paramref name="map"/> turns a change into the keys to reconcile (often
    /// none), queued coalesced like owned kinds.
    /// </summary>
    public Controller<T> Watches<TOther>(Informer<TOther> informer, Func<Delta<TOther>, IEnumerable<ObjectKey>> map)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        informer.AddHandler(d =>
        {
            foreach (var key in map(d)) EnqueueCoalesced(key);
        });
        return this;
    }

    /// <summary>
    /// Runs the workers until <paramref name="stoppingToken"/> is cancelled, then stops taking work
    /// and lets running reconciles finish for up to <see cref="ControllerOptions.ShutdownTimeout"/>.
    /// </summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        _logger.ControllerStarting(Name, _options.Workers);
        using var reconcileCts = new CancellationTokenSource();
        var workers = Enumerable.Range(0, Math.Max(1, _options.Workers))
            .Select(_ => Task.Run(() => WorkerAsync(reconcileCts.Token), CancellationToken.None))
            .ToArray();
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        Queue.ShutDown();
        var all = Task.WhenAll(workers);
        var cutShort = 0;
        try
        {
            await all.WaitAsync(_options.ShutdownTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            cutShort = Volatile.Read(ref _unfinished);
            reconcileCts.Cancel();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5), _time)).ConfigureAwait(false);
        }
        _logger.ControllerStopped(Name, cutShort);
    }

    private async Task WorkerAsync(CancellationToken reconcileToken)
    {
        while (true)
        {
            var (ok, key) = await Queue.GetAsync().ConfigureAwait(false);
            if (!ok) return;
            Interlocked.Increment(ref _unfinished);
            try
            {
                await ReconcileOneAsync(key, reconcileToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _unfinished);
                Queue.Done(key);
            }
        }
    }

    /// <summary>One reconcile of one key, with its outcome fed back into the queue. Never throws.</summary>
    internal async Task ReconcileOneAsync(ObjectKey key, CancellationToken token)
    {
        using var scope = _logger.BeginScope(new ReconcileScope(Name, key.ToString(), Guid.NewGuid().ToString("N")[..12]));
        var started = _time.GetTimestamp();
        _logger.Reconciling();
        try
        {
            var result = await _reconciler.ReconcileAsync(key, token).ConfigureAwait(false);
            Queue.Forget(key);
            if (result.RequeueAfter is { } delay)
            {
                Queue.AddAfter(key, delay);
                _metrics.ReconcileTotal.Inc(Name, "requeue_after");
            }
            else
            {
                _metrics.ReconcileTotal.Inc(Name, "success");
            }
            _logger.Reconciled(_time.GetElapsedTime(started).TotalMilliseconds, result.RequeueAfter);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            _metrics.ReconcileTotal.Inc(Name, "cancelled");
        }
        catch (Exception ex)
        {
            var attempt = Queue.NumRequeues(key) + 1;
            var delay = Queue.AddRateLimited(key);
            _metrics.ReconcileTotal.Inc(Name, "error");
            _metrics.ReconcileErrors.Inc(Name);
            _logger.ReconcileFailed(ex, attempt, delay);
        }
        finally
        {
            _metrics.ReconcileDuration.Observe(_time.GetElapsedTime(started).TotalSeconds, Name);
        }
    }
}

/// <summary>Maps changes of secondary kinds to the keys of the primary kind (pure).</summary>
public static class EventMappers
{
    /// <summary>
    /// The owner keys of <paramref name="obj"/>: from the label when present, else from
    /// ownerReferences whose kind is <typeparamref name="TOwner"/>'s.
    /// </summary>
    public static IEnumerable<ObjectKey> OwnerKeys<TOwner, TOwned>(TOwned obj, string ownerLabel, bool ownerNamespaced)
        where TOwned : IKubernetesObject<V1ObjectMeta>
    {
        var ns = ownerNamespaced ? obj.Metadata?.NamespaceProperty : null;
        if (obj.Metadata?.Labels?.TryGetValue(ownerLabel, out var name) == true && !string.IsNullOrEmpty(name))
        {
            yield return new ObjectKey(ns, name);
            yield break;
        }
        var kind = OwnerKind<TOwner>();
        foreach (var r in obj.Metadata?.OwnerReferences ?? [])
            if (kind is not null && r.Kind == kind && !string.IsNullOrEmpty(r.Name)) yield return new ObjectKey(ns, r.Name);
    }

    /// <summary>Every object in <paramref name="cache"/> that passes <paramref name="filter"/>.</summary>
    public static IEnumerable<ObjectKey> All<TPrimary>(IResourceCache<TPrimary> cache, Func<TPrimary, bool>? filter = null)
        where TPrimary : IKubernetesObject<V1ObjectMeta> =>
        cache.List().Where(o => filter is null || filter(o)).Select(o => ObjectKey.Of(o));

    /// <summary>
    /// Node changes that matter (see <see cref="NodeChangeFilter"/>) queue every primary object:
    /// a diagnosis' node set or facts may have changed. Heartbeats queue nothing, and the
    /// controller's coalescing window collapses a burst of real changes into one reconcile per diagnosis.
    /// </summary>
    public static Func<Delta<V1Node>, IEnumerable<ObjectKey>> NodesToAll<TPrimary>(IResourceCache<TPrimary> cache,
        Func<TPrimary, bool>? filter = null) where TPrimary : IKubernetesObject<V1ObjectMeta> =>
        d => d.Type != DeltaType.Updated || NodeChangeFilter.Matters(d.Old, d.Object) ? All(cache, filter) : [];

    private static string? OwnerKind<TOwner>()
    {
        var f = typeof(TOwner).GetField("KubeKind", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static);
        if (f?.GetValue(null) is string s) return s;
        var attr = typeof(TOwner).GetCustomAttributes(typeof(KubernetesEntityAttribute), false).OfType<KubernetesEntityAttribute>().FirstOrDefault();
        return attr?.Kind;
    }
}

/// <summary>A controller of any kind, for the host: run it until shutdown.</summary>
public interface IController
{
    string Name { get; }
    Task RunAsync(CancellationToken stoppingToken);
}

/// <summary>
/// The log scope of one reconcile: structured properties (controller, key, reconcileId) for JSON
/// logs, and a readable form for plain text.
/// </summary>
internal sealed class ReconcileScope(string controller, string key, string reconcileId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _items =
        [new("controller", controller), new("key", key), new("reconcileId", reconcileId)];

    public KeyValuePair<string, object?> this[int index] => _items[index];
    public int Count => _items.Length;
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    public override string ToString() => $"{controller} {key} (reconcile {reconcileId})";
}
