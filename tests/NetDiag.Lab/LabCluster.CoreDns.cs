using System.Collections.Concurrent;

namespace NetDiag.Lab;

public sealed partial class LabCluster
{
    /// <summary>The dnsmasq (port 53) and metrics listener (port 9153) of each CoreDNS pod, by pod namespace.</summary>
    private readonly ConcurrentDictionary<string, (LabProcess? Dns, LabProcess? Metrics)> _coreDns = new();

    /// <summary>
    /// The metrics text served on :9153/metrics, shaped like CoreDNS's Prometheus output so a
    /// probe that checks for "coredns_" sees the real thing.
    /// </summary>
    internal static string MetricsText(string podName) =>
        "# HELP coredns_build_info A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.\n" +
        "# TYPE coredns_build_info gauge\n" +
        "coredns_build_info{goversion=\"go1.21.8\",revision=\"ae2bbc2\",version=\"1.11.3\"} 1\n" +
        "# HELP coredns_dns_requests_total Counter of DNS requests made per zone, protocol and family.\n" +
        "# TYPE coredns_dns_requests_total counter\n" +
        $"coredns_dns_requests_total{{family=\"1\",proto=\"udp\",server=\"dns://:53\",type=\"A\",zone=\".\"}} 42\n" +
        "# HELP coredns_plugin_enabled A metric that indicates whether a plugin is enabled on per server and zone basis.\n" +
        "# TYPE coredns_plugin_enabled gauge\n" +
        "coredns_plugin_enabled{name=\"loop\",server=\"dns://:53\",zone=\".\"} 1\n" +
        $"# lab pod {podName}\n";

    private async Task StartCoreDnsAsync(LabPod pod, CancellationToken ct)
    {
        var dns = await StartDnsmasqAsync(pod, ct);
        var metrics = await StartMetricsAsync(pod, ct);
        _coreDns[pod.NetnsName] = (dns, metrics);
    }

    /// <summary>
    /// dnsmasq as CoreDNS: answers kubernetes.default.svc.cluster.local with the kubernetes
    /// ClusterIP (and kube-dns.kube-system... with the kube-dns ClusterIP) on the pod IP, nothing
    /// upstream (--no-resolv), no /etc/hosts, no config file, in the foreground so the lab owns it.
    /// </summary>
    private async Task<LabProcess> StartDnsmasqAsync(LabPod pod, CancellationToken ct)
    {
        var pidFile = Path.Combine(RunDir, $"{pod.NetnsName}-dnsmasq.pid");
        var p = await pod.StartAsync("dnsmasq",
        [
            "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--log-facility=-",
            $"--listen-address={pod.Ip}", "--bind-interfaces", "--port=53",
            $"--host-record={KubernetesServiceName},{KubernetesServiceIp}",
            $"--host-record=kube-dns.kube-system.svc.cluster.local,{KubeDnsServiceIp}",
            $"--pid-file={pidFile}", "--user=root",
        ], ct);
        await WaitListeningAsync(p, 53, udp: true, ct);
        return p;
    }

    /// <summary>busybox httpd serving a static "metrics" file: GET /metrics → 200 with coredns_ lines.</summary>
    private async Task<LabProcess> StartMetricsAsync(LabPod pod, CancellationToken ct)
    {
        var dir = Path.Combine(WorkDir, "coredns", pod.NetnsName);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "metrics"), MetricsText(pod.Name), ct);
        var p = await pod.StartAsync("busybox", ["httpd", "-f", "-p", $"{pod.Ip}:9153", "-h", dir], ct);
        await WaitListeningAsync(p, 9153, udp: false, ct);
        return p;
    }

    /// <summary>Waits until the process's network namespace has a socket bound on the port
    /// (read from /proc/&lt;pid&gt;/net/{tcp,udp}, which shows the process's own namespace).</summary>
    private static async Task WaitListeningAsync(LabProcess p, int port, bool udp, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        var hexPort = $":{port:X4}";
        while (true)
        {
            try
            {
                var table = await File.ReadAllLinesAsync($"/proc/{p.HostPid}/net/{(udp ? "udp" : "tcp")}", ct);
                // Columns: sl local_address rem_address st ...; TCP LISTEN is st 0A, a bound UDP socket st 07.
                if (table.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    .Any(c => c.Length > 3 && c[1].EndsWith(hexPort, StringComparison.Ordinal) && c[3] == (udp ? "07" : "0A")))
                    return;
            }
            catch (IOException) { }
            if (!p.IsRunning) throw new LabException($"{p.Description} died before listening on {port}: {p.Output}");
            if (DateTime.UtcNow > deadline) throw new LabException($"{p.Description} is not listening on {port} after 20 s: {p.Output}");
            await Task.Delay(20, ct);
        }
    }
}
