using System.Text;

namespace NetDiag.Lab;

/// <summary>A pod to build: its name, IP and the cni0-side veth name in the node.</summary>
internal sealed record PodSpec(string Name, string Ip, string NodeVeth, bool IsCoreDns);

/// <summary>
/// The lab topology as text (pure): <c>ip -batch</c>, <c>bridge -batch</c> and
/// <c>iptables-restore</c> inputs. Creation only pipes these into a handful of processes, which is
/// what keeps a 4-node lab at a few seconds.
/// </summary>
internal sealed class TopologyScripts(string lab, LabAddressPlan plan, bool withDns)
{
    private const string DnsPortName = "kube-system/kube-dns:dns";
    private const string DnsTcpPortName = "kube-system/kube-dns:dns-tcp";

    public IEnumerable<int> NodeIndexes => Enumerable.Range(1, plan.NodeCount);

    public IReadOnlyList<PodSpec> Pods(int k)
    {
        var pods = new List<PodSpec> { new(LabNames.WorkloadPod, plan.WorkloadPodIp(k), "veth0", false) };
        if (withDns && plan.CoreDnsNodes.Contains(k))
        {
            var ordinal = plan.CoreDnsNodes.ToList().IndexOf(k) + 1;
            pods.Add(new(LabNames.CoreDnsPod(ordinal), plan.CoreDnsPodIp(k), "veth1", true));
        }
        return pods;
    }

    public IEnumerable<string> CoreDnsPodIps => withDns ? plan.CoreDnsNodes.Select(plan.CoreDnsPodIp) : [];

    /// <summary>Root-level batch: every namespace, and veth pairs created straight into their
    /// namespaces (<c>netns</c> on both ends), so the root namespace never holds a lab device.</summary>
    public string RootBatch()
    {
        var sb = new StringBuilder();
        var underlay = LabNames.Underlay(lab);
        sb.AppendLine($"netns add {underlay}");
        foreach (var k in NodeIndexes)
        {
            sb.AppendLine($"netns add {LabNames.Node(lab, k)}");
            foreach (var pod in Pods(k)) sb.AppendLine($"netns add {LabNames.Pod(lab, k, pod.Name)}");
        }
        foreach (var k in NodeIndexes)
        {
            var node = LabNames.Node(lab, k);
            sb.AppendLine($"link add name eth0 netns {node} mtu {LabAddressPlan.UnderlayMtu} type veth peer name u{k} netns {underlay} mtu {LabAddressPlan.UnderlayMtu}");
            foreach (var pod in Pods(k))
                sb.AppendLine($"link add name eth0 netns {LabNames.Pod(lab, k, pod.Name)} type veth peer name {pod.NodeVeth} netns {node}");
        }
        return sb.ToString();
    }

    /// <summary>The underlay: one bridge, every node's peer veth a port of it.</summary>
    public string UnderlayBatch()
    {
        var sb = new StringBuilder();
        sb.AppendLine("link set lo up");
        sb.AppendLine("link add name br0 type bridge");
        sb.AppendLine($"addr add {plan.UnderlayGatewayIp}/24 dev br0");
        foreach (var k in NodeIndexes) sb.AppendLine($"link set u{k} master br0 up");
        sb.AppendLine("link set br0 up");
        return sb.ToString();
    }

    /// <summary>A node: eth0, cni0 with its pod veths, then the overlay.</summary>
    public string NodeBatch(int k, int vxlanPort)
    {
        var sb = new StringBuilder();
        sb.AppendLine("link set lo up");
        sb.AppendLine($"addr add {plan.NodeIp(k)}/24 dev eth0");
        sb.AppendLine("link set eth0 up");
        // A node has a default route; without one, traffic to ClusterIPs fails routing before the
        // OUTPUT DNAT. The underlay namespace does not forward, so nothing leaves the lab.
        sb.AppendLine($"route add default via {plan.UnderlayGatewayIp}");
        sb.AppendLine("link add name cni0 type bridge");
        sb.AppendLine($"addr add {plan.GatewayIp(k)}/24 dev cni0");
        foreach (var pod in Pods(k)) sb.AppendLine($"link set {pod.NodeVeth} master cni0 up");
        sb.AppendLine("link set cni0 up");
        sb.Append(OverlayBatch(k, vxlanPort));
        return sb.ToString();
    }

