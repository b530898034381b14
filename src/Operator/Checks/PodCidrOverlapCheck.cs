using System.Net;
using NetDiag.Entities;
using NetDiag.Operator.Checks.Parsing;
using NetDiag.Operator.Kubernetes;
using static NetDiag.Operator.Checks.FindingFactory;

namespace NetDiag.Operator.Checks;

/// <summary>
/// podCidrOverlap (checks.md): node podCIDRs overlapping each other, a pod network that contains a
/// node's InternalIP (seed 001 §9: "No route to host" between nodes), the pod network overlapping
/// the service range, and a node podCIDR outside the CNI's network. The pod network is flannel's
/// <c>Network</c> (or the controller-manager/kube-proxy cluster CIDR) and, on Calico clusters, every
/// <c>IPPool</c>'s <c>spec.cidr</c>, each compared on its own. All Critical; never automatic.
/// </summary>
public sealed class PodCidrOverlapCheck : IClusterCheck
{
    private const string Check = CheckNames.PodCidrOverlap;
    public string Name => Check;

    /// <summary>Ranges offered as a new pod network, first that overlaps nothing wins (RFC 6598 first: rarely used by LANs).</summary>
    internal static readonly string[] FreeRangeCandidates =
        ["100.64.0.0/10", "172.16.0.0/12", "10.244.0.0/16", "192.168.0.0/16", "10.128.0.0/9", "10.0.0.0/9"];

