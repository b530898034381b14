using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Checks;

/// <summary>The facts for the node half of kubeProxy.</summary>
public sealed record KubeProxyFacts(
    Gathered<List<TcpListener>> Listeners,
    HttpResult? Healthz,
    Gathered<IptablesSnapshot> Iptables,
    Gathered<List<IpvsService>> Ipvs,
    string? Mode,
    string? KubeDnsServiceIp);

/// <summary>kubeProxy, node half (seed 003): listeners on 10249/10256, /healthz, and the Service rules.</summary>
public static class KubeProxyCheck
{
    public const int MetricsPort = 10249;
    public const int HealthzPort = 10256;

    public static CheckOutcome Evaluate(KubeProxyFacts f)
    {
        const string check = CheckNames.KubeProxy;
        var findings = new List<Finding>();
        const string fix = "Look at the kube-proxy pod on this node (`kubectl -n kube-system get pods -l k8s-app=kube-proxy -o wide`, its logs) and restart it " +
                           "(`kubectl -n kube-system delete pod <kube-proxy pod on this node>`); check the kube-proxy ConfigMap (mode, clusterCIDR, kubeconfig.conf).";
        if (!f.Listeners.Ok) return CheckOutcome.Unknown(check, "listeners unreadable", $"cannot read TCP listeners: {f.Listeners.Error}");
        var listeners = f.Listeners.Value!;
        var metrics = listeners.Where(l => l.Port == MetricsPort).ToList();
        var health = listeners.Where(l => l.Port == HealthzPort).ToList();
        var listenLine = $"listeners: {MetricsPort} {(metrics.Count == 0 ? "none" : string.Join(" ", metrics.Distinct()))}, {HealthzPort} {(health.Count == 0 ? "none" : string.Join(" ", health.Distinct()))}";
        if (metrics.Count == 0 && health.Count == 0)
            findings.Add(new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = "kube-proxy not listening",
                Message = $"Nothing listens on {MetricsPort} (metrics) or {HealthzPort} (healthz): kube-proxy is not running on this node",
                Evidence = [listenLine + " (from /proc/net/tcp and tcp6)"], Remediation = fix,
            });
        else if (f.Healthz is { } h && !h.Ok)
            findings.Add(new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = "kube-proxy healthz failing",
                Message = $"kube-proxy's /healthz does not answer 200 ({h.StatusCode?.ToString() ?? h.Error})",
                Evidence = [listenLine, $"GET {h.Url}: {h.StatusCode?.ToString() ?? h.Error}"], Remediation = fix,
            });

        var mode = (f.Mode ?? "").ToLowerInvariant();
        if (mode == "nftables")
        {
            findings.Add(new Finding
            {
                Check = check, Severity = Severity.Unknown, Cause = "nftables mode not checked",
                Message = "kube-proxy runs in nftables mode; its rules are not in iptables and were not checked",
                Evidence = ["see `nft list table ip kube-proxy`"],
            });
        }
        else
        {
            var rulesFinding = mode == "ipvs" ? IpvsRules(f) : IptablesRules(f);
            if (rulesFinding is not null) findings.Add(rulesFinding);
        }
        return CheckOutcome.From(check, findings, $"{listenLine}; healthz {(f.Healthz?.StatusCode?.ToString() ?? "not tested")}; Service rules present");
    }

    private static Finding? IptablesRules(KubeProxyFacts f)
    {
        const string check = CheckNames.KubeProxy;
        const string fix = "kube-proxy programs these rules; restart it on this node and read its log for errors (`kubectl -n kube-system logs <kube-proxy pod>`).";
        if (!f.Iptables.Ok)
        {
            // Without a declared mode, IPVS may still be in use.
            if (string.IsNullOrEmpty(f.Mode) && f.Ipvs.Ok && f.Ipvs.Value!.Count > 0) return IpvsRules(f);
            return new Finding { Check = check, Severity = Severity.Unknown, Cause = "iptables unreadable", Message = $"cannot read iptables rules: {f.Iptables.Error}" };
        }
        var rules = f.Iptables.Value!.Rules;
        if (!rules.HasChain("nat", "KUBE-SERVICES"))
        {
            if (string.IsNullOrEmpty(f.Mode) && f.Ipvs.Ok && f.Ipvs.Value!.Count > 0) return IpvsRules(f);
            return new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = "no KUBE-SERVICES chain",
                Message = "The nat table has no KUBE-SERVICES chain: Service ClusterIPs do not work from this node",
                Evidence = [$"{f.Iptables.Value.Backend} backend: {rules.Rules.Count} rules, no nat :KUBE-SERVICES", f.Iptables.Value.Why],
                Remediation = fix,
            };
        }
        if (f.KubeDnsServiceIp is { } ip)
        {
            var svc = rules.RulesIn("nat", "KUBE-SERVICES");
            var hit = svc.FirstOrDefault(r => r.Destination is { } d && (d == ip || d == ip + "/32"));
            if (hit is null)
                return new Finding
                {
                    Check = check, Severity = Severity.Critical, Cause = "kube-dns ClusterIP not programmed",
                    Message = $"KUBE-SERVICES has no rule for the kube-dns ClusterIP {ip}: Service rules on this node are stale or missing",
                    Evidence = [$"nat KUBE-SERVICES: {svc.Count} rules, none with -d {ip}/32"],
                    Remediation = fix,
                };
        }
        return null;
    }

    private static Finding? IpvsRules(KubeProxyFacts f)
    {
        const string check = CheckNames.KubeProxy;
        if (!f.Ipvs.Ok)
            return new Finding { Check = check, Severity = Severity.Critical, Cause = "no IPVS services", Message = $"kube-proxy is in ipvs mode but IPVS is not readable: {f.Ipvs.Error}", Evidence = ["modprobe ip_vs; ipvsadm -Ln"] };
        var services = f.Ipvs.Value!;
        if (services.Count == 0)
            return new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = "no IPVS services",
                Message = "IPVS has no virtual servers: Service ClusterIPs do not work from this node",
                Evidence = ["/proc/net/ip_vs lists no services"],
                Remediation = "Restart kube-proxy on this node and read its log; check `ipvsadm -Ln`.",
            };
        if (f.KubeDnsServiceIp is { } ip && !services.Any(s => s.Address == ip))
            return new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = "kube-dns ClusterIP not programmed",
                Message = $"IPVS has no virtual server for the kube-dns ClusterIP {ip}",
                Evidence = [$"/proc/net/ip_vs: {services.Count} services, none for {ip}"],
                Remediation = "Restart kube-proxy on this node and read its log; check `ipvsadm -Ln -t " + ip + ":53`.",
            };
        return null;
    }
}

