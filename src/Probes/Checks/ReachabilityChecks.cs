using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Checks;

/// <summary>What was sent to one peer: underlay (node IP), overlay (podCIDR .0 on flannel.1), gateway (.1 on cni0).</summary>
public sealed record PeerProbe(PeerNode Peer, PingResult? Underlay, PingResult? Overlay, PingResult? Gateway);

/// <summary>The facts flannelPort judges.</summary>
public sealed record FlannelFacts(
    string Self,
    FlannelBackend Backend,
    string OverlayDevice,
    IReadOnlyList<PeerProbe> Peers,
    string? SampleNote,
    Gathered<List<LinkInfo>> Links,
    Gathered<Dictionary<string, DeviceCounters>> CountersBefore,
    Gathered<Dictionary<string, DeviceCounters>> CountersAfter,
    Gathered<IptablesSnapshot> Iptables)
{
    /// <summary>Candidate ports tested toward the peers whose overlay fails (empty when none was tested).</summary>
    public IReadOnlyList<UdpPortResult> CandidatePorts { get; init; } = [];
}

/// <summary>
/// flannelPort: the underlay is fine but the VXLAN overlay is dead (seed 000: capture on UDP 8472
/// shows only outgoing packets). Blame: a node that cannot reach any peer over the overlay, or that
/// holds a rule dropping the port, is the suspect; when only some peers fail, those peers are.
/// Every node names the same suspect, so the operator merges the findings by cause.
/// </summary>
public static class FlannelPortCheck
{
    /// <summary>Beyond this many failing peers, one grouped finding instead of one per peer (4 KiB budget).</summary>
    public const int MaxPerPeerFindings = 5;