    public IReadOnlyList<ScopedFinding> Run(ClusterView view)
    {
        var findings = new List<ScopedFinding>();
        var nodeRanges = new List<(string Node, Cidr Cidr)>();
        var nodeIps = new List<(string Node, IPAddress Ip, UInt128 Number)>();
        foreach (var node in view.Nodes)
        {
            var name = node.Metadata.Name;
            foreach (var text in PodFacts.PodCidrs(node))
            {
                if (Cidr.TryParse(text, out var c)) nodeRanges.Add((name, c));
                else findings.Add(new(Make(Check, Severity.Warning, "podCIDR unparsable", $"Node {name} has a podCIDR that is not a CIDR: '{text}'."), name));
            }
            if (PodFacts.InternalIp(node) is { } ipText && IPAddress.TryParse(ipText, out var ip)) nodeIps.Add((name, ip, Cidr.ToNumber(ip)));
        }

        var network = view.PodNetwork;
        var pools = new List<(CalicoIpPool Pool, Cidr Cidr)>();
        foreach (var pool in view.Facts.CalicoIpPools)
        {
            if (Cidr.TryParse(pool.Cidr, out var c)) pools.Add((pool, c));
            else findings.Add(new(Make(Check, Severity.Warning, "IPPool cidr unparsable",
                $"Calico IPPool {pool.Name} has a spec.cidr that is not a CIDR: '{pool.Cidr}'.", [$"ippool {pool.Name} spec.cidr '{pool.Cidr}'"],
                $"kubectl edit ippools.crd.projectcalico.org {pool.Name} and set spec.cidr to a valid range."), Object: PoolObject(pool)));
        }
        // A Calico source that failed for any reason but 404 (no CRD: no Calico): Unknown for this source only.
        if (view.Facts.GatherErrors.TryGetValue(CalicoIpPool.Source, out var poolError))
        {
            findings.Add(new(Unknown(Check, "Calico IPPools unreadable",
                $"Cannot read Calico IPPools ({CalicoIpPool.Group}/{CalicoIpPool.Version} ippools): {poolError}. Node podCIDRs and the other pod network sources were still compared.")));
        }
        if (nodeRanges.Count == 0 && network is null && pools.Count == 0)
        {
            if (poolError is not null) return findings;
            findings.Add(new(Unknown(Check, "no pod CIDRs",
                "No node has spec.podCIDR and no pod network is configured (kube-flannel-cfg, kube-controller-manager --cluster-cidr, kube-proxy clusterCIDR): nothing to compare.")));
            return findings;
        }

        // Only computed when there is something to fix: it scans every range in the cluster.
        var taken = new Lazy<string>(() => FreeRange(view, nodeRanges, nodeIps.Select(n => n.Ip), pools.Select(p => p.Cidr)));
        var lazyRemediation = new Lazy<string>(() => Remediation(view, taken.Value, null));

        // 1. Node podCIDRs overlapping each other: sort by first address and sweep, O(n log n) for 1000s of nodes.
        var sorted = nodeRanges.OrderBy(r => r.Cidr.Family).ThenBy(r => r.Cidr.First).ThenBy(r => r.Node, StringComparer.Ordinal).ToList();
        (string Node, Cidr Cidr)? widest = null;
        foreach (var r in sorted)
        {
            if (widest is { } w && w.Cidr.Family == r.Cidr.Family && r.Cidr.First <= w.Cidr.Last && w.Node != r.Node)
            {
                findings.Add(new(Make(Check, Severity.Critical, "node podCIDRs overlap",
                    $"Nodes {w.Node} and {r.Node} have overlapping pod CIDRs ({w.Cidr} and {r.Cidr}): pods on them get the same addresses.",
                    [$"{w.Node} podCIDR {w.Cidr}", $"{r.Node} podCIDR {r.Cidr}"], lazyRemediation.Value), r.Node));
                findings.Add(new(Make(Check, Severity.Critical, "node podCIDRs overlap",
                    $"Nodes {w.Node} and {r.Node} have overlapping pod CIDRs ({w.Cidr} and {r.Cidr}): pods on them get the same addresses.",
                    [$"{w.Node} podCIDR {w.Cidr}", $"{r.Node} podCIDR {r.Cidr}"], lazyRemediation.Value), w.Node));
            }
            if (widest is null || widest.Value.Cidr.Family != r.Cidr.Family || r.Cidr.Last > widest.Value.Cidr.Last) widest = r;
        }

        // 2. A pod range (the cluster network, or a node's podCIDR) containing a node's InternalIP.
        var index = new RangeIndex(sorted);
        foreach (var (node, ip, number) in nodeIps)
        {
            if (network is { } net && net.Cidr.Contains(ip))
            {
                findings.Add(new(Make(Check, Severity.Critical, "pod network contains node IP",
                    $"The pod network {net.Cidr} contains node {node}'s InternalIP {ip}: traffic to that node is routed into the pod network (\"No route to host\").",
                    [$"pod network {net.Cidr} ({net.Source})", $"{node} InternalIP {ip}"], lazyRemediation.Value), node));
            }
            else
            {
                foreach (var (owner, cidr) in index.Containing(ip.AddressFamily, number))
                {
                    findings.Add(new(Make(Check, Severity.Critical, "podCIDR contains node IP",
                        $"Node {owner}'s podCIDR {cidr} contains node {node}'s InternalIP {ip}.",
                        [$"{owner} podCIDR {cidr}", $"{node} InternalIP {ip}"], lazyRemediation.Value), node));
                }
            }
        }

        // 3. Pod network vs services: the flag when visible, else the kubernetes Service's ClusterIP itself.
        if (network is { } pn)
        {
            if (view.ServiceRange is { } sr && sr.Cidr.Overlaps(pn.Cidr))
            {
                findings.Add(new(Make(Check, Severity.Critical, "pod network overlaps service CIDR",
                    $"The pod network {pn.Cidr} overlaps the service CIDR {sr.Cidr}.",
                    [$"pod network {pn.Cidr} ({pn.Source})", $"service CIDR {sr.Cidr} ({sr.Source})"], lazyRemediation.Value)));
            }
            else if (view.Facts.KubernetesService?.Spec?.ClusterIP is { } sip && IPAddress.TryParse(sip, out var svcIp) && pn.Cidr.Contains(svcIp))
            {
                findings.Add(new(Make(Check, Severity.Critical, "pod network overlaps service CIDR",
                    $"The pod network {pn.Cidr} contains the kubernetes Service ClusterIP {svcIp}, so it overlaps the service CIDR (the range itself was not visible; the ClusterIP proves the overlap).",
                    [$"pod network {pn.Cidr} ({pn.Source})", $"default/kubernetes ClusterIP {svcIp}"], lazyRemediation.Value)));
            }

            // 4. A node's podCIDR outside the configured pod network.
            foreach (var (node, cidr) in nodeRanges.Where(r => r.Cidr.Family == pn.Cidr.Family && !pn.Cidr.Contains(r.Cidr)))
            {
                findings.Add(new(Make(Check, Severity.Critical, "podCIDR outside pod network",
                    $"Node {node}'s podCIDR {cidr} lies outside the pod network {pn.Cidr}: the CNI will not route it.",
                    [$"{node} podCIDR {cidr}", $"pod network {pn.Cidr} ({pn.Source})"], lazyRemediation.Value), node));
            }
        }

        // 5. Calico IPPools, each like the flannel network above (seed 001 §9 is a Calico cluster).
        CalicoFindings(view, findings, pools, nodeRanges, nodeIps, taken);
        return findings;
    }

