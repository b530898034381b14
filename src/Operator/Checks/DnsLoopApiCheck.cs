using System.Text.RegularExpressions;
using k8s.Models;
using NetDiag.Entities;
using static NetDiag.Operator.Checks.FindingFactory;

namespace NetDiag.Operator.Checks;

/// <summary>
/// dnsLoop, API half (checks.md): a CoreDNS pod crash-looping whose previous log says
/// <c>Loop (127.0.0.1:44222 -> :53) detected for zone "."</c>. Critical. The node half (a loopback
/// nameserver in the resolv.conf CoreDNS forwards to) runs in the probe.
/// </summary>
public sealed partial class DnsLoopApiCheck : IClusterCheck
{
    private const string Check = CheckNames.DnsLoop;
    public string Name => Check;

    [GeneratedRegex(@"Loop \([^)]*\) detected for zone ""\.""")]
    private static partial Regex LoopLine();

    public IReadOnlyList<ScopedFinding> Run(ClusterView view)
    {
        var findings = new List<ScopedFinding>();
        if (view.CoreDnsPods.Count == 0 && view.Corefile is null)
        {
            findings.Add(new(Unknown(Check, "no CoreDNS",
                "No CoreDNS pods and no coredns ConfigMap found in kube-system: the forwarding loop cannot be checked from the API.")));
            return findings;
        }
        foreach (var pod in view.CoreDnsPods)
        {
            var line = LoopLineOf(view, pod);
            if (line is null) continue;
            var evidence = new List<string> { $"{PodFacts.Key(pod)} previous log: {line}", $"restarts {PodFacts.Restarts(pod)}" };
            if (view.Corefile?.ForwardLine is { } fwd) evidence.Add($"Corefile: {fwd}");
            if (pod.Spec?.NodeName is { } n) evidence.Add($"runs on node {n}");
            findings.Add(new(Make(Check, Severity.Critical, "loop detected",
                $"CoreDNS detected a forwarding loop and is crash-looping: it forwards to a resolver that points back at itself (a loopback nameserver in the node's resolv.conf).",
                evidence, Remediation(view), ActionNames.PatchCorefileForward), pod.Spec?.NodeName, PodFacts.Key(pod)));
        }
        foreach (var (pod, log) in view.Facts.PreviousCoreDnsLogs.Where(kv => kv.Value.StartsWith("error:", StringComparison.Ordinal)))
        {
            findings.Add(new(Unknown(Check, "previous log unreadable",
                $"CoreDNS pod {pod} is crash-looping but its previous log could not be read to look for a loop: {log[6..].Trim()}"), Object: $"kube-system/{pod}"));
        }
        return findings;
    }

    internal static string Remediation(ClusterView view) =>
        "Make CoreDNS forward to a real upstream, not to a loopback resolver (seed 001 §7, seed 002):\n" +
        "1. Point kubelet at the real resolv.conf: in /var/lib/kubelet/config.yaml set resolvConf: /run/systemd/resolve/resolv.conf (systemd-resolved hosts), then systemctl restart kubelet; or\n" +
        $"2. kubectl -n kube-system edit cm coredns and replace '{view.Corefile?.ForwardLine ?? "forward . /etc/resolv.conf"}' with 'forward . <upstream IPs>'; or\n" +
        "3. fix the node's /etc/resolv.conf so that it names no 127.x.x.x or ::1 nameserver.\n" +
        "Then kubectl -n kube-system rollout restart deploy/coredns.";

    /// <summary>Whether this pod's previous log shows the loop (coreDnsHealth leaves such pods to this check).</summary>
    public static bool LoopLogged(ClusterView view, V1Pod pod) => LoopLineOf(view, pod) is not null;

    private static string? LoopLineOf(ClusterView view, V1Pod pod)
    {
        if (!view.Facts.PreviousCoreDnsLogs.TryGetValue(pod.Metadata.Name, out var log)) return null;
        return log.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => LoopLine().IsMatch(l));
    }
}
