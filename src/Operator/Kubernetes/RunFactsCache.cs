using System.Collections.Concurrent;
using NetDiag.Operator.Checks;

namespace NetDiag.Operator.Kubernetes;

/// <summary>
/// What a run learned from the API when it started: the facts (read once per run, not every poll)
/// and the cluster-check findings computed from them, which a run reports as its snapshot.
/// </summary>
public sealed record RunSnapshot(ClusterFacts Facts, ClusterView View, IReadOnlyList<ScopedFinding> ClusterFindings);

/// <summary>
/// Keeps each run's <see cref="RunSnapshot"/> between polls, so the API facts are read and the
/// cluster checks computed once per run, not on every Job or Pod event. Lost on restart (then
/// built again once). Bounded: a run that never completes (its diagnosis deleted) cannot pile up.
/// </summary>
public sealed class RunFactsCache(IClusterFactsReader reader)
{
    private const int Capacity = 64;
    private readonly ConcurrentDictionary<(string Uid, string Run), RunSnapshot> _runs = new();

    public async Task<RunSnapshot> GetAsync(string uid, string runId, Func<ClusterFacts, RunSnapshot> build, CancellationToken ct)
    {
        if (_runs.TryGetValue((uid, runId), out var snapshot)) return snapshot;
        snapshot = build(await reader.ReadAsync(ct));
        if (_runs.Count >= Capacity)
            foreach (var old in _runs.OrderBy(kv => kv.Value.Facts.ReadAt).Take(_runs.Count - Capacity + 1)) _runs.TryRemove(old.Key, out _);
        _runs[(uid, runId)] = snapshot;
        return snapshot;
    }

    /// <summary>Drops every run of this diagnosis (its run finished, or it was deleted).</summary>
    public void Forget(string uid)
    {
        foreach (var key in _runs.Keys.Where(k => k.Uid == uid)) _runs.TryRemove(key, out _);
    }

    public int Count => _runs.Count;
}
