using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Runtime;

/// <summary>An informer of any kind, for the host: run it, wait for its first sync.</summary>
public interface IInformer
{
    string Resource { get; }
    bool HasSynced { get; }
    Task RunAsync(CancellationToken cancellationToken);
    Task WaitForSyncAsync(CancellationToken cancellationToken);
}

/// <summary>
/// client-go's reflector and informer in one: keeps <see cref="Store"/> equal to the server's state
/// of one kind and calls handlers for each change.
/// <code>
///   LIST ──rv──► WATCH(rv) ──events──► store + handlers
///     ▲            │ ends normally (server timeout)  → WATCH(last rv), at once
///     │            │ ERROR 410 / HTTP 410            → LIST again
///     └────────────┘ 429, 5xx, connection lost       → back off with jitter, WATCH(last rv)
/// </code>
/// There is no periodic resync: once synced, an idle informer holds one open WATCH and makes no LIST.
/// </summary>
public sealed class Informer<T> : IInformer where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ListerWatcher<T> _lw;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OperatorMetrics? _metrics;
    private readonly Backoff _backoff;
    private readonly Func<double> _random;
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Action<Delta<T>>[] _handlers = [];
    private int _lists;
    private int _watches;
    private int _backoffs;

    public Informer(ListerWatcher<T> lw, TimeProvider time, ILogger? logger = null, OperatorMetrics? metrics = null,
        BackoffPolicy? backoff = null, Func<double>? random = null)
    {
        _lw = lw;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _metrics = metrics;
        _random = random ?? Random.Shared.NextDouble;
        _backoff = new Backoff(backoff ?? BackoffPolicy.Watch, _random);
        _metrics?.Registry.OnCollect(() => _metrics.InformerObjects.Set(Store.Count, Resource));
    }

    public string Resource => _lw.Resource;

    /// <summary>The local cache; inject it as <see cref="IResourceCache{T}"/>.</summary>
    public InformerStore<T> Store { get; } = new();

    public bool HasSynced => Store.HasSynced;

    /// <summary>LIST calls made so far (first sync plus relists).</summary>
    public int ListCount => Volatile.Read(ref _lists);

    /// <summary>WATCH requests opened so far.</summary>
    public int WatchCount => Volatile.Read(ref _watches);

    /// <summary>Back-off waits started so far (after failures).</summary>
    public int BackoffCount => Volatile.Read(ref _backoffs);

    /// <summary>
    /// Registers a callback for every change (Added, Updated, Deleted), called on the informer's
    /// loop in order. Keep it cheap (enqueue a key); an exception is logged, never propagated.
    /// Register before <see cref="RunAsync"/>.
    /// </summary>
    public void AddHandler(Action<Delta<T>> handler)
    {
        lock (_synced) _handlers = [.. _handlers, handler];
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => _synced.Task.WaitAsync(cancellationToken);

    /// <summary>Lists and watches until <paramref name="cancellationToken"/> is cancelled. Never throws otherwise.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var needList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            var operation = needList ? "list" : "watch";
            try
            {
                if (needList)
                {
                    Interlocked.Increment(ref _lists);
                    _metrics?.InformerLists.Inc(Resource);
                    var list = await _lw.ListAsync(cancellationToken).ConfigureAwait(false);
                    Dispatch(Store.Replace(list));
                    _logger.Listed(Resource, list.Items.Count, list.ResourceVersion);
                    _synced.TrySetResult();
                    needList = false;
                    _backoff.Reset();
                    operation = "watch";
                }
                await WatchOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                var action = WatchFailures.Classify(ex, cancellationToken.IsCancellationRequested);
                if (action == WatchFailureAction.Stop || cancellationToken.IsCancellationRequested) break;
                var delay = _backoff.Next();
                if (action == WatchFailureAction.Relist)
                {
                    _metrics?.InformerFailures.Inc(Resource, "relist");
                    _logger.Relisting(Resource, Store.LastResourceVersion);
                    needList = true;
                    // The first relist after healthy watching is immediate; repeated ones back off.
                    if (_backoff.Attempts <= 1) continue;
                }
                else
                {
                    _metrics?.InformerFailures.Inc(Resource, "backoff");
                    _logger.WatchFailed(Resource, operation, WatchFailures.Describe(ex), delay);
                }
                try
                {
                    var wait = Task.Delay(delay, _time, cancellationToken);
                    Interlocked.Increment(ref _backoffs); // observable once the timer exists (tests advance a fake clock after it)
                    await wait.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task WatchOnceAsync(CancellationToken cancellationToken)
    {
        // client-go picks 5-10 minutes at random so that watches of many clients do not expire together.
        var timeout = (int)(300 * (1 + _random()));
        var from = Store.LastResourceVersion;
        var started = _time.GetTimestamp();
        var events = 0;
        Interlocked.Increment(ref _watches);
        _metrics?.InformerWatches.Inc(Resource);
        _logger.WatchStarting(Resource, from);
        await foreach (var e in _lw.WatchAsync(new WatchRequest(from, timeout), cancellationToken).ConfigureAwait(false))
        {
            if (e.Type == WatchEventType.Error)
                throw new WatchErrorException(e.Status ?? new V1Status { Message = "watch ERROR event without a status" });
            events++;
            var delta = Store.Apply(e);
            if (delta is { } d) Dispatch(d);
            _backoff.Reset();
        }
        _logger.WatchEnded(Resource, from);
        // A server (or proxy) that closes every watch at once would make us spin: treat an empty
        // watch that ended within a second as a failure, so the back-off applies.
        if (events == 0 && _time.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
            throw new IOException("watch closed immediately without events");
    }

    private void Dispatch(IEnumerable<Delta<T>> deltas)
    {
        foreach (var d in deltas) Dispatch(d);
    }

    private void Dispatch(Delta<T> delta)
    {
        foreach (var h in Volatile.Read(ref _handlers))
        {
            try
            {
                h(delta);
            }
            catch (Exception ex)
            {
                _logger.HandlerFailed(ex, Resource);
            }
        }
    }
}