    public static CheckOutcome Evaluate(FlannelFacts f)
    {
        const string check = CheckNames.FlannelPort;
        var port = f.Backend.Port;
        if (!string.Equals(f.Backend.Type, "vxlan", StringComparison.OrdinalIgnoreCase))
            return CheckOutcome.Pass(check, $"flannel backend is {f.Backend.Type}: no VXLAN port to check");
        if (f.Links.Ok && f.Links.Value!.All(l => l.Name != f.OverlayDevice))
            return CheckOutcome.Unknown(check, "no overlay device", $"no {f.OverlayDevice} device on this node (flannel not running here, or not a flannel VXLAN cluster)");

        var dropRules = f.Iptables.Ok ? PortDropRules(f.Iptables.Value!.Rules, port) : [];
        var counters = CounterEvidence(f);
        var probed = f.Peers.Where(p => p.Underlay is not null && p.Overlay is not null).ToList();
        if (probed.Count == 0)
        {
            if (dropRules.Count > 0) return CheckOutcome.From(check, [DropRuleOnly(f, dropRules, counters)], "");
            return CheckOutcome.Unknown(check, "no peers", f.Peers.Count == 0 ? "no plan: no peers to test the overlay against" : "no peer has an overlay address (podCIDR) in the plan");
        }

        var underlayDown = probed.Where(p => !p.Underlay!.Ok).ToList();
        var overlayBroken = probed.Where(p => p.Underlay!.Ok && !p.Overlay!.Ok).ToList();
        var testable = probed.Count - underlayDown.Count;
        var matrix = probed.Select(Row).ToList();
        if (f.SampleNote is not null) matrix.Add(f.SampleNote);

        var findings = new List<Finding>();
        if (overlayBroken.Count == 0)
        {
            if (dropRules.Count > 0) findings.Add(DropRuleOnly(f, dropRules, counters));
        }
        else
        {
            // Who is to blame: this node when it holds a dropping rule or fails to every peer it can
            // reach (with at least two such peers, otherwise the pair is ambiguous); else the peers.
            var allFail = overlayBroken.Count == testable;
            var selfSuspect = dropRules.Count > 0 || (allFail && testable >= 2);
            var evidence = new List<string>();
            evidence.AddRange(matrix.Take(20));
            if (matrix.Count > 20) evidence.Add($"... {matrix.Count - 20} more peers");
            evidence.AddRange(counters);
            evidence.AddRange(dropRules.Select(r => $"dropping rule: {r} (`{r.DeleteCommand()}`)"));
            evidence.AddRange(CandidateEvidence(f));
            var failing = string.Join(",", overlayBroken.Select(p => p.Peer.Name));
            var fix = Remedy(port, dropRules, PassingPort(f));
            if (selfSuspect)
            {
                findings.Add(Broken(f, f.Self, $"VXLAN traffic on udp/{port} is blocked at this node ({f.Self}): the overlay to {overlayBroken.Count} of {testable} peers fails while their node IPs answer",
                    evidence, fix, failing));
            }
            else if (allFail)
            {
                // One peer only: either end may block; name the pair in a stable order.
                var pair = string.Join(" and ", new[] { f.Self, overlayBroken[0].Peer.Name }.Order(StringComparer.Ordinal));
                findings.Add(Broken(f, null, $"VXLAN traffic on udp/{port} fails between {pair} while the underlay passes",
                    evidence, fix, failing, cause: $"udp/{port} blocked between {pair}"));
            }
            else if (overlayBroken.Count <= MaxPerPeerFindings)
            {
                // One finding per suspect peer, so every reporter's finding merges under that peer;
                // each carries only its own row, keeping the termination message small.
                foreach (var peer in overlayBroken)
                    findings.Add(Broken(f, peer.Peer.Name, $"VXLAN traffic on udp/{port} to {peer.Peer.Name} fails while its node IP answers and other peers' overlays work: {peer.Peer.Name} likely blocks the port",
                        [Row(peer), .. counters, .. dropRules.Select(r => $"dropping rule: {r}")], fix, failing));
            }
            else
            {
                findings.Add(Broken(f, null, $"VXLAN traffic on udp/{port} fails from {f.Self} to {overlayBroken.Count} of {testable} peers while their node IPs answer",
                    evidence, fix, failing, cause: $"udp/{port} blocked toward {overlayBroken.Count} peers from {f.Self}"));
            }
        }
        if (underlayDown.Count > 0)
            findings.Add(new Finding
            {
                Check = check, Severity = Severity.Unknown, Cause = "peers unreachable on the underlay",
                Message = $"{underlayDown.Count} peer(s) do not answer on their node IP, so their overlay cannot be judged: {string.Join(", ", underlayDown.Select(p => p.Peer.Name).Take(10))}",
                Evidence = underlayDown.Take(10).Select(Row).ToList(),
                Remediation = "Check the node network (link, routes, a firewall dropping ICMP) between these nodes first.",
            });
        return CheckOutcome.From(check, findings, $"overlay to {probed.Count - underlayDown.Count} peer(s) works over udp/{port}");
    }

    private static Finding Broken(FlannelFacts f, string? suspect, string message, List<string> evidence, string fix, string failing, string? cause = null) => new()
    {
        Check = CheckNames.FlannelPort,
        Severity = Severity.Critical,
        Cause = cause ?? $"udp/{f.Backend.Port} blocked at {suspect}",
        Message = message,
        Evidence = evidence,
        Remediation = fix,
        AutoAction = ActionNames.PatchFlannelBackend,
        Data = FlannelData(f, failing, suspect),
    };

    /// <summary>What patchFlannelBackend needs (FindingDataKeys), plus who failed and who is blamed.</summary>
    private static Dictionary<string, string> FlannelData(FlannelFacts f, string failing, string? suspect)
    {
        var data = new Dictionary<string, string>
        {
            [FindingDataKeys.BackendPort] = f.Backend.Port.ToString(),
            ["failingPeers"] = failing,
            ["suspectNode"] = suspect ?? "",
            ["reporter"] = f.Self,
        };
        if (PassingPort(f) is { } passing) data[FindingDataKeys.PassingPort] = passing.ToString();
        if (SameL2Segment(f) is { } same) data[FindingDataKeys.SameL2Segment] = same ? "true" : "false";
        return data;
    }

