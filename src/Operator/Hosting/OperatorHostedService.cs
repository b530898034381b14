using k8s;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetDiag.Operator.Runtime;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Hosting;

/// <summary>
/// Runs the informers and controllers, under leader election when enabled:
/// <code>
///   campaign ──acquired──► informers: LIST+WATCH ──all synced──► controllers' workers
///      │                      SIGTERM: stop taking work, finish running reconciles (bounded),
///      │                               stop watches, release the Lease, exit 0
///      └── lease lost ──► stop at once, exit 1 (the Deployment restarts the pod)
/// </code>
/// </summary>
public sealed class OperatorHostedService(
    IKubernetes client,
    IOptions<OperatorOptions> options,
    IEnumerable<IInformer> informers,
    IEnumerable<IController> controllers,
    OperatorState state,
    OperatorMetrics metrics,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<OperatorHostedService>();

    /// <summary>The process exit code the host should end with (1 after a lost Lease or a crash).</summary>
    public static int ExitCode { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        try
        {
            if (!o.LeaderElection)
            {
                metrics.Leader.Set(1);
                await RunLeadingAsync(stoppingToken).ConfigureAwait(false);
                return;
            }
            var settings = new LeaderElectionSettings(o.Namespace, o.LeaseName, OperatorIdentity.Resolve(o))
            {
                LeaseDuration = o.LeaseDuration,
                RenewDeadline = o.RenewDeadline,
                RetryPeriod = o.RetryPeriod,
            };
            var runner = new LeaderElectionRunner(client, settings, loggers.CreateLogger<LeaderElectionRunner>(), metrics);
            state.LeaderElection = runner;
            _logger.Campaigning($"{o.Namespace}/{o.LeaseName}", settings.Identity);
            var outcome = await runner.RunAsync(RunLeadingAsync, stoppingToken).ConfigureAwait(false);
            if (outcome == LeadershipOutcome.Lost)
            {
                _logger.ExitingOnLostLeadership();
                ExitCode = 1;
                lifetime.StopApplication();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.OperatorFailed(ex);
            ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    /// <summary>Starts every informer, waits for their first LIST, then runs the controllers until stopped.</summary>
    private async Task RunLeadingAsync(CancellationToken stoppingToken)
    {
        using var informersCts = new CancellationTokenSource();
        var informerTasks = informers.Select(i => Task.Run(() => i.RunAsync(informersCts.Token), CancellationToken.None)).ToArray();
        try
        {
            await Task.WhenAll(informers.Select(i => i.WaitForSyncAsync(stoppingToken))).ConfigureAwait(false);
            _logger.Synced(string.Join(", ", informers.Select(i => i.Resource)));
            // Controllers drain on stoppingToken; the caches keep watching until they are done.
            await Task.WhenAll(controllers.Select(c => c.RunAsync(stoppingToken))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            informersCts.Cancel();
            await Task.WhenAll(informerTasks).ConfigureAwait(false);
        }
    }
}

/// <summary>This replica's identity in the Lease and in Events.</summary>
public static class OperatorIdentity
{
    private static readonly string Suffix = Guid.NewGuid().ToString("N")[..6];

    /// <summary>The configured identity, else the host (pod) name plus a random suffix, as client-go does.</summary>
    public static string Resolve(OperatorOptions o) =>
        string.IsNullOrWhiteSpace(o.Identity) ? $"{Environment.MachineName}_{Suffix}" : o.Identity;
}
