using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Checks;

/// <summary>What the firewall check needs to know about the node's networks.</summary>
/// <param name="PodNetworks">The cluster pod network and the podCIDRs (to tell whether a rule hits pod traffic).</param>
public sealed record FirewallContext(IReadOnlyList<string> PodNetworks, string OverlayDevice, string BridgeDevice);

/// <summary>
/// firewall: a host firewall next to Kubernetes (seed 000): chains that are not Kubernetes' or the
/// CNI's, and a REJECT/DROP in FORWARD placed before the ACCEPT rules that pod traffic needs.
/// </summary>
public static class FirewallCheck
{
    private static readonly string[] FirewallDaemons = ["firewalld", "ufw", "csf", "lfd"];

    public static CheckOutcome Evaluate(Gathered<IptablesSnapshot> iptables, Gathered<List<ProcessInfo>> processes, FirewallContext context)
    {
        const string check = CheckNames.Firewall;
        if (!iptables.Ok) return CheckOutcome.Unknown(check, "iptables unreadable", $"cannot read iptables rules: {iptables.Error}");
        var snap = iptables.Value!;
        var rules = snap.Rules;
        var findings = new List<Finding>();
        var backendNote = $"rules read from the {snap.Backend} backend: {snap.Why}";
        var daemons = (processes.Value ?? [])
            .Where(p => FirewallDaemons.Any(p.Runs))
            .Select(p => $"pid {p.Pid} {p.Comm}: {p.CommandLine}").Take(5).ToList();

        // 1. REJECT/DROP in FORWARD ahead of the ACCEPT rules.
        var forward = rules.RulesIn("filter", "FORWARD");
        foreach (var blocking in forward.Where(r => r.IsBlocking && !IsBenign(r)))
        {
            var laterAccept = forward.FirstOrDefault(r => r.Position > blocking.Position && Accepts(rules, r, 0));
            if (laterAccept is null) continue;
            var hitsPods = MatchesPodTraffic(blocking, context);
            findings.Add(new Finding
            {
                Check = check,
                Severity = hitsPods ? Severity.Critical : Severity.Warning,
                Cause = $"FORWARD {blocking.Target} before ACCEPT",
                Message = $"A {blocking.Target} rule in FORWARD (position {blocking.Position} of {forward.Count}) comes before the ACCEPT rules" +
                          (hitsPods ? ": forwarded pod traffic is refused before Kubernetes and the CNI can accept it" : ""),
                Evidence =
                [
                    $"filter FORWARD #{blocking.Position}/{forward.Count}: {blocking.Text}",
                    $"filter FORWARD #{laterAccept.Position}/{forward.Count}: {laterAccept.Text} (accepts, but is never reached)",
                    backendNote,
                ],
                Remediation = $"Remove the rule: `{blocking.DeleteCommand()}` (and from the firewall's saved configuration, e.g. /etc/sysconfig/iptables), " +
                              "or stop the firewall that adds it: `systemctl stop firewalld && systemctl disable firewalld`. Never automatic.",
                Data = new() { ["table"] = "filter", ["chain"] = "FORWARD", ["position"] = blocking.Position.ToString(), ["rule"] = blocking.Text },
            });
        }

        // 2. Chains that belong to neither Kubernetes nor the CNI.
        var foreign = rules.Chains
            .Where(c => !IptablesNames.IsBuiltin(c.Name) && !IptablesNames.IsKubernetesOrCni(c.Name))
            .GroupBy(c => IptablesNames.GuessOwner(c.Name))
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in foreign)
        {
            var owner = group.Key;
            var evidence = group.OrderBy(c => c.Table, StringComparer.Ordinal).ThenBy(c => c.Name, StringComparer.Ordinal).Take(12)
                .Select(c => $"{c.Table} :{c.Name} ({rules.RulesIn(c.Table, c.Name).Count} rules{ReferencedFrom(rules, c)})").ToList();
            var count = group.Count();
            if (count > 12) evidence.Add($"... and {count - 12} more chains");
            evidence.AddRange(daemons);
            evidence.Add(backendNote);
            findings.Add(new Finding
            {
                Check = check,
                Severity = Severity.Warning,
                Cause = owner == "unknown" ? "foreign iptables chains" : $"{owner} chains",
                Message = owner == "unknown"
                    ? $"{count} iptables chain(s) belong to neither Kubernetes nor the CNI: another firewall manages this node"
                    : $"{owner} manages iptables on this node ({count} chains such as {group.First().Name}); it can block pod and overlay traffic",
                Evidence = evidence,
                Remediation = owner switch
                {
                    "firewalld" => "Stop firewalld (`systemctl stop firewalld && systemctl disable firewalld`) or open what the cluster needs: " +
                                   "`firewall-cmd --permanent --zone=trusted --add-source=<pod network>`, the flannel UDP port and 10250, then `firewall-cmd --reload`.",
                    "ufw" => "Disable ufw (`ufw disable`) or allow the pod network and the flannel UDP port (`ufw allow from <pod network>`, `ufw allow <port>/udp`).",
                    _ => "Find the tool that creates these chains (`iptables-save | grep -n '^:'`) and open the pod network and the overlay port in it.",
                },
                Data = new() { ["owner"] = owner, ["chains"] = string.Join(",", group.Select(c => c.Name).Distinct().Take(20)) },
            });
        }

