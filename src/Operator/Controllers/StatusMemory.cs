using System.Collections.Concurrent;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Controllers;

/// <summary>
/// The last status this process wrote per diagnosis. The informer delivers our own write a moment
/// later; until then the cached object is stale, and without this memory the next poll would
/// write the same status again and repeat its Events.
/// </summary>
internal sealed class StatusMemory
{
    private readonly ConcurrentDictionary<string, (string Json, NetworkDiagnosisStatus Status)> _last = new();

    public void Remember(string uid, string json, NetworkDiagnosisStatus status) => _last[uid] = (json, status);

    /// <summary>
    /// The diagnosis as the reconcile should see it: with the status we last wrote for this
    /// generation when the cache has not delivered it yet, so a just-finished run is not taken
    /// for a running one (which would read the API facts again).
    /// </summary>
    public V1alpha1NetworkDiagnosis Overlay(V1alpha1NetworkDiagnosis d)
    {
        var uid = d.Metadata.Uid ?? d.Metadata.Name;
        if (!_last.TryGetValue(uid, out var last) || last.Status.ObservedGeneration != d.Metadata.Generation)
            return d;
        return new V1alpha1NetworkDiagnosis { ApiVersion = d.ApiVersion, Kind = d.Kind, Metadata = d.Metadata, Spec = d.Spec, Status = last.Status };
    }
}