    /// <summary>The first candidate port that got through to every peer it was tried on.</summary>
    public static int? PassingPort(FlannelFacts f) =>
        f.CandidatePorts.GroupBy(r => r.Port).OrderBy(g => g.Key)
            .FirstOrDefault(g => g.All(r => r.Passed))?.Key;

    /// <summary>Whether every peer's node IP is inside a subnet connected to this node (host-gw would work), or null when unknown.</summary>
    public static bool? SameL2Segment(FlannelFacts f)
    {
        if (!f.Links.Ok || f.Peers.Count == 0) return null;
        var connected = f.Links.Value!.Where(l => l.Name != "lo").SelectMany(l => l.Prefixes).ToList();
        if (connected.Count == 0) return null;
        return f.Peers.All(p => connected.Any(c => Cidr.TryParse(c, out _, out var len) && len < 32 && Cidr.Overlaps(c, p.Peer.NodeIp + "/32")));
    }

    private static Finding DropRuleOnly(FlannelFacts f, List<IptablesRule> rules, List<string> counters) => new()
    {
        Check = CheckNames.FlannelPort,
        Severity = Severity.Warning,
        Cause = $"udp/{f.Backend.Port} drop rule at {f.Self}",
        Message = $"An iptables rule on this node drops or rejects the VXLAN port udp/{f.Backend.Port}; the overlay may fail for the traffic it matches",
        Evidence = [.. rules.Select(r => $"{r} (`{r.DeleteCommand()}`)"), .. counters],
        Remediation = Remedy(f.Backend.Port, rules, null),
        Data = new() { [FindingDataKeys.BackendPort] = f.Backend.Port.ToString(), ["suspectNode"] = f.Self },
    };

    private static IEnumerable<string> CandidateEvidence(FlannelFacts f) =>
        f.CandidatePorts.GroupBy(r => r.Port).OrderBy(g => g.Key).Select(g =>
            g.All(r => r.Passed)
                ? $"candidate udp/{g.Key} gets through to {string.Join(", ", g.Select(r => r.Target))}"
                : $"candidate udp/{g.Key} blocked toward {string.Join(", ", g.Where(r => !r.Passed).Select(r => r.Target))}");

    private static string Remedy(int port, List<IptablesRule> rules, int? passing)
    {
        var delete = rules.Count > 0 ? $"Remove the dropping rule: `{rules[0].DeleteCommand()}`. " : "";
        return delete +
               $"If something outside the node blocks udp/{port} (a security agent, a network ACL), move flannel to a port that passes: " +
               $"`kubectl -n kube-flannel edit cm kube-flannel-cfg` (kube-system on older installs) and set net-conf.json Backend.Port ({(passing is { } pp ? $"{pp} passed the probe's test" : "e.g. 8475")}), " +
               "then restart the flannel pods (`kubectl -n kube-flannel delete pod -l app=flannel`). " +
               "If all nodes share one L2 segment, Backend.Type host-gw avoids encapsulation altogether.";
    }

    /// <summary>DROP/REJECT rules that match the VXLAN UDP port, in any chain of filter, raw or mangle.</summary>
    public static List<IptablesRule> PortDropRules(IptablesRuleset rules, int port) =>
        rules.Rules.Where(r => r.IsBlocking
                               && r.Table is "filter" or "raw" or "mangle"
                               && r.Protocol is null or "udp" or "17"
                               && r.MatchesDestinationPort(port)).ToList();

    private static string Row(PeerProbe p) =>
        $"{p.Peer.Name}: underlay {p.Peer.NodeIp} {State(p.Underlay)}, overlay {p.Overlay?.Target ?? "?"} {State(p.Overlay)}";

    internal static string State(PingResult? r) =>
        r is null ? "not tested" : r.Ok ? $"ok ({r.RttMs:0.#} ms)" : $"FAIL ({r.Detail})";