    private static void CalicoFindings(ClusterView view, List<ScopedFinding> findings, List<(CalicoIpPool Pool, Cidr Cidr)> pools,
        List<(string Node, Cidr Cidr)> nodeRanges, List<(string Node, IPAddress Ip, UInt128 Number)> nodeIps, Lazy<string> freeRange)
    {
        if (pools.Count == 0) return;
        var remediations = new Dictionary<string, string>(StringComparer.Ordinal);
        string Fix(CalicoIpPool p) => remediations.TryGetValue(p.Name, out var r) ? r : remediations[p.Name] = Remediation(view, freeRange.Value, p);
        static string Describe(CalicoIpPool p, Cidr c) => $"Calico IPPool {p.Name} {c}{(p.Disabled ? " (disabled)" : "")}";

        // Disabled pools still count here: pods may hold addresses from them until re-created.
        foreach (var (pool, cidr) in pools)
        {
            foreach (var (node, ip, number) in nodeIps.Where(n => cidr.Contains(n.Ip.AddressFamily, n.Number)))
            {
                findings.Add(new(Make(Check, Severity.Critical, "Calico IPPool contains node IP",
                    $"The Calico IPPool {pool.Name} ({cidr}) contains node {node}'s InternalIP {ip}: traffic to that node is routed into the pod network (\"No route to host\").",
                    [Describe(pool, cidr), $"{node} InternalIP {ip}"], Fix(pool)), node, PoolObject(pool)));
            }
            if (view.ServiceRange is { } sr && sr.Cidr.Overlaps(cidr))
            {
                findings.Add(new(Make(Check, Severity.Critical, "Calico IPPool overlaps service CIDR",
                    $"The Calico IPPool {pool.Name} ({cidr}) overlaps the service CIDR {sr.Cidr}.",
                    [Describe(pool, cidr), $"service CIDR {sr.Cidr} ({sr.Source})"], Fix(pool)), Object: PoolObject(pool)));
            }
            else if (view.Facts.KubernetesService?.Spec?.ClusterIP is { } sip && IPAddress.TryParse(sip, out var svcIp) && cidr.Contains(svcIp))
            {
                findings.Add(new(Make(Check, Severity.Critical, "Calico IPPool overlaps service CIDR",
                    $"The Calico IPPool {pool.Name} ({cidr}) contains the kubernetes Service ClusterIP {svcIp}, so it overlaps the service CIDR (the range itself was not visible; the ClusterIP proves the overlap).",
                    [Describe(pool, cidr), $"default/kubernetes ClusterIP {svcIp}"], Fix(pool)), Object: PoolObject(pool)));
            }
        }

        // A node podCIDR that no enabled pool of its family covers: Calico does not route it.
        var enabled = pools.Where(p => !p.Pool.Disabled).ToList();
        foreach (var (node, cidr) in nodeRanges)
        {
            var sameFamily = enabled.Where(p => p.Cidr.Family == cidr.Family).ToList();
            if (sameFamily.Count == 0 || sameFamily.Any(p => p.Cidr.Contains(cidr))) continue;
            var first = sameFamily[0].Pool;
            findings.Add(new(Make(Check, Severity.Critical, "podCIDR outside Calico IPPools",
                $"Node {node}'s podCIDR {cidr} lies outside every enabled Calico IPPool ({string.Join(", ", sameFamily.Select(p => p.Cidr.Text))}).",
                [$"{node} podCIDR {cidr}", .. sameFamily.Select(p => Describe(p.Pool, p.Cidr))], Fix(first)), node));
        }
    }

    private static string PoolObject(CalicoIpPool pool) => $"{CalicoIpPool.Source}/{pool.Name}";

    /// <summary>The first candidate range that overlaps no node IP, service range, pod network, IPPool or node podCIDR.</summary>
    private static string FreeRange(ClusterView view, List<(string Node, Cidr Cidr)> nodeRanges, IEnumerable<IPAddress> nodeIps, IEnumerable<Cidr> pools)
    {
        var taken = nodeIps.Select(ip => Cidr.Parse(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? $"{ip}/32" : $"{ip}/128")!.Value).ToList();
        if (view.ServiceRange is { } sr) taken.Add(sr.Cidr);
        if (view.Facts.KubernetesService?.Spec?.ClusterIP is { } sip && Cidr.TryParse($"{sip}/32", out var s)) taken.Add(s);
        if (view.PodNetwork is { } pn) taken.Add(pn.Cidr);
        taken.AddRange(pools);
        taken.AddRange(nodeRanges.Select(r => r.Cidr));
        var free = FreeRangeCandidates.Select(c => Cidr.Parse(c)!.Value).FirstOrDefault(c => !taken.Any(t => t.Overlaps(c)));
        return free.Text ?? "<a range that overlaps no node, service or existing pod range>";
    }

