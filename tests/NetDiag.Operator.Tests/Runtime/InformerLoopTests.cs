using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using NetDiag.Operator.Runtime;
using static NetDiag.Operator.Tests.Runtime.InformerStoreTests;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>
/// The informer's list/watch state machine driven by a scripted list/watch source and a fake
/// clock: what it asks for next after each kind of ending.
/// </summary>
public class InformerLoopTests
{
    private readonly FakeTimeProvider _clock = new();
    private readonly Script _script = new();

    /// <summary>Answers LIST and WATCH calls from queues; an unscripted watch stays open until cancelled.</summary>
    private sealed class Script
    {
        public readonly ConcurrentQueue<Func<ListResult<V1ConfigMap>>> Lists = new();
        public readonly ConcurrentQueue<(WatchEvent<V1ConfigMap>[] Events, Exception? End)> Watches = new();
        public readonly ConcurrentQueue<string?> WatchedFrom = new();
        public int ListCalls;

        public ListerWatcher<V1ConfigMap> ListerWatcher() => new("configmaps",
            _ =>
            {
                Interlocked.Increment(ref ListCalls);
                return Lists.TryDequeue(out var next) ? Task.FromResult(next()) : throw new InvalidOperationException("unscripted list");
            },
            Watch);

        private async IAsyncEnumerable<WatchEvent<V1ConfigMap>> Watch(WatchRequest r, [EnumeratorCancellation] CancellationToken ct)
        {
            WatchedFrom.Enqueue(r.ResourceVersion);
            if (!Watches.TryDequeue(out var w))
            {
                await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default);
                yield break;
            }
            foreach (var e in w.Events) yield return e;
            if (w.End is not null) throw w.End;
        }
    }

    private Informer<V1ConfigMap> NewInformer() =>
        new(_script.ListerWatcher(), _clock, random: () => 0,
            backoff: new BackoffPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), Jitter: 0));

    private static WatchEvent<V1ConfigMap> Ev(WatchEventType t, string name, string rv, string? v = null) => new(t, Cm(name, rv, value: v));

    [Fact]
    public async Task Lists_then_watches_from_the_lists_resource_version_and_applies_events()
    {
        _script.Lists.Enqueue(() => new([Cm("a", "5")], "10"));
        _script.Watches.Enqueue(([Ev(WatchEventType.Added, "b", "11"), Ev(WatchEventType.Modified, "a", "12", "x"), Ev(WatchEventType.Deleted, "b", "13")], null));
        var informer = NewInformer();
        var seen = new ConcurrentQueue<string>();
        informer.AddHandler(d => seen.Enqueue($"{d.Type}:{d.Object.Metadata.Name}"));
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        await informer.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(20));
        // the stream ended normally after its events: the informer resumes from the last version seen
        await Eventually.True(() => _script.WatchedFrom.Count == 2, "a resumed watch");
        Assert.Equal(["10", "13"], _script.WatchedFrom);
        Assert.Equal(["Added:a", "Added:b", "Updated:a", "Deleted:b"], seen);
        Assert.Equal("x", informer.Store.Get(new("ns1", "a"))!.Data["v"]);
        Assert.Equal(1, informer.ListCount);

        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_410_error_event_relists_and_reports_what_changed_meanwhile()
    {
        _script.Lists.Enqueue(() => new([Cm("a", "5"), Cm("b", "6")], "10"));
        _script.Watches.Enqueue(([WatchEvent<V1ConfigMap>.Error(new V1Status { Code = 410, Reason = "Expired", Message = "too old resource version" })], null));
        _script.Lists.Enqueue(() => new([Cm("a", "20"), Cm("c", "21")], "30"));
        var informer = NewInformer();
        var seen = new ConcurrentQueue<string>();
        informer.AddHandler(d => seen.Enqueue($"{d.Type}:{d.Object.Metadata.Name}"));
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        await Eventually.True(() => _script.WatchedFrom.Count == 2, "a watch after the relist");
        Assert.Equal(2, informer.ListCount);
        Assert.Equal(["10", "30"], _script.WatchedFrom);
        Assert.Equal(["Added:a", "Added:b", "Updated:a", "Added:c", "Deleted:b"], seen);
        Assert.Equal(["a", "c"], informer.Store.List().Select(c => c.Metadata.Name).Order());
        Assert.Equal(0, informer.BackoffCount); // the first relist is immediate
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_410_http_status_on_watch_relists()
    {
        _script.Lists.Enqueue(() => new([], "10"));
        _script.Watches.Enqueue(([], WatchFailuresTests.Http(HttpStatusCode.Gone)));
        _script.Lists.Enqueue(() => new([Cm("a", "40")], "40"));
        var informer = NewInformer();
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await Eventually.True(() => _script.WatchedFrom.Count == 2, "a watch after the relist");
        Assert.Equal(["10", "40"], _script.WatchedFrom);
        Assert.Single(informer.Store.List());
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Errors_back_off_on_the_clock_then_resume_from_the_last_version()
    {
        _script.Lists.Enqueue(() => new([], "10"));
        _script.Watches.Enqueue(([Ev(WatchEventType.Added, "a", "11")], new HttpRequestException("Connection refused")));
        _script.Watches.Enqueue(([], WatchFailuresTests.Http(HttpStatusCode.ServiceUnavailable)));
        _script.Watches.Enqueue(([], WatchFailuresTests.Http(HttpStatusCode.TooManyRequests)));
        var informer = NewInformer();
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);

        // 1st failure: back-off reset by the event just before it, so 1 s
        await Eventually.True(() => informer.BackoffCount == 1, "first back-off");
        Assert.Equal(1, _script.WatchedFrom.Count);
        _clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(1, _script.WatchedFrom.Count); // nothing before the delay is over
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.True(() => informer.BackoffCount == 2, "second back-off");
        // 2nd consecutive failure: 2 s
        _clock.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(2, _script.WatchedFrom.Count);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.True(() => informer.BackoffCount == 3, "third back-off");
        _clock.Advance(TimeSpan.FromSeconds(4));
        await Eventually.True(() => _script.WatchedFrom.Count == 4, "the watch after the third back-off");

        Assert.All(_script.WatchedFrom.Skip(1), rv => Assert.Equal("11", rv)); // resumed, never relisted
        Assert.Equal(1, informer.ListCount);
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_failing_first_list_backs_off_and_retries_until_it_syncs()
    {
        _script.Lists.Enqueue(() => throw WatchFailuresTests.Http(HttpStatusCode.NotFound)); // CRD not served yet
        _script.Lists.Enqueue(() => throw WatchFailuresTests.Http(HttpStatusCode.TooManyRequests)); // its storage is initialising
        _script.Lists.Enqueue(() => new([Cm("a", "3")], "3"));
        var informer = NewInformer();
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await Eventually.True(() => informer.BackoffCount == 1, "first back-off");
        Assert.False(informer.HasSynced);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.True(() => informer.BackoffCount == 2, "second back-off");
        _clock.Advance(TimeSpan.FromSeconds(2));
        await informer.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3, informer.ListCount);
        Assert.Single(informer.Store.List());
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task An_idle_informer_makes_no_further_list_however_long_it_waits()
    {
        _script.Lists.Enqueue(() => new([Cm("a", "1")], "1"));
        var informer = NewInformer();
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await informer.WaitForSyncAsync(cts.Token).WaitAsync(TimeSpan.FromSeconds(20));
        await Eventually.True(() => informer.WatchCount == 1, "the watch");
        for (var i = 0; i < 24; i++) _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, informer.ListCount);
        Assert.Equal(1, informer.WatchCount);
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_throwing_handler_does_not_stop_the_informer()
    {
        _script.Lists.Enqueue(() => new([Cm("a", "1")], "1"));
        _script.Watches.Enqueue(([Ev(WatchEventType.Added, "b", "2")], null));
        var informer = NewInformer();
        var seen = new ConcurrentQueue<string>();
        informer.AddHandler(_ => throw new InvalidOperationException("bad handler"));
        informer.AddHandler(d => seen.Enqueue(d.Object.Metadata.Name));
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await Eventually.True(() => seen.Count == 2, "both events delivered to the good handler");
        Assert.Equal(2, informer.Store.Count);
        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
    }
}
