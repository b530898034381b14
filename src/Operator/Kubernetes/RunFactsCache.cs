using System.Collections.Concurrent;

namespace NetDiag.Operator.Kubernetes;

/// <summary>
/// Keeps each run's <see cref="ClusterFacts"/> between polls, so the API facts are read once per
/// run and not every PollInterval. Lost on restart (then read again once). Bounded: a run that
/// never completes (its diagnosis deleted) cannot pile up.
/// </summary>
public sealed class RunFactsCache(IClusterFactsReader reader)
{
    private const int Capacity = 64;
    private readonly ConcurrentDictionary<(string Uid, string Run), ClusterFacts> _facts = new();

    public async Task<ClusterFacts> GetAsync(string uid, string runId, CancellationToken ct)
    {
        if (_facts.TryGetValue((uid, runId), out var facts)) return facts;
        facts = await reader.ReadAsync(ct);
        if (_facts.Count >= Capacity)
            foreach (var old in _facts.OrderBy(kv => kv.Value.ReadAt).Take(_facts.Count - Capacity + 1)) _facts.TryRemove(old.Key, out _);
        _facts[(uid, runId)] = facts;
        return facts;
    }

    /// <summary>Drops every run of this diagnosis (its run finished, or it was deleted).</summary>
    public void Forget(string uid)
    {
        foreach (var key in _facts.Keys.Where(k => k.Uid == uid)) _facts.TryRemove(key, out _);
    }

    public int Count => _facts.Count;
}
