namespace NetDiag.Operator.Runtime;

/// <summary>
/// controller-runtime's rate-limited work queue, for keys:
/// <list type="bullet">
/// <item>a key is queued at most once however often it is added (dirty set);</item>
/// <item>a key being processed is never handed to a second worker: re-added while processing, it is
/// queued again only when <see cref="Done"/> is called;</item>
/// <item><see cref="AddAfter"/> delays through the injected <see cref="TimeProvider"/>, keeping the
/// earliest due time when a key is delayed twice;</item>
/// <item><see cref="AddRateLimited"/> retries a failing key with per-key exponential back-off that
/// <see cref="Forget"/> resets after a success;</item>
/// <item><see cref="ShutDown"/> stops handing out work; <see cref="ShutDownWithDrainAsync"/> also
/// waits for the keys being processed.</item>
/// </list>
/// </summary>
/// <remarks>
/// Lifecycle of a key:
/// <code>
///   Add ──► dirty+queued ──GetAsync──► processing ──Done──► (gone, or queued again if dirty)
///   AddAfter ──► waiting (timer) ──due──► Add
/// </code>
/// </remarks>
public sealed class WorkQueue<TKey> : IDisposable where TKey : notnull
{
    private readonly object _gate = new();
    private readonly Queue<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = new();
    private readonly HashSet<TKey> _processing = new();
    private readonly Dictionary<TKey, Waiting> _waiting = new();
    private readonly Dictionary<TKey, int> _failures = new();
    private readonly Queue<TaskCompletionSource<(bool Ok, TKey Key)>> _getters = new();
    private readonly TimeProvider _time;
    private readonly BackoffPolicy _backoff;
    private readonly Func<double> _random;
    private TaskCompletionSource? _drained;
    private bool _shuttingDown;

    private sealed record Waiting(DateTimeOffset Due, ITimer Timer);

    public WorkQueue(TimeProvider time, BackoffPolicy? backoff = null, Func<double>? random = null)
    {
        _time = time;
        _backoff = backoff ?? BackoffPolicy.Reconcile;
        _random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>Keys ready to be handed out (the queue depth metric).</summary>
    public int Count { get { lock (_gate) return _queue.Count; } }

    /// <summary>Keys handed to a worker and not yet <see cref="Done"/>.</summary>
    public int ProcessingCount { get { lock (_gate) return _processing.Count; } }

    /// <summary>Keys waiting for an <see cref="AddAfter"/> delay.</summary>
    public int WaitingCount { get { lock (_gate) return _waiting.Count; } }

    public bool IsShuttingDown { get { lock (_gate) return _shuttingDown; } }

    /// <summary>Queues <paramref name="key"/> unless it is already queued; ignored after shutdown.</summary>
    public void Add(TKey key)
    {
        lock (_gate)
        {
            if (_shuttingDown || !_dirty.Add(key)) return;
            // Processing: Done will queue it again, so the same key never runs twice at once.
            if (_processing.Contains(key)) return;
            _queue.Enqueue(key);
            DispatchLocked();
        }
    }

    /// <summary>Queues <paramref name="key"/> once <paramref name="delay"/> has passed on the injected clock.</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }
        lock (_gate)
        {
            if (_shuttingDown) return;
            var due = _time.GetUtcNow() + delay;
            if (_waiting.TryGetValue(key, out var existing))
            {
                if (existing.Due <= due) return; // the earlier wake-up wins
                existing.Timer.Dispose();
            }
            var timer = _time.CreateTimer(static s => ((Action)s!)(), (Action)(() => Fire(key, due)), delay, Timeout.InfiniteTimeSpan);
            _waiting[key] = new Waiting(due, timer);
        }
    }

    private void Fire(TKey key, DateTimeOffset due)
    {
        lock (_gate)
        {
            if (!_waiting.TryGetValue(key, out var w) || w.Due != due) return; // replaced or shut down
            _waiting.Remove(key);
            w.Timer.Dispose();
        }
        Add(key);
    }

    /// <summary>Queues <paramref name="key"/> after its per-key back-off, which grows with each call.</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        TimeSpan delay;
        lock (_gate)
        {
            _failures.TryGetValue(key, out var n);
            _failures[key] = n + 1;
            delay = _backoff.Delay(n, _random());
        }
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Clears the key's failure count (call after a successful reconcile).</summary>
    public void Forget(TKey key)
    {
        lock (_gate) _failures.Remove(key);
    }

    /// <summary>How many times <see cref="AddRateLimited"/> was called since the last <see cref="Forget"/>.</summary>
    public int NumRequeues(TKey key)
    {
        lock (_gate) return _failures.TryGetValue(key, out var n) ? n : 0;
    }

    /// <summary>
    /// Waits for a key. Returns <c>Ok=false</c> once the queue is shutting down (keys still queued
    /// are not handed out: shutdown means "stop taking work").
    /// </summary>
    public Task<(bool Ok, TKey Key)> GetAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_shuttingDown) return Task.FromResult((false, default(TKey)!));
            if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<(bool, TKey)>(cancellationToken);
            if (_queue.Count > 0) return Task.FromResult((true, TakeLocked()));
            var tcs = new TaskCompletionSource<(bool, TKey)>(TaskCreationOptions.RunContinuationsAsynchronously);
            _getters.Enqueue(tcs);
            if (cancellationToken.CanBeCanceled)
            {
                // Cancelled under the lock, so Dispatch never hands a key to a cancelled getter.
                var reg = cancellationToken.Register(() => { lock (_gate) tcs.TrySetCanceled(cancellationToken); });
                tcs.Task.ContinueWith(_ => reg.Dispose(), TaskScheduler.Default);
            }
            return tcs.Task;
        }
    }

    /// <summary>Marks the key finished; queues it again if it was added while processing.</summary>
    public void Done(TKey key)
    {
        lock (_gate)
        {
            _processing.Remove(key);
            if (_dirty.Contains(key) && !_shuttingDown)
            {
                _queue.Enqueue(key);
                DispatchLocked();
            }
            if (_shuttingDown && _processing.Count == 0) _drained?.TrySetResult();
        }
    }

    /// <summary>Stops handing out keys, drops pending delays and wakes every waiting worker.</summary>
    public void ShutDown()
    {
        lock (_gate)
        {
            if (_shuttingDown) return;
            _shuttingDown = true;
            foreach (var w in _waiting.Values) w.Timer.Dispose();
            _waiting.Clear();
            while (_getters.TryDequeue(out var g)) g.TrySetResult((false, default!));
            _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_processing.Count == 0) _drained.TrySetResult();
        }
    }

    /// <summary>Shuts down and waits until every key handed out has been marked <see cref="Done"/>.</summary>
    public Task ShutDownWithDrainAsync(CancellationToken cancellationToken = default)
    {
        ShutDown();
        Task drained;
        lock (_gate) drained = _drained!.Task;
        return drained.WaitAsync(cancellationToken);
    }

    public void Dispose() => ShutDown();

    private TKey TakeLocked()
    {
        var key = _queue.Dequeue();
        _dirty.Remove(key);
        _processing.Add(key);
        return key;
    }

    private void DispatchLocked()
    {
        while (_queue.Count > 0 && _getters.TryDequeue(out var getter))
        {
            if (getter.Task.IsCompleted) continue; // cancelled
            getter.TrySetResult((true, TakeLocked()));
        }
    }
}
