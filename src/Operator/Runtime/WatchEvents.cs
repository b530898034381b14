using k8s;
using k8s.Models;

namespace NetDiag.Operator.Runtime;

/// <summary>One item of a watch stream: an object change, a bookmark, or an ERROR carrying a Status.</summary>
public sealed record WatchEvent<T>(WatchEventType Type, T? Object, V1Status? Status = null)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    public static WatchEvent<T> Error(V1Status status) => new(WatchEventType.Error, null, status);
}

/// <summary>A LIST result: the items and the collection's resourceVersion to watch from.</summary>
public sealed record ListResult<T>(IReadOnlyList<T> Items, string? ResourceVersion);

/// <summary>What the informer loop does after a list or watch failed.</summary>
public enum WatchFailureAction
{
    /// <summary>Back off, then resume watching from the last seen resourceVersion.</summary>
    BackoffAndResume,

    /// <summary>The resourceVersion is no longer served (410 Gone): list again (after back-off if it repeats).</summary>
    Relist,

    /// <summary>Shutting down.</summary>
    Stop,
}

/// <summary>Turns the ways a watch can fail into what the informer does next (pure).</summary>
public static class WatchFailures
{
    /// <summary>
    /// 410 Gone (HTTP status or a watch ERROR event with code 410, reason Expired/Gone): the watch
    /// window expired, relist. "Too large resource version" (504 after an API server restart whose
    /// cache is behind the version we ask for): relist too, as client-go does. Everything else
    /// (429 while a new CRD's storage initialises, 5xx, refused or dropped connections) backs off
    /// and resumes.
    /// </summary>
    public static WatchFailureAction Classify(Exception error, bool cancellationRequested)
    {
        if (cancellationRequested && error is OperationCanceledException) return WatchFailureAction.Stop;
        return StatusCodeOf(error) switch
        {
            410 => WatchFailureAction.Relist,
            504 when IsTooLargeResourceVersion(error) => WatchFailureAction.Relist,
            _ => WatchFailureAction.BackoffAndResume,
        };
    }

    /// <summary>The ERROR event of a watch stream, as sent by the server before it closes the stream.</summary>
    public static WatchFailureAction Classify(V1Status status) =>
        status.Code == 410 || status.Reason is "Expired" or "Gone" ? WatchFailureAction.Relist
        : status.Code == 504 && IsTooLargeResourceVersion(status.Message) ? WatchFailureAction.Relist
        : WatchFailureAction.BackoffAndResume;

    /// <summary>The HTTP status of a failed call, or null for transport errors.</summary>
    public static int? StatusCodeOf(Exception error) => error switch
    {
        k8s.Autorest.HttpOperationException h when h.Response is not null => (int)h.Response.StatusCode,
        KubernetesException k when k.Status?.Code is int c => c,
        WatchErrorException w => w.Status.Code,
        _ => null,
    };

    private static bool IsTooLargeResourceVersion(Exception error) => error switch
    {
        k8s.Autorest.HttpOperationException h => IsTooLargeResourceVersion(h.Response?.Content),
        KubernetesException k => IsTooLargeResourceVersion(k.Status?.Message),
        WatchErrorException w => IsTooLargeResourceVersion(w.Status.Message),
        _ => false,
    };

    private static bool IsTooLargeResourceVersion(string? message) =>
        message?.Contains("Too large resource version", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A one-line description for logs: status code and message, never a stack trace.</summary>
    public static string Describe(Exception error) => error switch
    {
        k8s.Autorest.HttpOperationException h => $"HTTP {(int?)h.Response?.StatusCode}: {Trim(h.Response?.Content)}",
        KubernetesException k => $"status {k.Status?.Code} {k.Status?.Reason}: {k.Status?.Message}",
        WatchErrorException w => $"watch error {w.Status.Code} {w.Status.Reason}: {w.Status.Message}",
        _ => $"{error.GetType().Name}: {error.Message}",
    };

    private static string? Trim(string? s) => s is { Length: > 300 } ? s[..300] + "..." : s;
}

/// <summary>A watch ERROR event that ended the stream (carries the server's Status).</summary>
public sealed class WatchErrorException(V1Status status)
    : Exception($"watch error {status.Code} {status.Reason}: {status.Message}")
{
    public V1Status Status { get; } = status;
}
