using System.Globalization;
using System.Net;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;

namespace NetDiag.Operator.Remediation;

/// <summary>
/// One auto action as it would be done: which action, on what, described for a person, and the
/// parameters the executor needs. <see cref="Impossible"/> says why it cannot be done at all (no
/// passing port known, no upstream known), independent of any guard rail.
/// </summary>
public sealed record PlannedAction
{
    public required string Action { get; init; }

    /// <summary>What it acts on: <c>kube-system/configmap/coredns</c>, <c>node/n1</c>.</summary>
    public required string Target { get; init; }

    /// <summary>What it would do, as a clause: "patch kube-flannel-cfg net-conf.json Backend.Port 8472→8475 and restart the flannel pods".</summary>
    public required string Description { get; init; }

    /// <summary>The findings it targets (<c>check/cause</c>).</summary>
    public IReadOnlyList<string> FindingKeys { get; init; } = [];

    /// <summary>The checks to re-run after it to verify the fix.</summary>
    public IReadOnlyList<string> Checks { get; init; } = [];

    public string? Node { get; init; }
    public int? Port { get; init; }
    public bool HostGw { get; init; }
    public IReadOnlyList<string> Upstreams { get; init; } = [];
    public long? ConntrackTarget { get; init; }
    public string? PreviousValue { get; init; }

    /// <summary>Namespace of kube-flannel-cfg when a check reported it; else the executor looks in kube-flannel, then kube-system.</summary>
    public string? FlannelNamespace { get; init; }

    /// <summary>An action that must be applied first (restartCoreDNS after patchCorefileForward for a loop).</summary>
    public string? DependsOn { get; init; }

    public string? Impossible { get; init; }
}

/// <summary>
/// Turns findings into the auto actions that would fix them, pure. Only Critical and Warning
/// findings that name an auto action count (Unknown means the check could not run: nothing to fix
/// yet). Actions are merged per target, so two findings that both want CoreDNS restarted restart it
/// once, and node actions become one Job per node.
/// <list type="bullet">
/// <item>patchFlannelBackend: the passing port the probe found, else host-gw if every node shares
/// one L2 segment, else impossible. Port first: it is the smaller change (same backend, same
/// routes), and host-gw silently breaks if the L2 assumption is wrong.</item>
/// <item>patchCorefileForward for a loop is followed by restartCoreDNS, so CoreDNS stops
/// crash-looping at once instead of waiting for its reload plugin.</item>
/// <item>raiseConntrackMax doubles each node's current maximum, capped at <see cref="ConntrackCap"/>.</item>
/// </list>
/// </summary>
public static class RemediationPlanner
{
    /// <summary>Never raise nf_conntrack_max beyond this (about 1.3 GiB of kernel memory at ~320 bytes an entry).</summary>
    public const long ConntrackCap = 4_194_304;

    public static IReadOnlyList<PlannedAction> Plan(IReadOnlyList<ActionableFinding> findings, NetworkDiagnosisSpec spec)
    {
        var planned = new List<PlannedAction>();
        foreach (var finding in findings)
        {
            if (finding.Severity is not (Severity.Critical or Severity.Warning) || string.IsNullOrEmpty(finding.AutoAction))
                continue;
            foreach (var action in ActionsFor(finding, spec))
                Add(planned, action);
        }

        return planned;
    }

    private static IEnumerable<PlannedAction> ActionsFor(ActionableFinding f, NetworkDiagnosisSpec spec)
    {
        var keys = new[] { f.Key };
        var checks = new[] { f.Check };
        switch (f.AutoAction)
        {
            case ActionNames.PatchFlannelBackend:
                yield return FlannelBackend(f) with { FindingKeys = keys, Checks = checks };
                break;
            case ActionNames.PatchCorefileForward:
                var corefile = CorefileForward(f, spec) with { FindingKeys = keys, Checks = checks };
                yield return corefile;
                yield return RestartCoreDns() with { FindingKeys = keys, Checks = checks, DependsOn = ActionNames.PatchCorefileForward };
                break;
            case ActionNames.RestartCoreDns:
                yield return RestartCoreDns() with { FindingKeys = keys, Checks = checks };
                break;
            case ActionNames.EnableIpForward or ActionNames.EnableBridgeNetfilter or ActionNames.RaiseConntrackMax:
                if (f.Nodes.Count == 0)
                {
                    yield return new PlannedAction
                    {
                        Action = f.AutoAction!, Target = "node/?", Description = $"{f.AutoAction} on the affected nodes",
                        FindingKeys = keys, Checks = checks, Impossible = "the finding names no node to run the fix on",
                    };
                    break;
                }

                foreach (var node in f.Nodes)
                    yield return NodeAction(f, node) with { FindingKeys = keys, Checks = checks };
                break;
            default:
                yield return new PlannedAction
                {
                    Action = f.AutoAction!, Target = f.Check, Description = f.AutoAction!,
                    FindingKeys = keys, Checks = checks, Impossible = $"\"{f.AutoAction}\" is not an auto action this operator knows",
                };
                break;
        }
    }

