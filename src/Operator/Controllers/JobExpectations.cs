using System.Collections.Concurrent;

namespace NetDiag.Operator.Controllers;

/// <summary>
/// Jobs this process created that the Job informer may not have delivered yet (controller-runtime's
/// "expectations"). Counting them as alive keeps "never more than maxConcurrentProbes" true even
/// when a reconcile runs before the watch event of the previous one's creations arrives.
/// </summary>
public sealed class JobExpectations(TimeProvider time)
{
    /// <summary>After this long a created Job that never showed up in the cache is no longer counted (it was deleted meanwhile).</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, (string Owner, DateTimeOffset At)> _created = new();

    public void Created(string ownerUid, string jobName) => _created[jobName] = (ownerUid, time.GetUtcNow());

    /// <summary>Names created for this owner and not yet seen in <paramref name="seen"/>.</summary>
    public IReadOnlyList<string> Pending(string ownerUid, IReadOnlySet<string> seen)
    {
        var now = time.GetUtcNow();
        var result = new List<string>();
        foreach (var (name, (owner, at)) in _created)
        {
            if (seen.Contains(name) || now - at > Expiry) { _created.TryRemove(name, out _); continue; }
            if (owner == ownerUid) result.Add(name);
        }
        return result;
    }

    public void Forget(string ownerUid)
    {
        foreach (var (name, (owner, _)) in _created)
            if (owner == ownerUid) _created.TryRemove(name, out _);
    }
}
