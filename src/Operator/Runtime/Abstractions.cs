using k8s;
using k8s.Models;

namespace NetDiag.Operator.Runtime;

/// <summary>Identifies an object for the work queue: reconciles get only the key, never a stale copy.</summary>
public readonly record struct ObjectKey(string? Namespace, string Name)
{
    public static ObjectKey Of(IKubernetesObject<V1ObjectMeta> o) => new(o.Metadata.NamespaceProperty, o.Metadata.Name);
    public override string ToString() => Namespace is null ? Name : $"{Namespace}/{Name}";
}

/// <summary>
/// What a reconcile asks of the loop (controller-runtime's Result). Errors are exceptions: the
/// queue retries them with per-key exponential back-off.
/// </summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => new(null);
    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>
/// A level-triggered reconcile: read fresh state for the key, converge, return. It must be correct
/// however many times it runs; the queue never runs one key twice at once.
/// </summary>
public interface IReconciler<TEntity> where TEntity : IKubernetesObject<V1ObjectMeta>
{
    Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken);
}

/// <summary>
/// Records Kubernetes Events on an object. Never throws into a reconcile (an Event is best effort)
/// and de-duplicates by object, reason and message by bumping the count of the existing Event.
/// </summary>
public interface IEventRecorder
{
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> involvedObject, string type, string reason, string message, CancellationToken cancellationToken);
}

public static class EventTypes
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";
}

/// <summary>
/// A local, watch-fed copy of one resource kind (an informer's store), so a reconcile costs no
/// extra GETs and an idle operator makes no periodic LIST.
/// </summary>
public interface IResourceCache<T> where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>True once the first LIST has been loaded.</summary>
    bool HasSynced { get; }
    T? Get(ObjectKey key);
    IReadOnlyList<T> List();
}
