using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Runtime;

/// <summary>The coordination/v1 Lease that decides which replica runs the controllers.</summary>
public sealed record LeaderElectionSettings(string Namespace, string LeaseName, string Identity)
{
    /// <summary>How long a standby waits after the last renewal before taking over (client-go default).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>How long the leader keeps trying to renew before it gives up leadership.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>How a leader-elected run ended.</summary>
public enum LeadershipOutcome
{
    /// <summary>Shutdown was requested (before or while leading); the Lease was released if held.</summary>
    Stopped,

    /// <summary>The Lease could not be renewed: another replica may be leading now. Exit non-zero.</summary>
    Lost,
}

/// <summary>
/// Runs work only while holding the Lease, on the client's <see cref="LeaderElector"/> and
/// <see cref="LeaseLock"/>. Standard controller-runtime behaviour: start on acquiring; on losing
/// the Lease stop at once and report <see cref="LeadershipOutcome.Lost"/> (the process exits
/// non-zero and is restarted); on shutdown finish the work, then release the Lease so a standby
/// takes over without waiting for it to expire.
/// </summary>
public sealed class LeaderElectionRunner(IKubernetes client, LeaderElectionSettings settings, ILogger? logger = null,
    OperatorMetrics? metrics = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private volatile bool _leading;
    private volatile bool _running;
    private volatile string? _leader;

    public LeaderElectionSettings Settings { get; } = settings;

    public bool IsLeader => _leading;

    /// <summary>True while campaigning or leading: a standby is ready (it needs no caches).</summary>
    public bool IsRunning => _running;

    /// <summary>The holder last observed in the Lease.</summary>
    public string? CurrentLeader => _leader;

    private string LeaseDescription => $"{Settings.Namespace}/{Settings.LeaseName}";

    public async Task<LeadershipOutcome> RunAsync(Func<CancellationToken, Task> whileLeading, CancellationToken stoppingToken)
    {
        var leaseLock = new LeaseLock(client, Settings.Namespace, Settings.LeaseName, Settings.Identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = Settings.LeaseDuration,
            RenewDeadline = Settings.RenewDeadline,
            RetryPeriod = Settings.RetryPeriod,
        });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        elector.OnStartedLeading += () => started.TrySetResult();
        elector.OnNewLeader += l =>
        {
            _leader = l;
            _logger.NewLeader(l);
        };
        elector.OnError += e => _logger.LeaderElectionError(WatchFailures.Describe(e));

        using var electorCts = new CancellationTokenSource();
        _running = true;
        var electorTask = Task.Run(() => elector.RunUntilLeadershipLostAsync(electorCts.Token), CancellationToken.None);
        var stopping = Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken);
        try
        {
            await Task.WhenAny(started.Task, electorTask, stopping).ConfigureAwait(false);
            if (!started.Task.IsCompleted)
            {
                await StopElectorAsync(electorCts, electorTask).ConfigureAwait(false);
                return stoppingToken.IsCancellationRequested ? LeadershipOutcome.Stopped : LeadershipOutcome.Lost;
            }

            _leading = true;
            metrics?.Leader.Set(1);
            _logger.BecameLeader(Settings.Identity, LeaseDescription);
            using var workCts = new CancellationTokenSource();
            var work = Task.Run(() => whileLeading(workCts.Token), CancellationToken.None);
            var first = await Task.WhenAny(electorTask, work, stopping).ConfigureAwait(false);
            if (first == electorTask && !stoppingToken.IsCancellationRequested)
            {
                // Lost: another replica may already be acting, so stop now rather than drain.
                _leading = false;
                metrics?.Leader.Set(0);
                _logger.LostLeadership(Settings.Identity, LeaseDescription);
                workCts.Cancel();
                await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
                return LeadershipOutcome.Lost;
            }

            // Shutting down (or the work ended): drain while still renewing, then let go of the Lease.
            workCts.Cancel();
            try { await work.ConfigureAwait(false); } catch (Exception) { /* the work logs its own failures */ }
            await StopElectorAsync(electorCts, electorTask).ConfigureAwait(false);
            _leading = false;
            metrics?.Leader.Set(0);
            await ReleaseAsync(leaseLock).ConfigureAwait(false);
            return LeadershipOutcome.Stopped;
        }
        finally
        {
            _running = false;
            _leading = false;
        }
    }

    private static async Task StopElectorAsync(CancellationTokenSource cts, Task electorTask)
    {
        cts.Cancel();
        try { await electorTask.ConfigureAwait(false); } catch (Exception) { /* cancellation */ }
    }

    /// <summary>
    /// Gives the Lease up as client-go's ReleaseOnCancel does: an empty holder with a 1 s duration,
    /// which a standby's elector treats as free on its next retry.
    /// </summary>
    private async Task ReleaseAsync(ILock leaseLock)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var current = await leaseLock.GetAsync(timeout.Token).ConfigureAwait(false);
            if (current?.HolderIdentity != Settings.Identity) return;
            var now = DateTime.UtcNow;
            var released = await leaseLock.UpdateAsync(new LeaderElectionRecord
            {
                HolderIdentity = "",
                LeaseDurationSeconds = 1,
                AcquireTime = now,
                RenewTime = now,
                LeaderTransitions = current.LeaderTransitions,
            }, timeout.Token).ConfigureAwait(false);
            if (released) _logger.Released(LeaseDescription);
        }
        catch (Exception ex)
        {
            _logger.LeaderElectionError($"could not release the lease: {WatchFailures.Describe(ex)}");
        }
    }
}