    private static List<string> CounterEvidence(FlannelFacts f)
    {
        var dev = f.OverlayDevice;
        if (!f.CountersBefore.Ok || !f.CountersAfter.Ok) return [$"{dev} counters not readable: {f.CountersBefore.Error ?? f.CountersAfter.Error}"];
        if (!f.CountersBefore.Value!.TryGetValue(dev, out var a) || !f.CountersAfter.Value!.TryGetValue(dev, out var b))
            return [$"{dev} has no counters in /proc/net/dev"];
        var tx = b.TxPackets - a.TxPackets;
        var rx = b.RxPackets - a.RxPackets;
        var line = $"{dev} during the pings: TX +{tx} packets, RX +{rx} packets (totals TX {b.TxPackets}, RX {b.RxPackets}, RX dropped {b.RxDropped})";
        if (tx > 0 && rx == 0) line += ": sending but receiving nothing, the seed 000 signature";
        return [line];
    }
}

/// <summary>
/// podCidrReachability: seed 000's first test, ping every peer's podCIDR gateway (.1). One node
/// down from everyone points at that node; everything down from one node points at the prober.
/// </summary>
public static class PodCidrReachabilityCheck
{
    public static CheckOutcome Evaluate(string self, IReadOnlyList<PeerProbe> peers, string? sampleNote)
    {
        const string check = CheckNames.PodCidrReachability;
        var probed = peers.Where(p => p.Gateway is not null).ToList();
        if (probed.Count == 0)
            return CheckOutcome.Unknown(check, "no peers", peers.Count == 0 ? "no plan: no peers to test" : "no peer has a podCIDR in the plan");
        var down = probed.Where(p => !p.Gateway!.Ok).ToList();
        var matrix = probed.Select(p => Cell(self, p)).ToList();
        if (sampleNote is not null) matrix.Add(sampleNote);
        if (down.Count == 0) return CheckOutcome.Pass(check, $"{probed.Count}/{probed.Count} peer pod networks reachable");

        var remedy = "Run the flannelPort, ipForward and firewall checks on the nodes named; " +
                     "compare `ping <peer podCIDR>.1` with `ping <peer node IP>` and look at `ip -s link show flannel.1` on both ends.";
        var findings = new List<Finding>();
        if (down.Count == probed.Count && probed.Count >= 2)
        {
            findings.Add(new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = $"pod networks unreachable from {self}",
                Message = $"No peer's pod network answers from {self} ({down.Count} of {probed.Count}): the fault is most likely on {self}",
                Evidence = Cap(matrix), Remediation = remedy,
                Data = new() { ["suspectNode"] = self, ["downPeers"] = string.Join(",", down.Select(p => p.Peer.Name)) },
            });
        }
        else if (down.Count <= FlannelPortCheck.MaxPerPeerFindings)
        {
            // One finding per peer so reports from every node merge under the peer that is down;
            // each carries only its own matrix cell.
            foreach (var p in down)
                findings.Add(new Finding
                {
                    Check = check, Severity = Severity.Critical, Cause = $"pod network of {p.Peer.Name} unreachable",
                    Message = $"The pod network of {p.Peer.Name} ({p.Peer.PodCidr}) does not answer from {self}" +
                              (p.Underlay is { Ok: true } ? " although its node IP does" : ""),
                    Evidence = [Cell(self, p)], Remediation = remedy,
                    Data = new() { ["suspectNode"] = p.Peer.Name, ["reporter"] = self },
                });
        }
        else
        {
            findings.Add(new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = $"pod networks of {down.Count} peers unreachable from {self}",
                Message = $"{down.Count} of {probed.Count} peers' pod networks do not answer from {self}",
                Evidence = Cap(matrix.Where(m => m.Contains("FAIL")).ToList()), Remediation = remedy,
                Data = new() { ["downPeers"] = string.Join(",", down.Select(p => p.Peer.Name)), ["reporter"] = self },
            });
        }
        return CheckOutcome.From(check, findings, "");
    }

    private static string Cell(string self, PeerProbe p) =>
        $"{self} -> {p.Peer.Name} gateway {p.Gateway!.Target}: {FlannelPortCheck.State(p.Gateway)}; node IP {p.Peer.NodeIp}: {FlannelPortCheck.State(p.Underlay)}";

    private static List<string> Cap(List<string> lines) =>
        lines.Count <= 25 ? lines : [.. lines.Take(25), $"... {lines.Count - 25} more peers"];
}
