using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Checks;

namespace NetDiag.Operator.Status;

/// <summary>
/// Folds follow-on failures under their root cause, so a triage report leads with the one thing to
/// fix. A node whose overlay port is blocked also fails pod-network pings and cluster DNS from and
/// to it; CoreDNS stopped by a forwarding loop also leaves kube-dns without endpoints. Those
/// consequences stay in the report (as Info, naming the root cause) instead of competing with it
/// as further Criticals. Only findings that are explained by a root cause on the same node(s) are
/// folded: an unrelated failure elsewhere stays Critical.
/// </summary>
public static class RootCauses
{
    /// <summary>Checks whose Critical finding on a node breaks pod traffic through that node.</summary>
    private static readonly HashSet<string> NodeTrafficBreakers =
        [CheckNames.FlannelPort, CheckNames.IpForward, CheckNames.BridgeNetfilter, CheckNames.Firewall];

    /// <summary>
    /// Checks whose Warning is enough to explain traffic failures through that node: an overlay MTU
    /// above the underlay's makes large packets vanish while pings pass (checks.md), so an HTTP
    /// metrics fetch across that node times out although DNS and ping work.
    /// </summary>
    private static readonly HashSet<string> NodeTrafficDegraders = [CheckNames.Mtu];

    /// <summary>Checks that observe traffic, and so fail as a consequence of a node traffic breaker.</summary>
    private static readonly HashSet<string> TrafficObservers = [CheckNames.PodCidrReachability, CheckNames.DnsService];

    /// <summary>coreDnsHealth causes that a CoreDNS forwarding loop produces by itself.</summary>
    private static readonly HashSet<string> LoopConsequences = ["kube-dns has no endpoints", "CoreDNS CrashLoopBackOff"];

    /// <param name="findings">All findings of a run, per node or object.</param>
    /// <param name="podNodes">Pod IP → node name (e.g. CoreDNS pods), to relate a dead DNS target to its node.</param>
    public static IReadOnlyList<ScopedFinding> Fold(IReadOnlyList<ScopedFinding> findings, IReadOnlyDictionary<string, string>? podNodes = null)
    {
        var blamed = BlamedNodes(findings);
        var loop = findings.FirstOrDefault(f => f.Check == CheckNames.DnsLoop && f.Finding.Severity == Severity.Critical);
        if (blamed.Count == 0 && loop is null) return findings;

        return findings.Select(f =>
        {
            if (f.Finding.Severity != Severity.Critical) return f;
            if (TrafficObservers.Contains(f.Check) && ExplainedBy(f, blamed, podNodes) is { } root)
                return Demote(f, $"{root.Check} on {root.Node}");
            if (loop is not null && (f.Check == CheckNames.DnsService || (f.Check == CheckNames.CoreDnsHealth && LoopConsequences.Contains(f.Cause))))
                return Demote(f, $"{CheckNames.DnsLoop} (CoreDNS is stopped by its forwarding loop)");
            return f;
        }).ToList();
    }

    /// <summary>Node → the root-cause finding that blames it.</summary>
    private static Dictionary<string, (string Check, string Node)> BlamedNodes(IEnumerable<ScopedFinding> findings)
    {
        var blamed = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var f in findings)
        {
            var breaks = f.Finding.Severity == Severity.Critical && NodeTrafficBreakers.Contains(f.Check);
            var degrades = f.Finding.Severity is Severity.Critical or Severity.Warning && NodeTrafficDegraders.Contains(f.Check);
            if (!breaks && !degrades) continue;
            // flannelPort names the node it suspects (every prober blames the one whose port is dropped).
            var node = Data(f, "suspectNode") ?? f.Node;
            if (node is not null) blamed.TryAdd(node, (f.Check, node));
        }
        return blamed;
    }

    private static (string Check, string Node)? ExplainedBy(ScopedFinding f, Dictionary<string, (string Check, string Node)> blamed, IReadOnlyDictionary<string, string>? podNodes)
    {
        if (blamed.Count == 0) return null;
        // The prober itself is broken: everything it cannot reach follows from that.
        if (f.Node is { } reporter && blamed.TryGetValue(reporter, out var self)) return self;
        if (Data(f, "suspectNode") is { } suspect && blamed.TryGetValue(suspect, out var s)) return s;
        if (Data(f, "downPeers") is { } down)
        {
            var peers = down.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (peers.Length > 0 && peers.All(blamed.ContainsKey)) return blamed[peers[0]];
        }
        if (Data(f, "target") is { } target && podNodes?.TryGetValue(target, out var targetNode) == true
            && blamed.TryGetValue(targetNode, out var t)) return t;
        return null;
    }

    private static ScopedFinding Demote(ScopedFinding f, string root) => f with
    {
        Finding = f.Finding with
        {
            Severity = Severity.Info,
            Message = $"{Sentence(f.Finding.Message)} This follows from {root}: fix that first.",
        },
    };

    private static string Sentence(string message)
    {
        var m = message.TrimEnd();
        return m.Length == 0 || m[^1] is '.' or '!' or '?' or ':' ? m : m + ".";
    }

    private static string? Data(ScopedFinding f, string key) =>
        f.Finding.Data is { } d && d.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v) ? v : null;
}
