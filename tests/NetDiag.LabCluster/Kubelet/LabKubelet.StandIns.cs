using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using NetDiag.LabCluster.KubeSystem;

namespace NetDiag.LabCluster.Kubelet;

/// <summary>
/// The kube-system stand-ins: what runs for a flannel, CoreDNS or kube-proxy pod, decided from
/// the same configuration the real components read (see <see cref="StandInBehaviour"/>).
/// </summary>
public sealed partial class LabKubelet
{
    // ------------------------------------------------------------------ kube-system stand-ins

    private async Task RunFlannelAsync(V1Pod pod, LabNodeInfo node, CancellationToken ct)
    {
        const string container = "kube-flannel";
        var startedAt = DateTime.UtcNow;
        var netConfText = await ReadConfigMapKeyAsync(KubeSystemObjects.FlannelConfigMap, "net-conf.json", ct);
        string? error = null;
        if (!StandInBehaviour.TryParseNetConf(netConfText, out var conf, out var parseError)) error = parseError;
        else if (conf!.BackendType != "vxlan") error = $"backend type \"{conf.BackendType}\" is not available in the NetDiag lab (only vxlan)";
        if (error is not null)
        {
            await CrashLoopAsync(pod, node, container, startedAt, StandInBehaviour.FlannelFatalLog(error, DateTime.UtcNow), null, ct);
            return;
        }

        // flanneld (re)configures the vxlan device on start: a new port in net-conf.json takes
        // effect when the flannel pods restart, exactly as on a real cluster.
        await _overlayLock.WaitAsync(ct);
        try
        {
            if (_nodes.VxlanPort != conf!.Port)
            {
                Log($"flannel on {node.Name}: net-conf.json port {conf.Port} differs from the overlay's {_nodes.VxlanPort}; rebuilding flannel.1");
                await _nodes.RebuildOverlayAsync(conf.Port, ct);
            }
        }
        finally
        {
            _overlayLock.Release();
        }
        Logs.Append(pod.Metadata.NamespaceProperty, pod.Metadata.Name, container,
            StandInBehaviour.FlannelStartLog(conf, node.Name, node.NodeIp, node.PodCidrs.FirstOrDefault() ?? "", DateTime.UtcNow));
        await WriteStatusAsync(pod, p => PodStatuses.Running(p, node, node.NodeIp, startedAt), ct);
        await Task.Delay(Timeout.Infinite, ct);
    }

    private async Task RunCoreDnsAsync(V1Pod pod, LabNodeInfo node, CancellationToken ct)
    {
        const string container = "coredns";
        var startedAt = DateTime.UtcNow;
        var instance = _topology.CoreDns.FirstOrDefault(c => c.Node == node.Name);
        if (instance is null)
        {
            await WriteStatusAsync(pod, p => PodStatuses.CannotRun(p, node, DateTime.UtcNow, "ContainerCannotRun",
                $"the NetDiag lab runs no DNS server on {node.Name} (CoreDNS nodes: {string.Join(", ", _topology.CoreDnsNodes)})"), ct);
            return;
        }
        var corefile = await ReadConfigMapKeyAsync(KubeSystemObjects.CoreDnsConfigMap, "Corefile", ct) ?? "";
        var kubeletConfig = ReadHostFile(node, "/var/lib/kubelet/config.yaml");
        var startLog = StandInBehaviour.CoreDnsStartLog(corefile);
        if (StandInBehaviour.CoreDnsLoops(corefile, kubeletConfig, f => ReadHostFile(node, f), out var evidence))
        {
            Log($"CoreDNS {Key(pod)} on {node.Name} loops ({evidence}); crash-looping");
            await CrashLoopAsync(pod, node, container, startedAt, startLog + StandInBehaviour.LoopLogLine + "\n", instance.PodIp, ct);
            return;
        }
        Logs.Append(pod.Metadata.NamespaceProperty, pod.Metadata.Name, container, startLog);
        await WriteStatusAsync(pod, p => PodStatuses.Running(p, node, instance.PodIp, startedAt), ct);
        await Task.Delay(Timeout.Infinite, ct);
    }

