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

    public bool Same(string uid, string json) => _last.TryGetValue(uid, out var last) && last.Json == json;

    /// <summary>The status Events are computed against: what we last wrote, or else what the cache shows.</summary>
    public NetworkDiagnosisStatus? Previous(string uid, NetworkDiagnosisStatus? cached) =>
        _last.TryGetValue(uid, out var last) ? last.Status : cached;

    public void Remember(string uid, string json, NetworkDiagnosisStatus status) => _last[uid] = (json, status);
}
