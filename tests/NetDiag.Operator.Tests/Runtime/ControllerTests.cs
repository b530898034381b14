using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using NetDiag.Entities.Api;
using NetDiag.Operator.Runtime;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Tests.Runtime;

public class ControllerTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly OperatorMetrics _metrics = new();

    /// <summary>A reconciler whose behaviour per call the test decides.</summary>
    private sealed class ScriptedReconciler : IReconciler<V1alpha1NetworkDiagnosis>
    {
        public Func<ObjectKey, CancellationToken, Task<ReconcileResult>> Behaviour = (_, _) => Task.FromResult(ReconcileResult.Done);
        public readonly ConcurrentQueue<ObjectKey> Calls = new();
        private readonly ConcurrentDictionary<ObjectKey, int> _active = new();
        public int MaxConcurrentSameKey;

        public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
        {
            Calls.Enqueue(key);
            var n = _active.AddOrUpdate(key, 1, (_, v) => v + 1);
            InterlockedMax(ref MaxConcurrentSameKey, n);
            try { return await Behaviour(key, ct); }
            finally { _active.AddOrUpdate(key, 0, (_, v) => v - 1); }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
        }
    }

    private Controller<V1alpha1NetworkDiagnosis> NewController(ScriptedReconciler r, int workers = 2) =>
        new("test", r, _clock, metrics: _metrics, random: () => 0,
            options: new ControllerOptions { Workers = workers, Backoff = new BackoffPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 0) });

    [Fact]
    public async Task RequeueAfter_brings_the_key_back_when_the_clock_reaches_it()
    {
        var r = new ScriptedReconciler { Behaviour = (_, _) => Task.FromResult(ReconcileResult.After(TimeSpan.FromSeconds(30))) };
        var c = NewController(r);
        using var cts = new CancellationTokenSource();
        var run = c.RunAsync(cts.Token);
        c.Enqueue(new(null, "nd1"));
        await Eventually.True(() => r.Calls.Count == 1 && c.Queue.WaitingCount == 1, "first reconcile and its requeue");
        _clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Single(r.Calls);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => r.Calls.Count == 2, "the requeued reconcile");
        await Eventually.True(() => _metrics.ReconcileTotal.Value("test", "requeue_after") == 2, "metrics");
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_failing_reconcile_is_retried_with_growing_backoff_and_forgotten_on_success()
    {
        var attempts = 0;
        var r = new ScriptedReconciler
        {
            Behaviour = (_, _) => ++attempts <= 3 ? throw new InvalidOperationException("API said no") : Task.FromResult(ReconcileResult.Done),
        };
        var c = NewController(r);
        using var cts = new CancellationTokenSource();
        var run = c.RunAsync(cts.Token);
        var key = new ObjectKey(null, "nd1");
        c.Enqueue(key);
        await Eventually.True(() => r.Calls.Count == 1 && c.Queue.WaitingCount == 1, "first failure");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => r.Calls.Count == 2 && c.Queue.WaitingCount == 1, "second failure");
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(2, r.Calls.Count); // the second back-off is 2 s
        _clock.Advance(TimeSpan.FromSeconds(0.5));
        await Eventually.True(() => r.Calls.Count == 3 && c.Queue.WaitingCount == 1, "third failure");
        _clock.Advance(TimeSpan.FromSeconds(4));
        await Eventually.True(() => r.Calls.Count == 4 && c.Queue.ProcessingCount == 0, "success");
        Assert.Equal(0, c.Queue.NumRequeues(key));
        Assert.Equal(0, c.Queue.WaitingCount);
        Assert.Equal(3, _metrics.ReconcileTotal.Value("test", "error"));
        Assert.Equal(1, _metrics.ReconcileTotal.Value("test", "success"));
        Assert.Equal(4, _metrics.ReconcileDuration.Count("test"));
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task The_same_key_never_runs_twice_at_once_but_a_change_during_a_reconcile_is_not_lost()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var r = new ScriptedReconciler();
        r.Behaviour = async (_, _) =>
        {
            if (r.Calls.Count == 1) await gate.Task;
            return ReconcileResult.Done;
        };
        var c = NewController(r, workers: 4);
        using var cts = new CancellationTokenSource();
        var run = c.RunAsync(cts.Token);
        var key = new ObjectKey(null, "nd1");
        c.Enqueue(key);
        await Eventually.True(() => r.Calls.Count == 1, "first reconcile running");
        for (var i = 0; i < 10; i++) c.Enqueue(key); // watch events while it runs
        c.Enqueue(new(null, "other"));
        await Eventually.True(() => r.Calls.Count == 2, "the other key runs meanwhile");
        Assert.Equal(1, r.Calls.Count(k => k == key));
        gate.SetResult();
        await Eventually.True(() => r.Calls.Count(k => k == key) == 2, "one more reconcile for the changes");
        Assert.Equal(1, r.MaxConcurrentSameKey);
        await Eventually.True(() => c.Queue.ProcessingCount == 0, "idle");
        Assert.Equal(2, r.Calls.Count(k => k == key)); // ten adds collapsed into one
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Shutdown_lets_a_running_reconcile_finish_and_takes_no_new_work()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = false;
        var r = new ScriptedReconciler();
        r.Behaviour = async (_, ct) =>
        {
            await gate.Task;
            finished = !ct.IsCancellationRequested;
            return ReconcileResult.Done;
        };
        var c = NewController(r, workers: 1);
        using var cts = new CancellationTokenSource();
        var run = c.RunAsync(cts.Token);
        c.Enqueue(new(null, "a"));
        await Eventually.True(() => r.Calls.Count == 1, "running");
        c.Enqueue(new(null, "b"));
        cts.Cancel();
        await Eventually.True(() => c.Queue.IsShuttingDown, "stopped taking work");
        Assert.False(run.IsCompleted);
        gate.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(finished);
        Assert.Single(r.Calls); // "b" was not started
    }

    [Fact]
    public async Task A_reconcile_that_outlives_the_shutdown_timeout_is_cancelled()
    {
        var r = new ScriptedReconciler { Behaviour = async (_, ct) => { await Task.Delay(Timeout.Infinite, ct); return ReconcileResult.Done; } };
        var c = new Controller<V1alpha1NetworkDiagnosis>("test", r, _clock, metrics: _metrics,
            options: new ControllerOptions { Workers = 1, ShutdownTimeout = TimeSpan.FromSeconds(10) });
        using var cts = new CancellationTokenSource();
        var run = c.RunAsync(cts.Token);
        c.Enqueue(new(null, "a"));
        await Eventually.True(() => r.Calls.Count == 1, "running");
        cts.Cancel();
        await Eventually.True(() => c.Queue.IsShuttingDown, "shutting down");
        // the grace timer is created right after the queue shuts down; advance until it fires
        await Eventually.True(() => { _clock.Advance(TimeSpan.FromSeconds(1)); return run.IsCompleted; }, "stopped after the grace period");
        Assert.Equal(1, _metrics.ReconcileTotal.Value("test", "cancelled"));
    }

    [Fact]
    public void Owned_objects_map_to_their_owner_by_label_then_by_owner_reference()
    {
        var byLabel = new V1Job { Metadata = new() { Name = "j", NamespaceProperty = "netdiag-system", Labels = new Dictionary<string, string> { [WellKnown.LabelDiagnosis] = "nd1" } } };
        Assert.Equal([new ObjectKey(null, "nd1")], EventMappers.OwnerKeys<V1alpha1NetworkDiagnosis, V1Job>(byLabel, WellKnown.LabelDiagnosis, false));

        var byRef = new V1Job { Metadata = new() { Name = "j", NamespaceProperty = "netdiag-system", OwnerReferences = [new V1OwnerReference { Kind = "NetworkDiagnosis", Name = "nd2", ApiVersion = "netdiag.io/v1alpha1", Uid = "u" }, new V1OwnerReference { Kind = "Other", Name = "x", ApiVersion = "v1", Uid = "u2" }] } };
        Assert.Equal([new ObjectKey(null, "nd2")], EventMappers.OwnerKeys<V1alpha1NetworkDiagnosis, V1Job>(byRef, WellKnown.LabelDiagnosis, false));

        var orphan = new V1Pod { Metadata = new() { Name = "p", NamespaceProperty = "x" } };
        Assert.Empty(EventMappers.OwnerKeys<V1alpha1NetworkDiagnosis, V1Pod>(orphan, WellKnown.LabelDiagnosis, false));
    }

    [Fact]
    public void Node_heartbeats_enqueue_nothing_but_a_ready_flip_enqueues_every_diagnosis()
    {
        var cache = new InformerStore<V1alpha1NetworkDiagnosis>();
        cache.Replace(new([new() { Metadata = new() { Name = "nd1", ResourceVersion = "1" } }, new() { Metadata = new() { Name = "nd2", ResourceVersion = "2" } }], "2"));
        var map = EventMappers.NodesToAll(cache);
        var before = NodeChangeFilterTests.Node();
        var heartbeat = NodeChangeFilterTests.Node(heartbeat: before.Status.Conditions[0].LastHeartbeatTime!.Value.AddSeconds(10));
        Assert.Empty(map(new Delta<V1Node>(DeltaType.Updated, before, heartbeat)));
        var notReady = NodeChangeFilterTests.Node(ready: "False");
        Assert.Equal(["nd1", "nd2"], map(new Delta<V1Node>(DeltaType.Updated, before, notReady)).Select(k => k.Name).Order());
        Assert.Equal(2, map(new Delta<V1Node>(DeltaType.Added, null, before)).Count());
        Assert.Equal(2, map(new Delta<V1Node>(DeltaType.Deleted, before, before)).Count());
    }

    [Fact]
    public async Task A_thousand_node_heartbeats_cause_no_reconcile()
    {
        var r = new ScriptedReconciler();
        var c = NewController(r);
        var nodes = new InformerStore<V1alpha1NetworkDiagnosis>();
        nodes.Replace(new([new() { Metadata = new() { Name = "nd1", ResourceVersion = "1" } }], "1"));
        var map = EventMappers.NodesToAll(nodes);
        var before = NodeChangeFilterTests.Node();
        for (var i = 0; i < 1000; i++)
        {
            var beat = NodeChangeFilterTests.Node(heartbeat: before.Status.Conditions[0].LastHeartbeatTime!.Value.AddSeconds(10 * i));
            foreach (var k in map(new Delta<V1Node>(DeltaType.Updated, before, beat))) c.Enqueue(k);
        }
        Assert.Equal(0, c.Queue.Count);
        // and a burst of real changes on many nodes collapses to one queued key per diagnosis
        for (var i = 0; i < 1000; i++)
            foreach (var k in map(new Delta<V1Node>(DeltaType.Updated, before, NodeChangeFilterTests.Node(ready: "Unknown")))) c.Enqueue(k);
        Assert.Equal(1, c.Queue.Count);
        await Task.CompletedTask;
    }

    /// <summary>An informer fed by one scripted watch stream (no API server: this is the controller's wiring).</summary>
    private Informer<TObj> ScriptedInformer<TObj>(ConcurrentQueue<WatchEvent<TObj>> events, SemaphoreSlim released)
        where TObj : class, IKubernetesObject<k8s.Models.V1ObjectMeta>
    {
        async IAsyncEnumerable<WatchEvent<TObj>> Watch(WatchRequest r, [EnumeratorCancellation] CancellationToken ct)
        {
            while (true)
            {
                await released.WaitAsync(ct);
                while (events.TryDequeue(out var e)) yield return e;
            }
        }
        return new Informer<TObj>(new ListerWatcher<TObj>(typeof(TObj).Name, _ => Task.FromResult(new ListResult<TObj>([], "1")), Watch), _clock);
    }

    [Fact]
    public async Task A_burst_of_a_thousand_secondary_events_within_the_window_yields_one_reconcile_while_primary_changes_stay_immediate()
    {
        var r = new ScriptedReconciler();
        var c = new Controller<V1alpha1NetworkDiagnosis>("test", r, _clock, metrics: _metrics,
            options: new ControllerOptions { SecondaryEventDelay = TimeSpan.FromMilliseconds(300) });
        var podEvents = new ConcurrentQueue<WatchEvent<V1Pod>>();
        var podRelease = new SemaphoreSlim(0);
        var pods = ScriptedInformer(podEvents, podRelease);
        var primaryEvents = new ConcurrentQueue<WatchEvent<V1alpha1NetworkDiagnosis>>();
        var primaryRelease = new SemaphoreSlim(0);
        var diagnoses = ScriptedInformer(primaryEvents, primaryRelease);
        c.For(diagnoses).Owns(pods, WellKnown.LabelDiagnosis);
        using var cts = new CancellationTokenSource();
        var runs = new[] { c.RunAsync(cts.Token), pods.RunAsync(cts.Token), diagnoses.RunAsync(cts.Token) };
        await pods.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(20));
        await diagnoses.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(20));

        // 1000 probe Pods of nd1 change within the window (a run starting on 1000 nodes).
        for (var i = 0; i < 1000; i++)
            podEvents.Enqueue(new(WatchEventType.Added, new V1Pod
            {
                Metadata = new() { Name = $"probe-{i}", NamespaceProperty = "netdiag-system", ResourceVersion = $"{i + 2}", Labels = new Dictionary<string, string> { [WellKnown.LabelDiagnosis] = "nd1" } },
            }));
        podRelease.Release();
        await Eventually.True(() => pods.Store.List().Count == 1000, "all pod events delivered");
        Assert.Empty(r.Calls); // nothing yet: the window is open
        Assert.Equal(1, c.Queue.WaitingCount);
        _clock.Advance(TimeSpan.FromMilliseconds(300));
        await Eventually.True(() => r.Calls.Count == 1 && c.Queue.ProcessingCount == 0 && c.Queue.WaitingCount == 0, "one reconcile for the burst");
        _clock.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        Assert.Equal([new ObjectKey(null, "nd1")], r.Calls);

        // The primary object's own change is reconciled without waiting for the clock.
        primaryEvents.Enqueue(new(WatchEventType.Added, new V1alpha1NetworkDiagnosis { Metadata = new() { Name = "nd2", ResourceVersion = "5000" } }));
        primaryRelease.Release();
        await Eventually.True(() => r.Calls.Count == 2, "the primary change, immediately");
        Assert.Equal(new ObjectKey(null, "nd2"), r.Calls.Last());

        cts.Cancel();
        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