        // 3. A firewall daemon with no iptables chains (e.g. firewalld on its native nftables backend).
        if (daemons.Count > 0 && !findings.Any(f => f.Cause.EndsWith(" chains", StringComparison.Ordinal)))
        {
            findings.Add(new Finding
            {
                Check = check, Severity = Severity.Warning, Cause = "firewall daemon running",
                Message = "A host firewall daemon is running; its rules may live in nftables, which iptables-save does not show",
                Evidence = [.. daemons, "see `nft list ruleset`", backendNote],
                Remediation = "Check its zones for the pod network and the flannel UDP port, or stop it to confirm (`systemctl stop firewalld`).",
            });
        }
        if (!rules.Complete || rules.Warnings.Count > 0)
        {
            var notes = rules.Warnings.Take(3).ToList();
            if (findings.Count == 0)
                return CheckOutcome.Unknown(check, "iptables dump malformed", $"the iptables dump could not be fully read{(rules.Complete ? "" : " (truncated)")}", notes.ToArray());
        }
        return CheckOutcome.From(check, findings, $"no foreign chains and no REJECT/DROP ahead of ACCEPT in FORWARD ({rules.Rules.Count} rules, {snap.Backend} backend)");
    }

    /// <summary>Rules that drop only broken packets are what kube-proxy itself installs.</summary>
    private static bool IsBenign(IptablesRule r) =>
        r.ConnState is { } s && s.Split(',').All(x => x == "INVALID");

    /// <summary>An ACCEPT, or a jump into a chain that (within a few hops) accepts.</summary>
    private static bool Accepts(IptablesRuleset rules, IptablesRule r, int depth)
    {
        if (r.Target == "ACCEPT") return true;
        if (r.Target is null || depth > 4 || r.Target is "DROP" or "REJECT" or "RETURN" or "LOG" or "MARK") return false;
        return rules.RulesIn(r.Table, r.Target).Any(x => Accepts(rules, x, depth + 1));
    }

    /// <summary>
    /// Whether a rule can hit pod or overlay traffic: no address or interface restriction, or one that
    /// touches the pod network, the overlay device or the CNI bridge. A rule narrowed by other
    /// matches (marks, states) is only a Warning.
    /// </summary>
    internal static bool MatchesPodTraffic(IptablesRule r, FirewallContext context)
    {
        if (r.HasOtherMatches || r.HasNegation) return false;
        if (r.InInterface is { } i && !InterfaceMatches(i, context)) return false;
        if (r.OutInterface is { } o && !InterfaceMatches(o, context)) return false;
        if (r.Source is { } s && !AnyOverlap(s, context)) return false;
        if (r.Destination is { } d && !AnyOverlap(d, context)) return false;
        return true;
    }

    private static bool InterfaceMatches(string pattern, FirewallContext c)
    {
        static bool M(string p, string dev) => p.EndsWith('+') ? dev.StartsWith(p[..^1], StringComparison.Ordinal) : p == dev;
        return M(pattern, c.OverlayDevice) || M(pattern, c.BridgeDevice) || M(pattern, "veth0");
    }

    private static bool AnyOverlap(string cidr, FirewallContext c) =>
        c.PodNetworks.Count == 0 || c.PodNetworks.Any(p => Cidr.Overlaps(cidr, p));

    private static string ReferencedFrom(IptablesRuleset rules, IptablesChain chain)
    {
        var from = rules.Rules.FirstOrDefault(r => r.Table == chain.Table && r.Target == chain.Name);
        return from is null ? "" : $", jumped to from {from.Chain} #{from.Position}";
    }
}
