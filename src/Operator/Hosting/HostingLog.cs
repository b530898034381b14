using Microsoft.Extensions.Logging;

namespace NetDiag.Operator.Hosting;

/// <summary>Source-generated log methods of the host (event ids 2000-2999).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(2001, LogLevel.Information, "netdiag-operator starting: identity {Identity}, leader election {LeaderElection}, API server {Server}")]
    public static partial void Starting(this ILogger logger, string identity, bool leaderElection, string? server);

    [LoggerMessage(2002, LogLevel.Information, "Informers synced: {Resources}")]
    public static partial void Synced(this ILogger logger, string resources);

    [LoggerMessage(2003, LogLevel.Information, "Waiting for leadership of {Lease} as {Identity}")]
    public static partial void Campaigning(this ILogger logger, string lease, string identity);

    [LoggerMessage(2004, LogLevel.Critical, "Leadership lost; exiting so the Deployment restarts this replica")]
    public static partial void ExitingOnLostLeadership(this ILogger logger);

    [LoggerMessage(2005, LogLevel.Information, "Serving /healthz, /readyz and /metrics on {Prefix}")]
    public static partial void Serving(this ILogger logger, string prefix);

    [LoggerMessage(2006, LogLevel.Error, "Health endpoint failed")]
    public static partial void HealthServerFailed(this ILogger logger, Exception error);

    [LoggerMessage(2007, LogLevel.Critical, "Operator failed")]
    public static partial void OperatorFailed(this ILogger logger, Exception error);

    [LoggerMessage(2008, LogLevel.Information, "netdiag-operator stopped")]
    public static partial void Stopped(this ILogger logger);
}