/// <summary>The facts for mtu.</summary>
public sealed record MtuFacts(Gathered<List<LinkInfo>> Links, string OverlayDevice, string? NodeIp, string? DefaultRouteDevice, int OverheadBytes);

/// <summary>mtu: an overlay MTU larger than the underlay allows makes big packets vanish while pings pass.</summary>
public static class MtuCheck
{
    public static CheckOutcome Evaluate(MtuFacts f)
    {
        const string check = CheckNames.Mtu;
        if (!f.Links.Ok) return CheckOutcome.Unknown(check, "links unreadable", $"cannot list network devices: {f.Links.Error}");
        var links = f.Links.Value!;
        var overlay = links.FirstOrDefault(l => l.Name == f.OverlayDevice);
        if (overlay is null) return CheckOutcome.Unknown(check, "no overlay device", $"no {f.OverlayDevice} device on this node");
        // The underlay: the vxlan's own `dev`, else the device holding its local address or the node IP, else the default route's.
        var (underlay, how) =
            overlay.VxlanLink is { } dev && links.FirstOrDefault(l => l.Name == dev) is { } byDev ? (byDev, "vxlan dev") :
            overlay.VxlanLocal is { } local && links.FirstOrDefault(l => l.Addresses.Contains(local)) is { } byLocal ? (byLocal, $"holds vxlan local {local}") :
            f.NodeIp is { } nip && links.FirstOrDefault(l => l.Addresses.Contains(nip)) is { } byIp ? (byIp, $"holds node IP {nip}") :
            f.DefaultRouteDevice is { } d && links.FirstOrDefault(l => l.Name == d) is { } byRoute ? (byRoute, "default route") :
            ((LinkInfo?)null, "");
        if (underlay is null) return CheckOutcome.Unknown(check, "no underlay device", $"cannot tell which device carries {f.OverlayDevice} (no vxlan dev, local address or default route)");
        var overhead = string.Equals(overlay.Kind, "vxlan", StringComparison.OrdinalIgnoreCase) ? f.OverheadBytes : 0;
        var limit = underlay.Mtu - overhead;
        var line = $"{overlay.Name} mtu {overlay.Mtu}{(overlay.Kind is null ? "" : $" ({overlay.Kind})")}; underlay {underlay.Name} mtu {underlay.Mtu} ({how}); encapsulation overhead {overhead} bytes";
        if (overlay.Mtu <= limit) return CheckOutcome.Pass(check, line);
        return CheckOutcome.From(check, [new Finding
        {
            Check = check, Severity = Severity.Warning, Cause = "overlay MTU too large",
            Message = $"{overlay.Name} MTU {overlay.Mtu} exceeds what the underlay {underlay.Name} (MTU {underlay.Mtu}) can carry after {overhead} bytes of encapsulation: large packets vanish while pings pass",
            Evidence = [line, $"largest safe overlay MTU: {limit}"],
            Remediation = $"Set the CNI's MTU to {limit} or less (flannel derives it from the underlay device: check `--iface` and net-conf.json; Calico: `veth_mtu` in calico-config) and restart the CNI pods; " +
                          $"test with `ping -M do -s {limit - 28} <peer pod IP>`.",
            Data = new() { ["overlayMtu"] = overlay.Mtu.ToString(), ["underlayMtu"] = underlay.Mtu.ToString(), ["suggestedMtu"] = limit.ToString() },
        }], "");
    }
}