    /// <summary>The fix for the detected CNI, or for Calico when a Calico IPPool is the culprit.</summary>
    private static string Remediation(ClusterView view, string range, CalicoIpPool? pool)
    {
        var lines = new List<string>
        {
            $"Pick a pod network that overlaps nothing: {range} is free in this cluster. Never applied automatically.",
        };
        switch (pool is not null ? CniKind.Calico : view.Cni.Kind)
        {
            case CniKind.Calico:
            {
                var name = pool?.Name ?? "default-ipv4-ippool";
                var ns = view.Cni.Kind == CniKind.Calico ? view.Cni.DaemonSet?.Metadata?.NamespaceProperty ?? "kube-system" : "kube-system";
                lines.Add($"Calico: kubectl get ippools.crd.projectcalico.org {name} -o yaml > pool.yaml (or calicoctl get ippool {name} -o yaml); " +
                          $"in pool.yaml set spec.cidr: {range} and drop metadata.resourceVersion and metadata.uid; " +
                          $"kubectl delete ippools.crd.projectcalico.org {name}; kubectl apply -f pool.yaml; " +
                          $"then restart the CNI pods: kubectl -n {ns} rollout restart ds/calico-node, and re-create pods still holding addresses from the old range.");
                if (ns == SystemObjects.CalicoSystem)
                    lines.Add("Calico here is managed by the Tigera operator: change spec.calicoNetwork.ipPools in the Installation resource instead, or the operator puts the old pool back.");
                break;
            }
            default:
                lines.Add($"flannel: kubectl -n {view.Cni.DaemonSet?.Metadata?.NamespaceProperty ?? "kube-system"} edit cm kube-flannel-cfg, set net-conf.json \"Network\": \"{range}\"; " +
                          $"then kubectl -n {view.Cni.DaemonSet?.Metadata?.NamespaceProperty ?? "kube-system"} rollout restart ds/{view.Cni.DaemonSet?.Metadata?.Name ?? "kube-flannel-ds"}");
                break;
        }
        lines.Add("Node podCIDRs are assigned by kube-controller-manager (--cluster-cidr): change it to match, and re-create nodes (kubectl delete node, kubeadm join) whose spec.podCIDR is wrong, since spec.podCIDR cannot be edited.");
        return string.Join("\n", lines);
    }

    /// <summary>
    /// Ranges sorted by first address with a running maximum of last addresses, so "which ranges
    /// contain this address" is a binary search plus a short walk back: O(log n) per node IP
    /// instead of comparing every node IP with every podCIDR on a 1000-node cluster.
    /// </summary>
    private sealed class RangeIndex
    {
        private readonly List<(string Node, Cidr Cidr)> _sorted;
        private readonly UInt128[] _maxLast;

        public RangeIndex(List<(string Node, Cidr Cidr)> sortedByFamilyThenFirst)
        {
            _sorted = sortedByFamilyThenFirst;
            _maxLast = new UInt128[_sorted.Count];
            for (var i = 0; i < _sorted.Count; i++)
            {
                var sameFamily = i > 0 && _sorted[i - 1].Cidr.Family == _sorted[i].Cidr.Family;
                _maxLast[i] = sameFamily && _maxLast[i - 1] > _sorted[i].Cidr.Last ? _maxLast[i - 1] : _sorted[i].Cidr.Last;
            }
        }

        public IEnumerable<(string Node, Cidr Cidr)> Containing(System.Net.Sockets.AddressFamily family, UInt128 address)
        {
            // Last index whose (family, first) <= (family, address).
            int lo = 0, hi = _sorted.Count - 1, at = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                var c = _sorted[mid].Cidr;
                if (c.Family < family || (c.Family == family && c.First <= address)) { at = mid; lo = mid + 1; }
                else hi = mid - 1;
            }
            for (var i = at; i >= 0 && _sorted[i].Cidr.Family == family && _maxLast[i] >= address; i--)
                if (_sorted[i].Cidr.Contains(family, address)) yield return _sorted[i];
        }
    }
}
