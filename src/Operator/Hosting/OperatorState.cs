using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Hosting;

/// <summary>What /healthz and /readyz report, gathered from the informers and the leader election.</summary>
public sealed class OperatorState(IEnumerable<IInformer> informers)
{
    private readonly IInformer[] _informers = informers.ToArray();

    /// <summary>Set when leader election is on.</summary>
    public LeaderElectionRunner? LeaderElection { get; set; }

    public IReadOnlyList<IInformer> Informers => _informers;

    public bool InformersSynced => _informers.All(i => i.HasSynced);

    /// <summary>
    /// Ready when the caches are synced; with leader election, a standby is ready while it
    /// campaigns (it starts no informers until it leads), the leader once its caches are synced.
    /// </summary>
    public bool IsReady => LeaderElection is null
        ? InformersSynced
        : LeaderElection.IsLeader ? InformersSynced : LeaderElection.IsRunning;

    /// <summary>A one-line explanation for /readyz.</summary>
    public string Describe()
    {
        var caches = string.Join(", ", _informers.Select(i => $"{i.Resource}={(i.HasSynced ? "synced" : "syncing")}"));
        if (LeaderElection is null) return caches;
        var role = LeaderElection.IsLeader ? "leader" : LeaderElection.IsRunning ? $"standby (leader: {LeaderElection.CurrentLeader ?? "unknown"})" : "not campaigning";
        return $"{role}; {caches}";
    }
}
