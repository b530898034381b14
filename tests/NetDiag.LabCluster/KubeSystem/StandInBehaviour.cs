using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace NetDiag.LabCluster.KubeSystem;

/// <summary>What flannel reads from net-conf.json.</summary>
public sealed record NetConf(string Network, string BackendType, int Port);

/// <summary>
/// How the kube-system stand-ins behave, decided from the same inputs the real components read
/// (pure): flannel from net-conf.json, CoreDNS from its Corefile and the resolv.conf the kubelet
/// hands a <c>dnsPolicy: Default</c> pod. That is what makes remediation real in the lab: patch the
/// Corefile or the kubelet's resolvConf, restart the pods, and the stand-ins come up healthy.
/// </summary>
public static partial class StandInBehaviour
{
    /// <summary>The line CoreDNS's loop plugin logs before it exits (seeds 001 §7, 002).</summary>
    public const string LoopLogLine =
        "[FATAL] plugin/loop: Loop (127.0.0.1:44222 -> :53) detected for zone \".\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO 4547991504243258144.3688648895315093531.\"";

    /// <summary>What CoreDNS 1.7.0 prints when it starts.</summary>
    public static string CoreDnsStartLog(string corefile) =>
        ".:53\n" +
        $"[INFO] plugin/reload: Running configuration MD5 = {Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(corefile)))}\n" +
        "CoreDNS-1.7.0\nlinux/amd64, go1.14.4, f59c03d\n";