    private async Task RunKubeProxyAsync(V1Pod pod, LabNodeInfo node, CancellationToken ct)
    {
        var startedAt = DateTime.UtcNow;
        var t = DateTime.UtcNow;
        // kube-proxy's own listeners, in the node's network namespace: /healthz on 10256 and
        // /metrics on 10249 (busybox httpd serving files shaped like kube-proxy's answers).
        var dir = Path.Combine(_options.WorkDir, "kube-proxy", node.Name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "healthz"), $"{{\"lastUpdated\": \"{t:O}\",\"currentTime\": \"{t:O}\"}}");
        File.WriteAllText(Path.Combine(dir, "metrics"),
            "# HELP kubeproxy_sync_proxy_rules_duration_seconds SyncProxyRules latency in seconds\n" +
            "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n" +
            "kubeproxy_sync_proxy_rules_duration_seconds_count 1\n" +
            $"kubeproxy_sync_proxy_rules_last_timestamp_seconds {new DateTimeOffset(t).ToUnixTimeSeconds()}\n");
        var stops = new List<Func<Task>>();
        try
        {
            foreach (var port in new[] { 10256, 10249 })
                stops.Add(await _nodes.StartInNodeAsync(node.Name, ["busybox", "httpd", "-f", "-p", $"0.0.0.0:{port}", "-h", dir], ct));
            Logs.Append(pod.Metadata.NamespaceProperty, pod.Metadata.Name, "kube-proxy",
                $"I{t:MMdd HH:mm:ss.ffffff}       1 node.go:172] Successfully retrieved node IP: {node.NodeIp}\n" +
                $"I{t:MMdd HH:mm:ss.ffffff}       1 server_others.go:142] kube-proxy node IP is an IPv4 address ({node.NodeIp}), assume IPv4 operation\n" +
                $"I{t:MMdd HH:mm:ss.ffffff}       1 server_others.go:185] Using iptables Proxier.\n" +
                $"I{t:MMdd HH:mm:ss.ffffff}       1 server.go:650] Version: v1.20.2\n" +
                $"I{t:MMdd HH:mm:ss.ffffff}       1 shared_informer.go:247] Caches are synced for service config \n");
            await WriteStatusAsync(pod, p => PodStatuses.Running(p, node, node.NodeIp, startedAt), ct);
            await Task.Delay(Timeout.Infinite, ct);
        }
        finally
        {
            foreach (var stop in stops)
            {
                try { await stop(); } catch (Exception e) { Log($"stopping kube-proxy listener on {node.Name}: {e.Message}"); }
            }
        }
    }

    /// <summary>
    /// A container that exits at once on every start: restart counts grow on the kubelet's
    /// back-off (10 s doubling to 5 min), the status shows waiting/CrashLoopBackOff, and each
    /// run's log becomes the previous log of the next.
    /// </summary>
    private async Task CrashLoopAsync(V1Pod pod, LabNodeInfo node, string container, DateTime startedAt, string runLog, string? podIp, CancellationToken ct)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var name = pod.Metadata.Name;
        var backoff = TimeSpan.FromSeconds(10);
        var restarts = 0;
        Logs.Append(ns, name, container, runLog);
        await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        while (!ct.IsCancellationRequested)
        {
            // Each status shows the run that just died as lastState; its log is what
            // `kubectl logs --previous` returns, and the current log is the newest run's.
            Logs.Restart(ns, name, container);
            Logs.Append(ns, name, container, runLog);
            var runStart = DateTime.UtcNow.AddSeconds(-1);
            restarts++;
            var last = new ContainerOutcome(container, 1, null, runStart, DateTime.UtcNow);
            var count = restarts;
            await WriteStatusAsync(pod, p => PodStatuses.CrashLoop(p, node, podIp ?? node.NodeIp, startedAt, container, count, last), ct);
            if (restarts == 1)
                await EventAsync(pod, "Warning", "BackOff", "Back-off restarting failed container", "kubelet", node.Name);
            await Task.Delay(backoff, ct);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
        }
    }

    private async Task<string?> ReadConfigMapKeyAsync(string name, string key, CancellationToken ct)
    {
        try
        {
            var cm = await _client.CoreV1.ReadNamespacedConfigMapAsync(name, KubeSystemObjects.Namespace, cancellationToken: ct);
            return cm.Data?.TryGetValue(key, out var v) == true ? v : null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static string? ReadHostFile(LabNodeInfo node, string absolutePath)
    {
        try
        {
            var path = Path.Combine(node.HostRoot, absolutePath.TrimStart('/'));
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