    private static PlannedAction FlannelBackend(ActionableFinding f)
    {
        var ns = f.Data.GetValueOrDefault(FindingDataKeys.FlannelNamespace);
        var target = ns is { Length: > 0 } ? $"{ns}/configmap/kube-flannel-cfg" : "configmap/kube-flannel-cfg";
        var current = int.TryParse(f.Data.GetValueOrDefault(FindingDataKeys.BackendPort), NumberStyles.None, CultureInfo.InvariantCulture, out var c)
            ? c : FlannelNetConfPatch.DefaultVxlanPort;
        var sameL2 = string.Equals(f.Data.GetValueOrDefault(FindingDataKeys.SameL2Segment), "true", StringComparison.OrdinalIgnoreCase);

        if (int.TryParse(f.Data.GetValueOrDefault(FindingDataKeys.PassingPort), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536)
        {
            return new PlannedAction
            {
                Action = ActionNames.PatchFlannelBackend, Target = target, Port = port, FlannelNamespace = ns,
                PreviousValue = current.ToString(CultureInfo.InvariantCulture),
                Description = $"patch kube-flannel-cfg net-conf.json Backend.Port {current}→{port} and restart the flannel pods",
            };
        }

        if (sameL2)
        {
            return new PlannedAction
            {
                Action = ActionNames.PatchFlannelBackend, Target = target, HostGw = true, FlannelNamespace = ns,
                Description = "patch kube-flannel-cfg net-conf.json Backend.Type vxlan→host-gw (every node shares one L2 segment) and restart the flannel pods",
            };
        }

        return new PlannedAction
        {
            Action = ActionNames.PatchFlannelBackend, Target = target, FlannelNamespace = ns,
            Description = $"move flannel's VXLAN off port {current}",
            Impossible = $"the probe found no UDP port passing between the nodes (finding data \"{FindingDataKeys.PassingPort}\") and the nodes do not share one L2 segment for host-gw",
        };
    }

    private static PlannedAction CorefileForward(ActionableFinding f, NetworkDiagnosisSpec spec)
    {
        var fromSpec = spec.DnsUpstreams is { Count: > 0 };
        var candidates = fromSpec ? spec.DnsUpstreams!.ToList() : f.AllValues(FindingDataKeys.Upstreams).ToList();
        // The probe's list may hold the very loopback resolver that causes the loop: drop those here;
        // a loopback in spec.dnsUpstreams is refused below, loudly, because the user asked for it.
        if (!fromSpec)
            candidates = candidates.Where(u => !CorefileForwardPatch.IsLocalDestination(u) && IPAddress.TryParse(u, out _)).ToList();
        var problem = CorefileForwardPatch.ValidateUpstreams(candidates, out var clean);
        var source = fromSpec ? "spec.dnsUpstreams" : "the nameservers the probe found";
        return new PlannedAction
        {
            Action = ActionNames.PatchCorefileForward,
            Target = "kube-system/configmap/coredns",
            Upstreams = clean,
            Description = problem is null
                ? $"patch kube-system/coredns Corefile: forward . /etc/resolv.conf → forward . {string.Join(' ', clean)} (from {source})"
                : "patch kube-system/coredns Corefile to forward to real upstreams",
            Impossible = problem,
        };
    }

    private static PlannedAction RestartCoreDns() => new()
    {
        Action = ActionNames.RestartCoreDns,
        Target = "kube-system/deployment/coredns",
        Description = "rollout restart kube-system/deployment coredns",
    };

    private static PlannedAction NodeAction(ActionableFinding f, string node)
    {
        var data = f.NodeData.GetValueOrDefault(node) ?? f.Data;
        var baseAction = new PlannedAction
        {
            Action = f.AutoAction!, Target = $"node/{node}", Node = node, Description = "",
            PreviousValue = data.GetValueOrDefault(FindingDataKeys.Value),
        };
        switch (f.AutoAction)
        {
            case ActionNames.EnableIpForward:
                return baseAction with
                {
                    Description = $"run a Job on node {node} that sets net.ipv4.ip_forward=1 and persists it in {NodeRemediationScripts.IpForwardDropIn}",
                };
            case ActionNames.EnableBridgeNetfilter:
                return baseAction with
                {
                    Description = $"run a Job on node {node} that loads br_netfilter, sets net.bridge.bridge-nf-call-iptables=1 and persists both",
                };
            default:
                if (!long.TryParse(data.GetValueOrDefault(FindingDataKeys.ConntrackMax), NumberStyles.None, CultureInfo.InvariantCulture, out var max) || max <= 0)
                {
                    return baseAction with
                    {
                        Description = $"raise nf_conntrack_max on node {node}",
                        Impossible = $"the probe did not report node {node}'s nf_conntrack_max (finding data \"{FindingDataKeys.ConntrackMax}\")",
                    };
                }

                if (max >= ConntrackCap)
                {
                    return baseAction with
                    {
                        Description = $"raise nf_conntrack_max on node {node}",
                        PreviousValue = max.ToString(CultureInfo.InvariantCulture),
                        Impossible = $"nf_conntrack_max on node {node} is already {max}, at or above the cap of {ConntrackCap}: look for what fills the table instead",
                    };
                }

                var target = Math.Min(max * 2, ConntrackCap);
                return baseAction with
                {
                    ConntrackTarget = target,
                    PreviousValue = max.ToString(CultureInfo.InvariantCulture),
                    Description = $"run a Job on node {node} that raises net.netfilter.nf_conntrack_max {max}→{target} and persists it",
                };
        }
    }

    /// <summary>Adds an action, merging it into an earlier one for the same action and target.</summary>
    private static void Add(List<PlannedAction> planned, PlannedAction action)
    {
        var i = planned.FindIndex(p => p.Action == action.Action && p.Target == action.Target);
        if (i < 0)
        {
            planned.Add(action);
            return;
        }

        var existing = planned[i];
        planned[i] = existing with
        {
            FindingKeys = existing.FindingKeys.Union(action.FindingKeys, StringComparer.Ordinal).ToList(),
            Checks = existing.Checks.Union(action.Checks, StringComparer.Ordinal).ToList(),
            // Wanted on its own by any finding (coreDnsHealth) means it does not hinge on the patch;
            // it still runs after it (the executor orders config patches before restarts).
            DependsOn = existing.DependsOn is null || action.DependsOn is null ? null : existing.DependsOn,
        };
    }
}
