namespace NetDiag.Lab;

/// <summary>What lab to build. Unset members get defaults that work for a single lab.</summary>
public sealed record LabOptions
{
    /// <summary>Number of nodes (1..100). Nodes are named node-1..node-N.</summary>
    public int NodeCount { get; init; } = 4;

    /// <summary>
    /// Short unique lab name ([a-z0-9], 1-8 chars, no '-'): the prefix of every namespace this lab
    /// creates (<c>&lt;name&gt;-node-1</c>, ...), so that <see cref="LabCluster.CleanupStale"/> can
    /// find the leftovers of a crashed run.
    /// </summary>
    public string Name { get; init; } = "ndl0";

    /// <summary>
    /// 0..9: selects non-overlapping address ranges (underlay 172.28.I.0/24, pods 10.(244+I).0.0/16,
    /// services 10.(96+I).0.0/16) so that two labs can run side by side and their reports never
    /// look alike.
    /// </summary>
    public int Index { get; init; }

    /// <summary>Folder for host roots, pid files and logs. Default /tmp/netdiag-lab/&lt;name&gt;.</summary>
    public string? WorkDir { get; init; }

    /// <summary>Start the two CoreDNS stand-ins (dnsmasq + metrics listener) and the kube-dns rules.</summary>
    public bool WithDns { get; init; } = true;

    /// <summary>VXLAN UDP port of flannel.1 at creation (flannel's default 8472).</summary>
    public int VxlanPort { get; init; } = 8472;

    /// <summary>Optional progress lines (what is being built, how long it took).</summary>
    public Action<string>? Log { get; init; }

    internal string EffectiveWorkDir => WorkDir ?? Path.Combine("/tmp/netdiag-lab", Name);

    internal void Validate()
    {
        if (NodeCount is < 1 or > 100)
            throw new ArgumentException($"NodeCount must be 1..100, was {NodeCount}.", nameof(NodeCount));
        if (Index is < 0 or > 9)
            throw new ArgumentException($"Index must be 0..9, was {Index}.", nameof(Index));
        if (string.IsNullOrEmpty(Name) || Name.Length > 8 || !Name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9')))
            throw new ArgumentException($"Name must be 1-8 characters of [a-z0-9], was '{Name}'.", nameof(Name));
        if (VxlanPort is < 1 or > 65535)
            throw new ArgumentException($"VxlanPort must be 1..65535, was {VxlanPort}.", nameof(VxlanPort));
    }
}