    /// <summary>Parses net-conf.json as flanneld does; false with flannel's own words on bad input.</summary>
    public static bool TryParseNetConf(string? json, out NetConf? conf, out string error)
    {
        conf = null;
        if (string.IsNullOrWhiteSpace(json)) { error = "failed to read net conf: net-conf.json is empty"; return false; }
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { error = "error parsing subnet config: not a JSON object"; return false; }
            if (!root.TryGetProperty("Network", out var n) || n.ValueKind != JsonValueKind.String || !Faults.PodCidrOverlapFault.TryParse(n.GetString()!, out _, out _))
            {
                error = "error parsing subnet config: Network must be an IPv4 CIDR";
                return false;
            }
            var type = "udp";
            var port = 8472;
            if (root.TryGetProperty("Backend", out var b) && b.ValueKind == JsonValueKind.Object)
            {
                if (b.TryGetProperty("Type", out var t) && t.ValueKind == JsonValueKind.String) type = t.GetString()!;
                if (b.TryGetProperty("Port", out var p))
                {
                    if (p.ValueKind != JsonValueKind.Number || !p.TryGetInt32(out port) || port is < 1 or > 65535)
                    {
                        error = "error decoding VXLAN backend config: Port must be 1..65535";
                        return false;
                    }
                }
            }
            conf = new NetConf(n.GetString()!, type, port);
            error = "";
            return true;
        }
        catch (JsonException e)
        {
            error = $"error parsing subnet config: {e.Message}";
            return false;
        }
    }

    /// <summary>flanneld's log for a healthy start with this config.</summary>
    public static string FlannelStartLog(NetConf conf, string nodeName, string nodeIp, string podCidr, DateTime now)
    {
        string L(string file, string msg) => $"I{now:MMdd HH:mm:ss.ffffff}       1 {file}] {msg}\n";
        return L("main.go:518", "Determining IP address of default interface")
             + L("main.go:531", $"Using interface with name eth0 and address {nodeIp}")
             + L("main.go:548", $"Defaulting external address to interface address ({nodeIp})")
             + L("kube.go:116", "Waiting 10m0s for node controller to sync")
             + L("kube.go:299", "Starting kube subnet manager")
             + L("kube.go:123", "Node controller sync successful")
             + L("main.go:254", $"Created subnet manager: Kubernetes Subnet Manager - {nodeName}")
             + L("main.go:257", "Installing signal handlers")
             + L("main.go:392", $"Found network config - Backend type: {conf.BackendType}")
             + L("vxlan.go:123", $"VXLAN config: VNI=1 Port={conf.Port} GBP=false Learning=false DirectRouting=false")
             + L("main.go:357", $"Current network or subnet ({conf.Network}, {podCidr}) is not equal to previous one (0.0.0.0/0, 0.0.0.0/0), trying to recycle old iptables rules")
             + L("main.go:307", "Setting up masking rules")
             + L("main.go:315", "Changing default FORWARD chain policy to ACCEPT")
             + L("main.go:323", "Wrote subnet file to /run/flannel/subnet.env")
             + L("main.go:327", "Running backend.")
             + L("vxlan_network.go:59", "watching for new subnet leases");
    }

    /// <summary>flanneld's fatal log line for a config it cannot use.</summary>
    public static string FlannelFatalLog(string error, DateTime now) =>
        $"E{now:MMdd HH:mm:ss.ffffff}       1 main.go:289] Error registering network: {error}\n" +
        $"I{now:MMdd HH:mm:ss.ffffff}       1 main.go:371] Stopping shutdownHandler...\n";

    /// <summary>
    /// Whether CoreDNS on a node detects a forwarding loop: its Corefile forwards to
    /// <c>/etc/resolv.conf</c> (the pod's, which for dnsPolicy Default is the file the kubelet's
    /// resolvConf names on the node) and that file names a loopback server, so CoreDNS queries
    /// itself. Forwarding to explicit non-loopback upstreams never loops.
    /// </summary>
    /// <param name="kubeletConfigYaml">/var/lib/kubelet/config.yaml of the node, or null.</param>
    /// <param name="readHostFile">Reads an absolute path of the node's filesystem; null when absent.</param>
    public static bool CoreDnsLoops(string corefile, string? kubeletConfigYaml, Func<string, string?> readHostFile, out string evidence)
    {
        evidence = "";
        var targets = ForwardTargets(corefile);
        if (targets.Count == 0) return false;
        var servers = new List<string>();
        foreach (var target in targets)
        {
            if (target.StartsWith('/'))
            {
                // /etc/resolv.conf inside a dnsPolicy: Default pod is the kubelet's resolvConf file
                var file = target == "/etc/resolv.conf" ? KubeletResolvConf(kubeletConfigYaml) : target;
                servers.AddRange(Nameservers(readHostFile(file) ?? ""));
            }
            else
            {
                servers.Add(target.Split(':')[0].Replace("dns://", ""));
            }
        }
        var loopback = servers.FirstOrDefault(IsLoopback);
        if (loopback is null) return false;
        evidence = $"forward . {string.Join(' ', targets)} reaches {loopback}";
        return true;
    }

    /// <summary>The kubelet's resolvConf setting (default /etc/resolv.conf).</summary>
    public static string KubeletResolvConf(string? kubeletConfigYaml)
    {
        if (kubeletConfigYaml is not null)
        {
            var m = ResolvConfSetting().Match(kubeletConfigYaml);
            if (m.Success) return m.Groups[1].Value.Trim().Trim('"', '\'');
        }
        return "/etc/resolv.conf";
    }

    /// <summary>The targets of the server block's <c>forward .</c> line.</summary>
    public static IReadOnlyList<string> ForwardTargets(string corefile)
    {
        foreach (var raw in corefile.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            var parts = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 3 && parts[0] == "forward" && parts[1] == ".")
                return parts.Skip(2).TakeWhile(p => p != "{").ToList();
        }
        return [];
    }

    public static IEnumerable<string> Nameservers(string resolvConf) =>
        resolvConf.Split('\n')
            .Select(l => l.Split('#')[0].Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length >= 2 && p[0] == "nameserver")
            .Select(p => p[1]);

    private static bool IsLoopback(string server) => IPAddress.TryParse(server, out var ip) && IPAddress.IsLoopback(ip);

    [GeneratedRegex(@"(?m)^resolvConf:\s*(\S+)\s*$")]
    private static partial Regex ResolvConfSetting();
}
