using NetDiag.Entities;
using NetDiag.Entities.Reports;

namespace NetDiag.Operator.Remediation;

/// <summary>
/// One fault as remediation sees it: a check and cause merged across nodes (as in status), but
/// keeping the per-node data (<see cref="Finding.Data"/>) that node actions need, e.g. each node's
/// own <c>nf_conntrack_max</c>. The status finding (<c>DiagnosisFinding</c>) caps its node list and
/// drops the data, so remediation is fed from the unmerged findings instead.
/// </summary>
/// <param name="Data">Per key, the value most nodes reported (ties: the smallest), for cluster-wide facts.</param>
/// <param name="NodeData">Per node, that node's data.</param>
public sealed record ActionableFinding(
    string Check,
    string Cause,
    Severity Severity,
    string? AutoAction,
    IReadOnlyList<string> Nodes,
    IReadOnlyList<string> Objects,
    IReadOnlyDictionary<string, string> Data,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> NodeData)
{
    /// <summary>The key history and status use for this finding: <c>check/cause</c>.</summary>
    public string Key => string.IsNullOrEmpty(Cause) ? Check : $"{Check}/{Cause}";

    /// <summary>
    /// Groups unmerged findings (one per node or object, as the checks produce them) by check and
    /// cause. Order follows first appearance, so plans and records come out in a stable order.
    /// </summary>
    public static IReadOnlyList<ActionableFinding> Group(IEnumerable<(Finding Finding, string? Node, string? Object)> findings)
    {
        var groups = new List<(string Key, List<(Finding Finding, string? Node, string? Object)> Items)>();
        foreach (var item in findings)
        {
            if (item.Finding is null)
                continue;
            var key = $"{item.Finding.Check}\u0000{item.Finding.Cause}";
            var group = groups.FirstOrDefault(g => g.Key == key);
            if (group.Items is null)
                groups.Add((key, [item]));
            else
                group.Items.Add(item);
        }

        return groups.Select(g => Merge(g.Items)).ToList();
    }

    private static ActionableFinding Merge(List<(Finding Finding, string? Node, string? Object)> items)
    {
        var first = items[0].Finding;
        var nodes = items.Select(i => i.Node).OfType<string>().Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var objects = items.Select(i => i.Object).OfType<string>().Where(o => o.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var nodeData = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var (finding, node, _) in items)
        {
            if (node is { Length: > 0 } && finding.Data is { Count: > 0 } data && !nodeData.ContainsKey(node))
                nodeData[node] = data;
        }

        var merged = items
            .SelectMany(i => i.Finding.Data ?? [])
            .GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(
                g => g.Key,
                g => g.GroupBy(kv => kv.Value, StringComparer.Ordinal)
                    .OrderByDescending(v => v.Count())
                    .ThenBy(v => v.Key, StringComparer.Ordinal)
                    .First().Key,
                StringComparer.Ordinal);

        // The worst severity wins: one node crash-looping makes the merged finding Critical.
        var severity = items.Select(i => i.Finding.Severity).OrderByDescending(Rank).First();
        var action = items.Select(i => i.Finding.AutoAction).FirstOrDefault(a => !string.IsNullOrEmpty(a));
        return new ActionableFinding(first.Check, first.Cause, severity, action, nodes, objects, merged, nodeData);
    }

    private static int Rank(Severity s) => s switch
    {
        Severity.Critical => 3,
        Severity.Unknown => 2,
        Severity.Warning => 1,
        _ => 0,
    };

    /// <summary>All values of <paramref name="key"/> across nodes, comma lists split, in first-seen order.</summary>
    public IReadOnlyList<string> AllValues(string key)
    {
        var values = new List<string>();
        IEnumerable<string?> raw = NodeData.Count > 0
            ? NodeData.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value.GetValueOrDefault(key))
            : [Data.GetValueOrDefault(key)];
        foreach (var value in raw)
        {
            foreach (var part in (value ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!values.Contains(part, StringComparer.Ordinal))
                    values.Add(part);
            }
        }

        return values;
    }
}
