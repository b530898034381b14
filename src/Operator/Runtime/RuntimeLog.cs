using Microsoft.Extensions.Logging;

namespace NetDiag.Operator.Runtime;

/// <summary>Source-generated log methods of the runtime (event ids 1000-1999).</summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(1001, LogLevel.Information, "Informer {Resource}: listed {Count} objects at resourceVersion {ResourceVersion}")]
    public static partial void Listed(this ILogger logger, string resource, int count, string? resourceVersion);

    [LoggerMessage(1002, LogLevel.Information, "Informer {Resource}: resourceVersion {ResourceVersion} expired (410 Gone), relisting")]
    public static partial void Relisting(this ILogger logger, string resource, string? resourceVersion);

    [LoggerMessage(1003, LogLevel.Warning, "Informer {Resource}: {Operation} failed ({Error}); retrying in {Delay}")]
    public static partial void WatchFailed(this ILogger logger, string resource, string operation, string error, TimeSpan delay);

    [LoggerMessage(1004, LogLevel.Debug, "Informer {Resource}: watch from resourceVersion {ResourceVersion} ended, resuming")]
    public static partial void WatchEnded(this ILogger logger, string resource, string? resourceVersion);

    [LoggerMessage(1006, LogLevel.Debug, "Informer {Resource}: watching from resourceVersion {ResourceVersion}")]
    public static partial void WatchStarting(this ILogger logger, string resource, string? resourceVersion);

    [LoggerMessage(1005, LogLevel.Error, "Informer {Resource}: an event handler threw")]
    public static partial void HandlerFailed(this ILogger logger, Exception error, string resource);

    [LoggerMessage(1010, LogLevel.Debug, "Reconciling")]
    public static partial void Reconciling(this ILogger logger);

    [LoggerMessage(1011, LogLevel.Debug, "Reconciled in {ElapsedMs:F1} ms; requeue after {RequeueAfter}")]
    public static partial void Reconciled(this ILogger logger, double elapsedMs, TimeSpan? requeueAfter);

    [LoggerMessage(1012, LogLevel.Error, "Reconcile failed (attempt {Attempt}); retrying in {Delay}")]
    public static partial void ReconcileFailed(this ILogger logger, Exception error, int attempt, TimeSpan delay);

    [LoggerMessage(1013, LogLevel.Information, "Controller {Controller}: starting {Workers} workers")]
    public static partial void ControllerStarting(this ILogger logger, string controller, int workers);

    [LoggerMessage(1014, LogLevel.Information, "Controller {Controller}: stopped ({Unfinished} reconciles cut short)")]
    public static partial void ControllerStopped(this ILogger logger, string controller, int unfinished);

    [LoggerMessage(1020, LogLevel.Warning, "Event {Reason} on {Kind} {Name} not recorded: {Error}")]
    public static partial void EventFailed(this ILogger logger, string reason, string? kind, string? name, string error);

    [LoggerMessage(1030, LogLevel.Information, "Leader election: {Identity} became leader of {Lease}")]
    public static partial void BecameLeader(this ILogger logger, string identity, string lease);

    [LoggerMessage(1031, LogLevel.Information, "Leader election: current leader is {Leader}")]
    public static partial void NewLeader(this ILogger logger, string? leader);

    [LoggerMessage(1032, LogLevel.Error, "Leader election: {Identity} lost the lease {Lease}")]
    public static partial void LostLeadership(this ILogger logger, string identity, string lease);

    [LoggerMessage(1033, LogLevel.Information, "Leader election: released the lease {Lease}")]
    public static partial void Released(this ILogger logger, string lease);

    [LoggerMessage(1034, LogLevel.Warning, "Leader election: {Error}")]
    public static partial void LeaderElectionError(this ILogger logger, string error);
}