    /// <summary>
    /// flannel.1 as flanneld's vxlan backend builds it: the device, the podCIDR .0/32, and per
    /// peer a route via the peer's .0 onlink, a permanent neighbour (peer .0 → peer flannel.1 MAC).
    /// The FDB entries (MAC → peer node IP) come from <see cref="FdbBatch"/> (the bridge tool).
    /// </summary>
    public string OverlayBatch(int k, int vxlanPort)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"link add name flannel.1 address {plan.FlannelMac(k)} mtu {LabAddressPlan.OverlayMtu} type vxlan id 1 dstport {vxlanPort} local {plan.NodeIp(k)} dev eth0 nolearning");
        sb.AppendLine($"addr add {plan.OverlayIp(k)}/32 dev flannel.1");
        sb.AppendLine("link set flannel.1 up");
        foreach (var j in NodeIndexes.Where(j => j != k))
        {
            sb.AppendLine($"route add {plan.PodCidr(j)} via {plan.OverlayIp(j)} dev flannel.1 onlink");
            sb.AppendLine($"neigh add {plan.OverlayIp(j)} lladdr {plan.FlannelMac(j)} dev flannel.1 nud permanent");
        }
        return sb.ToString();
    }

    public string FdbBatch(int k)
    {
        var sb = new StringBuilder();
        foreach (var j in NodeIndexes.Where(j => j != k))
            sb.AppendLine($"fdb append {plan.FlannelMac(j)} dev flannel.1 dst {plan.NodeIp(j)}");
        return sb.ToString();
    }

    public string PodBatch(int k, PodSpec pod)
    {
        var sb = new StringBuilder();
        sb.AppendLine("link set lo up");
        sb.AppendLine($"addr add {pod.Ip}/24 dev eth0");
        sb.AppendLine("link set eth0 up");
        sb.AppendLine($"route add default via {plan.GatewayIp(k)}");
        return sb.ToString();
    }

    /// <summary>
    /// The node's iptables state as kube-proxy (iptables mode) and flanneld leave it: filter
    /// FORWARD hooks KUBE-FORWARD and FLANNEL-FWD; nat KUBE-SERVICES (from PREROUTING and OUTPUT)
    /// DNATs the kube-dns ClusterIP:53 to the CoreDNS pods with the statistic-module spread.
    /// The ctstate rule also switches conntrack on in the namespace (it is lazy per netns).
    /// </summary>
    public string NodeIptables()
    {
        var net = plan.FlannelNetwork;
        var sb = new StringBuilder();
        sb.AppendLine("*filter");
        sb.AppendLine(":INPUT ACCEPT [0:0]");
        sb.AppendLine(":FORWARD ACCEPT [0:0]");
        sb.AppendLine(":OUTPUT ACCEPT [0:0]");
        sb.AppendLine(":KUBE-FORWARD - [0:0]");
        sb.AppendLine(":FLANNEL-FWD - [0:0]");
        sb.AppendLine("-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD");
        sb.AppendLine("-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD");
        sb.AppendLine("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP");
        sb.AppendLine("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
        sb.AppendLine($"-A FLANNEL-FWD -s {net} -m comment --comment \"flanneld forward\" -j ACCEPT");
        sb.AppendLine($"-A FLANNEL-FWD -d {net} -m comment --comment \"flanneld forward\" -j ACCEPT");
        sb.AppendLine("COMMIT");

        sb.AppendLine("*nat");
        sb.AppendLine(":PREROUTING ACCEPT [0:0]");
        sb.AppendLine(":INPUT ACCEPT [0:0]");
        sb.AppendLine(":OUTPUT ACCEPT [0:0]");
        sb.AppendLine(":POSTROUTING ACCEPT [0:0]");
        sb.AppendLine(":KUBE-SERVICES - [0:0]");
        sb.AppendLine(":KUBE-POSTROUTING - [0:0]");
        sb.AppendLine(":KUBE-MARK-MASQ - [0:0]");
        sb.AppendLine(":FLANNEL-POSTRTG - [0:0]");
        var dns = CoreDnsPodIps.ToList();
        var services = new[] { (DnsPortName, "udp"), (DnsTcpPortName, "tcp") };
        if (dns.Count > 0)
        {
            foreach (var (port, proto) in services)
            {
                sb.AppendLine($":{KubeProxyNames.ServiceChain(port, proto)} - [0:0]");
                foreach (var ip in dns) sb.AppendLine($":{KubeProxyNames.EndpointChain(port, proto, $"{ip}:53")} - [0:0]");
            }
        }
        sb.AppendLine("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
        sb.AppendLine("-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
        sb.AppendLine("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING");
        sb.AppendLine("-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG");
        sb.AppendLine("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000");
        sb.AppendLine("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN");
        sb.AppendLine("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0");
        sb.AppendLine("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE");
        sb.AppendLine($"-A FLANNEL-POSTRTG -s {net} -d {net} -m comment --comment \"flanneld masq\" -j RETURN");
        if (dns.Count > 0)
        {
            foreach (var (port, proto) in services)
            {
                var svc = KubeProxyNames.ServiceChain(port, proto);
                var comment = port;
                sb.AppendLine($"-A KUBE-SERVICES -d {plan.KubeDnsServiceIp}/32 -p {proto} -m comment --comment \"{comment} cluster IP\" -m {proto} --dport 53 -j {svc}");
                sb.AppendLine($"-A {svc} ! -s {net} -d {plan.KubeDnsServiceIp}/32 -p {proto} -m comment --comment \"{comment} cluster IP\" -m {proto} --dport 53 -j KUBE-MARK-MASQ");
                for (var i = 0; i < dns.Count; i++)
                {
                    var sep = KubeProxyNames.EndpointChain(port, proto, $"{dns[i]}:53");
                    var remaining = dns.Count - i;
                    var spread = remaining > 1
                        ? $" -m statistic --mode random --probability {1.0 / remaining:0.00000000000}"
                        : "";
                    sb.AppendLine($"-A {svc} -m comment --comment \"{comment} -> {dns[i]}:53\"{spread} -j {sep}");
                    sb.AppendLine($"-A {sep} -s {dns[i]}/32 -m comment --comment \"{comment}\" -j KUBE-MARK-MASQ");
                    sb.AppendLine($"-A {sep} -p {proto} -m comment --comment \"{comment}\" -m {proto} -j DNAT --to-destination {dns[i]}:53");
                }
            }
        }
        sb.AppendLine("COMMIT");
        return sb.ToString();
    }
}
