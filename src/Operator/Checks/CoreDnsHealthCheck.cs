using NetDiag.Entities;
using NetDiag.Operator.Kubernetes;
using static NetDiag.Operator.Checks.FindingFactory;

namespace NetDiag.Operator.Checks;

/// <summary>
/// coreDnsHealth (checks.md): CoreDNS Pending (seed 002: usually no network plugin installed),
/// CrashLoopBackOff not caused by a forwarding loop (that one is dnsLoop's), and a kube-dns Service
/// without endpoints (from its EndpointSlices where the API serves them and its Endpoints, so the
/// answer is right from 1.20 to clusters that no longer keep Endpoints). Critical; suggest only.
/// </summary>
public sealed class CoreDnsHealthCheck : IClusterCheck
{
    private const string Check = CheckNames.CoreDnsHealth;
    public string Name => Check;

    public IReadOnlyList<ScopedFinding> Run(ClusterView view)
    {
        var findings = new List<ScopedFinding>();
        if (view.Facts.GatherErrors.TryGetValue($"pods/{SystemObjects.KubeSystem}", out var podsError))
        {
            findings.Add(new(Unknown(Check, "pods unreadable", $"Cannot read the pods in kube-system: {podsError}")));
            return findings;
        }
        var pods = view.CoreDnsPods;
        if (pods.Count == 0)
        {
            findings.Add(new(Unknown(Check, "no CoreDNS pods",
                $"No CoreDNS pods found (label {SystemObjects.CoreDnsSelector} in kube-system): cluster DNS cannot be checked.")));
        }

        var pending = pods.Where(PodFacts.IsPending).ToList();
        if (pending.Count > 0)
        {
            var noCni = view.Cni.Kind == CniKind.None;
            var pendingFinding = Make(Check, Severity.Critical, "CoreDNS Pending",
                $"{Count(pending.Count, pods.Count)} CoreDNS {(pending.Count == 1 ? "pod is" : "pods are")} Pending{(noCni ? ": no network plugin (CNI) DaemonSet was found, which is the usual cause" : ": usually no network plugin is installed or ready")}.",
                pending.SelectMany(PodFacts.ConditionEvidence).DefaultIfEmpty($"{PodFacts.Key(pending[0])}: phase Pending"),
                "CoreDNS stays Pending until a network plugin is running (seed 002). Check: kubectl get nodes (NotReady: \"cni config uninitialized\"), " +
                "kubectl -n kube-system get ds, kubectl -n kube-system describe pod " + pending[0].Metadata.Name + ". " +
                "Install or repair the CNI (e.g. kubectl apply -f kube-flannel.yml); CoreDNS schedules once nodes are Ready.");
            foreach (var p in pending) findings.Add(new(pendingFinding, Object: PodFacts.Key(p)));
        }

        foreach (var pod in pods.Where(p => PodFacts.IsCrashLooping(p) && !DnsLoopApiCheck.LoopLogged(view, p)))
        {
            findings.Add(new(Make(Check, Severity.Critical, "CoreDNS CrashLoopBackOff",
                $"CoreDNS pod {pod.Metadata.Name} is in CrashLoopBackOff ({PodFacts.Restarts(pod)} restarts) and its log shows no forwarding loop.",
                new[] { $"{PodFacts.Key(pod)}: restarts {PodFacts.Restarts(pod)}", PodFacts.LastTermination(pod) ?? "" }.Where(s => s.Length > 0),
                $"Read the crash reason: kubectl -n kube-system logs {pod.Metadata.Name} --previous. " +
                "On SELinux hosts with an older Docker, CoreDNS fails to start unless its Deployment sets securityContext.allowPrivilegeEscalation: true " +
                "(kubectl -n kube-system edit deploy coredns), or upgrade Docker. Then kubectl -n kube-system rollout restart deploy/coredns.",
                ActionNames.RestartCoreDns), Object: PodFacts.Key(pod)));
        }

        var dnsEndpoints = KubeDnsEndpoints.From(view.Facts);
        if (view.Facts.GatherErrors.TryGetValue($"services/{SystemObjects.KubeDnsService}", out var svcError))
        {
            findings.Add(new(Unknown(Check, "kube-dns Service unreadable", $"Cannot read Service kube-system/kube-dns: {svcError}")));
        }
        else if (view.Facts.KubeDnsService is null)
        {
            findings.Add(new(Make(Check, Severity.Critical, "kube-dns Service missing",
                "The kube-dns Service is missing from kube-system: pods' /etc/resolv.conf points at a ClusterIP that nothing serves.",
                ["kubectl -n kube-system get svc kube-dns: NotFound"],
                "Re-create it (kubeadm: kubeadm init phase addon coredns) with selector k8s-app=kube-dns and ports 53/UDP, 53/TCP, 9153/TCP."),
                Object: "kube-system/kube-dns"));
        }
        else if (dnsEndpoints is { HasReady: null } unreadable)
        {
            findings.Add(new(Unknown(Check, "kube-dns endpoints unreadable",
                "Cannot tell whether the kube-dns Service has endpoints: neither its EndpointSlices nor its Endpoints could be read.", unreadable.Evidence),
                Object: "kube-system/kube-dns"));
        }
        else if (dnsEndpoints is { HasReady: false } none)
        {
            var svc = view.Facts.KubeDnsService;
            var selector = svc.Spec?.Selector is { Count: > 0 } sel ? string.Join(",", sel.Select(kv => $"{kv.Key}={kv.Value}")) : "(none)";
            var matching = view.Facts.SystemPods.Count(p => p.Metadata?.NamespaceProperty == SystemObjects.KubeSystem &&
                svc.Spec?.Selector is { Count: > 0 } s && s.All(kv => p.Metadata.Labels?.TryGetValue(kv.Key, out var v) == true && v == kv.Value));
            var ready = pods.Count(PodFacts.IsReady);
            var cause = matching == 0 && pods.Count > 0
                ? $"its selector {selector} matches no pod, while the CoreDNS pods carry {SystemObjects.CoreDnsSelector}: fix the selector"
                : ready == 0
                    ? "no CoreDNS pod is Ready: fix CoreDNS first (see the other findings)"
                    : "the Service's ports do not match the pods' ports (53/UDP, 53/TCP): compare them";
            findings.Add(new(Make(Check, Severity.Critical, "kube-dns has no endpoints",
                $"The kube-dns Service has no ready endpoints: {cause}.",
                [$"selector {selector}", $"{matching} pods match the selector, {ready} CoreDNS pods Ready",
                 $"ports {string.Join(", ", svc.Spec?.Ports?.Select(p => $"{p.Port}/{p.Protocol}") ?? [])}", .. none.Evidence],
                $"kubectl -n kube-system get endpoints kube-dns; kubectl -n kube-system get endpointslices -l kubernetes.io/service-name=kube-dns; kubectl -n kube-system get svc kube-dns -o yaml; kubectl -n kube-system get pods -l {SystemObjects.CoreDnsSelector} --show-labels. " +
                $"Then {cause}."), Object: "kube-system/kube-dns"));
        }
        return findings;
    }

    internal static string Count(int part, int total) => part == total ? (total == 1 ? "The" : $"All {total}") : $"{part} of {total}";
}
