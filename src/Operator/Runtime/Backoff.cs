namespace NetDiag.Operator.Runtime;

/// <summary>
/// Exponential back-off with a cap and jitter: <c>min(cap, initial * 2^attempt)</c>, then scaled
/// down by up to <see cref="Jitter"/> so that many clients retrying the same failure (an API server
/// that just restarted) spread out instead of arriving together. Jitter only shortens a delay, so
/// the cap is a true upper bound.
/// </summary>
public sealed record BackoffPolicy(TimeSpan Initial, TimeSpan Max, double Jitter = 0.2)
{
    /// <summary>Watch/list retries: 800 ms doubling to 30 s (client-go's reflector uses 800 ms .. 30 s).</summary>
    public static BackoffPolicy Watch { get; } = new(TimeSpan.FromMilliseconds(800), TimeSpan.FromSeconds(30));

    /// <summary>Failed reconciles: 1 s doubling to 5 min per key.</summary>
    public static BackoffPolicy Reconcile { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    /// <summary>
    /// The delay before retry number <paramref name="attempt"/> (0 = first retry).
    /// <paramref name="random01"/> is a sample in [0, 1): 0 means no reduction.
    /// </summary>
    public TimeSpan Delay(int attempt, double random01)
    {
        if (attempt < 0) attempt = 0;
        // 2^attempt overflows quickly; past 62 doublings every sane cap has been reached.
        var factor = attempt >= 62 ? double.MaxValue : Math.Pow(2, attempt);
        var raw = Initial.TotalMilliseconds * factor;
        var capped = Math.Min(raw, Max.TotalMilliseconds);
        var jitter = Math.Clamp(Jitter, 0, 1);
        var ms = capped * (1 - jitter * Math.Clamp(random01, 0, 1));
        return TimeSpan.FromMilliseconds(ms);
    }
}

/// <summary>
/// The attempt counter of one retrying loop (an informer's list/watch): <see cref="Next"/> grows the
/// delay, <see cref="Reset"/> after a success starts again from the initial delay.
/// </summary>
public sealed class Backoff(BackoffPolicy policy, Func<double>? random = null)
{
    private readonly Func<double> _random = random ?? Random.Shared.NextDouble;
    private int _attempt;

    public BackoffPolicy Policy { get; } = policy;

    /// <summary>Failures since the last success.</summary>
    public int Attempts => _attempt;

    public TimeSpan Next() => Policy.Delay(_attempt++, _random());

    public void Reset() => _attempt = 0;
}
