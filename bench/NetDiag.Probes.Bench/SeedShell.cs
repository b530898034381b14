namespace NetDiag.Probes.Bench;

/// <summary>
/// The same node diagnosis done the seeds' way: seed 000's commands, scripted as a person would
/// run them one after another on the node (ping each podCIDR gateway with -c2 -W1, curl CoreDNS
/// metrics, nslookup, ip -s link, iptables-save | grep, resolv.conf, sysctl, conntrack, ps).
/// </summary>
public static class SeedShell
{
    public static string Script(IEnumerable<string> peerGateways, IEnumerable<string> coreDnsIps, string hostRoot)
    {
        var gw = string.Join(' ', peerGateways);
        var dns = string.Join(' ', coreDnsIps);
        return $$"""
            for ip in {{gw}}; do ping -c2 -W1 -q $ip >/dev/null 2>&1 && echo "$ip up" || echo "$ip down"; done
            for ip in {{dns}}; do busybox wget -q -T 2 -O /dev/null http://$ip:9153/metrics && echo "$ip metrics 200" || echo "$ip metrics fail"; done
            for ip in {{dns}}; do timeout 3 busybox nslookup -type=a kubernetes.default.svc.cluster.local $ip >/dev/null 2>&1 && echo "$ip dns ok" || echo "$ip dns fail"; done
            ip -s link show flannel.1
            iptables-save | grep -E '^:' | grep -vE 'KUBE|CNI|DOCKER|FLANNEL' 
            iptables-save | grep -E 'FORWARD.*(REJECT|DROP)'
            cat {{hostRoot}}/etc/resolv.conf
            grep -h resolvConf {{hostRoot}}/var/lib/kubelet/config.yaml
            sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables
            cat /proc/sys/net/netfilter/nf_conntrack_count /proc/sys/net/netfilter/nf_conntrack_max
            ps -eo pid,comm | grep -E 'qaxsafed|sangfor_watchdog|YDservice|rtvscand|smcd|start360su_safed|gov_defence|wsssr_defence|kesl' || true
            ip -d link show flannel.1 | grep -o 'mtu [0-9]*'; ip link show eth0 | grep -o 'mtu [0-9]*'
            true
            """;
    }
}
