using Microsoft.Extensions.Time.Testing;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Tests.Runtime;

public class WorkQueueTests
{
    private readonly FakeTimeProvider _clock = new();

    private WorkQueue<string> NewQueue(BackoffPolicy? backoff = null) =>
        new(_clock, backoff ?? new BackoffPolicy(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), Jitter: 0), () => 0);

    private static string Take(WorkQueue<string> q)
    {
        var t = q.GetAsync();
        Assert.True(t.IsCompleted, "expected a key to be ready");
        var (ok, key) = t.Result;
        Assert.True(ok);
        return key;
    }

    [Fact]
    public void Adding_a_queued_key_again_does_not_duplicate_it()
    {
        var q = NewQueue();
        q.Add("a");
        q.Add("b");
        q.Add("a");
        q.Add("a");
        Assert.Equal(2, q.Count);
        Assert.Equal("a", Take(q));
        Assert.Equal("b", Take(q));
        Assert.False(q.GetAsync().IsCompleted);
    }

    [Fact]
    public void A_key_being_processed_is_not_handed_out_again_until_done()
    {
        var q = NewQueue();
        q.Add("a");
        Assert.Equal("a", Take(q));
        q.Add("a"); // changed while a worker is on it
        Assert.Equal(0, q.Count);
        var second = q.GetAsync();
        Assert.False(second.IsCompleted, "a second worker must not get the key being processed");
        q.Done("a");
        Assert.True(second.IsCompletedSuccessfully);
        Assert.Equal((true, "a"), second.Result);
    }

    [Fact]
    public void Done_without_a_readd_forgets_the_key()
    {
        var q = NewQueue();
        q.Add("a");
        Take(q);
        q.Done("a");
        Assert.Equal(0, q.Count);
        Assert.Equal(0, q.ProcessingCount);
    }

    [Fact]
    public void A_waiting_worker_gets_the_next_added_key()
    {
        var q = NewQueue();
        var waiting = q.GetAsync();
        Assert.False(waiting.IsCompleted);
        q.Add("x");
        Assert.Equal((true, "x"), waiting.Result);
    }

    [Fact]
    public void AddAfter_fires_only_when_the_clock_reaches_the_delay()
    {
        var q = NewQueue();
        q.AddAfter("a", TimeSpan.FromSeconds(5));
        Assert.Equal(0, q.Count);
        Assert.Equal(1, q.WaitingCount);
        _clock.Advance(TimeSpan.FromSeconds(4.999));
        Assert.Equal(0, q.Count);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, q.Count);
        Assert.Equal(0, q.WaitingCount);
        Assert.Equal("a", Take(q));
    }

    [Fact]
    public void The_earlier_of_two_delays_wins()
    {
        var q = NewQueue();
        q.AddAfter("a", TimeSpan.FromSeconds(10));
        q.AddAfter("a", TimeSpan.FromSeconds(3));
        q.AddAfter("a", TimeSpan.FromSeconds(7)); // later than the pending 3 s: ignored
        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(1, q.Count);
        Take(q);
        q.Done("a");
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, q.Count); // the replaced timers never fire
    }

    [Fact]
    public void A_zero_delay_adds_at_once()
    {
        var q = NewQueue();
        q.AddAfter("a", TimeSpan.Zero);
        Assert.Equal(1, q.Count);
    }

    [Fact]
    public void Rate_limited_requeues_back_off_exponentially_up_to_the_cap_and_forget_resets()
    {
        var q = NewQueue();
        var delays = Enumerable.Range(0, 6).Select(_ => q.AddRateLimited("a")).ToArray();
        Assert.Equal(new[] { 1.0, 2, 4, 8, 10, 10 }, delays.Select(d => d.TotalSeconds));
        Assert.Equal(6, q.NumRequeues("a"));
        Assert.Equal(0, q.NumRequeues("b"));
        q.Forget("a");
        Assert.Equal(0, q.NumRequeues("a"));
        Assert.Equal(TimeSpan.FromSeconds(1), q.AddRateLimited("a"));
    }

    [Fact]
    public void A_rate_limited_key_comes_back_after_its_backoff()
    {
        var q = NewQueue();
        q.Add("a");
        Take(q);
        q.AddRateLimited("a"); // 1 s
        q.Done("a");
        Assert.Equal(0, q.Count);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("a", Take(q));
    }

    [Fact]
    public void Back_off_is_per_key()
    {
        var q = NewQueue();
        q.AddRateLimited("a");
        q.AddRateLimited("a");
        Assert.Equal(TimeSpan.FromSeconds(1), q.AddRateLimited("b"));
    }

    [Fact]
    public void Shutdown_wakes_waiting_workers_and_stops_handing_out_keys()
    {
        var q = NewQueue();
        var waiting = q.GetAsync();
        q.ShutDown();
        Assert.Equal((false, (string)null!), waiting.Result);
        q.Add("late");
        Assert.Equal(0, q.Count);
        Assert.False(q.GetAsync().Result.Ok);
    }

    [Fact]
    public void Shutdown_drops_pending_delays()
    {
        var q = NewQueue();
        q.AddAfter("a", TimeSpan.FromSeconds(1));
        q.ShutDown();
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, q.Count);
    }

    [Fact]
    public async Task Drain_waits_for_keys_being_processed()
    {
        var q = NewQueue();
        q.Add("a");
        Take(q);
        var drain = q.ShutDownWithDrainAsync();
        Assert.False(drain.IsCompleted, "a key is still being processed");
        q.Done("a");
        await drain.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.True(drain.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_cancelled_get_does_not_swallow_a_key()
    {
        var q = NewQueue();
        using var cts = new CancellationTokenSource();
        var cancelled = q.GetAsync(cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        q.Add("a");
        Assert.Equal("a", Take(q));
    }
}
