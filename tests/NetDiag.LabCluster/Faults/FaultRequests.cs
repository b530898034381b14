namespace NetDiag.LabCluster.Faults;

/// <summary>One fault to inject, as a user writes it: <c>flannelPort:node-2</c> or just <c>dnsLoop</c>.</summary>
/// <param name="Name">A name from <see cref="FaultNames.All"/>.</param>
/// <param name="Node">The node as written (full name, suffix like <c>node-2</c>, or 1-based index); null: the fault's default.</param>
public sealed record FaultRequest(string Name, string? Node)
{
    public override string ToString() => Node is null ? Name : $"{Name}:{Node}";
}

/// <summary>A fault resolved to the lab nodes it applies to.</summary>
public sealed record ResolvedFault(string Name, IReadOnlyList<string> Nodes)
{
    public override string ToString() => $"{Name}:{string.Join('+', Nodes)}";
}

/// <summary>
/// The fault names the lab cluster accepts. Node faults are kernel state the lab library sets in a
/// node's namespaces; cluster faults are (also) objects in the API: podCidrOverlap is a Node's
/// spec.podCIDR, dnsLoop is the node's resolv.conf plus CoreDNS pods crash-looping on the loop.
/// </summary>
public static class FaultNames
{
    public const string DnsLoop = "dnsLoop";
    public const string PodCidrOverlap = "podCidrOverlap";
    public const string IpForward = "ipForward";
    public const string FlannelPort = "flannelPort";
    public const string BridgeNetfilter = "bridgeNetfilter";
    public const string Firewall = "firewall";
    public const string SecuritySoftware = "securitySoftware";
    public const string Conntrack = "conntrack";
    public const string Mtu = "mtu";
    public const string DnsDead = "dnsDead";
    public const string MetricsDead = "metricsDead";

    /// <summary>Every valid name, in the order shown in error messages.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        DnsLoop, PodCidrOverlap, IpForward, FlannelPort, BridgeNetfilter, Firewall,
        SecuritySoftware, Conntrack, Mtu, DnsDead, MetricsDead,
    ];

    /// <summary>Faults that only touch the API (no kernel state of their own).</summary>
    public static readonly IReadOnlyList<string> ApiOnly = [PodCidrOverlap];

    public static bool IsKnown(string name) => All.Contains(name, StringComparer.Ordinal);

    /// <summary>A known name differing only in case, to suggest (<c>ipforward</c> → <c>ipForward</c>).</summary>
    public static string? Suggest(string name) => All.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>Parses and resolves fault lists. Pure: the caller passes the lab's node names.</summary>
public static class FaultParser
{
    /// <summary>
    /// Parses <c>a:node-2,b:node-3,c</c> (commas or whitespace between items). Empty input is no
    /// fault. Never throws: errors come back as one message that lists the valid names.
    /// </summary>
    public static bool TryParse(string? text, out List<FaultRequest> faults, out string error)
    {
        faults = [];
        error = "";
        if (string.IsNullOrWhiteSpace(text) || text.Trim() is "none" or "-") return true;
        var problems = new List<string>();
        foreach (var raw in text.Split([',', ' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = raw.Split(':', 2);
            var name = parts[0].Trim();
            var node = parts.Length > 1 ? parts[1].Trim() : null;
            if (node is "") { problems.Add($"'{raw}' names no node after ':'"); continue; }
            if (!FaultNames.IsKnown(name))
            {
                var hint = FaultNames.Suggest(name) is { } s ? $" (did you mean '{s}'?)" : "";
                problems.Add($"unknown fault '{name}'{hint}");
                continue;
            }
            var request = new FaultRequest(name, node);
            if (!faults.Contains(request)) faults.Add(request);
        }
        if (problems.Count == 0) return true;
        error = $"{string.Join("; ", problems)}. Valid faults: {string.Join(", ", FaultNames.All)}; write them as name or name:node, comma-separated (e.g. flannelPort:node-2,ipForward:node-3).";
        faults = [];
        return false;
    }

    /// <summary>
    /// Maps each request to lab node names. A node may be written as its full name, as a suffix
    /// after '-' (<c>node-2</c> for <c>lab1-node-2</c>) or as a 1-based index. Without a node:
    /// dnsLoop goes to every CoreDNS node (the trap is in the resolv.conf CoreDNS forwards to),
    /// every other fault to the second node (the first often hosts CoreDNS, keep them apart).
    /// </summary>
    public static bool TryResolve(
        IReadOnlyList<FaultRequest> requests,
        IReadOnlyList<string> nodeNames,
        IReadOnlyList<string> coreDnsNodes,
        out List<ResolvedFault> resolved,
        out string error)
    {
        resolved = [];
        error = "";
        if (nodeNames.Count == 0)
        {
            if (requests.Count == 0) return true;
            error = "the lab has no nodes to inject faults into";
            return false;
        }
        var problems = new List<string>();
        foreach (var request in requests)
        {
            if (request.Node is null)
            {
                var nodes = request.Name == FaultNames.DnsLoop && coreDnsNodes.Count > 0
                    ? coreDnsNodes.ToList()
                    : [nodeNames[Math.Min(1, nodeNames.Count - 1)]];
                resolved.Add(new ResolvedFault(request.Name, nodes));
                continue;
            }
            var node = ResolveNode(request.Node, nodeNames);
            if (node is null)
            {
                problems.Add($"'{request}': no node '{request.Node}' (nodes: {string.Join(", ", nodeNames)})");
                continue;
            }
            if (request.Name == FaultNames.PodCidrOverlap && nodeNames.Count < 2)
            {
                problems.Add("podCidrOverlap needs at least 2 nodes (one node's podCIDR is made to overlap another's)");
                continue;
            }
            resolved.Add(new ResolvedFault(request.Name, [node]));
        }
        // The same fault named twice for different nodes is one fault on several nodes.
        resolved = resolved
            .GroupBy(f => f.Name, StringComparer.Ordinal)
            .Select(g => new ResolvedFault(g.Key, g.SelectMany(f => f.Nodes).Distinct(StringComparer.Ordinal).ToList()))
            .ToList();
        if (problems.Count == 0) return true;
        error = string.Join("; ", problems);
        resolved = [];
        return false;
    }

    /// <summary>The lab node a user means by <paramref name="written"/>, or null.</summary>
    public static string? ResolveNode(string written, IReadOnlyList<string> nodeNames)
    {
        var exact = nodeNames.FirstOrDefault(n => string.Equals(n, written, StringComparison.Ordinal));
        if (exact is not null) return exact;
        var suffix = nodeNames.Where(n => n.EndsWith("-" + written, StringComparison.Ordinal)).ToList();
        if (suffix.Count == 1) return suffix[0];
        if (int.TryParse(written, out var index) && index >= 1 && index <= nodeNames.Count) return nodeNames[index - 1];
        return null;
    }
}
