using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Checks;

/// <summary>One CoreDNS target tested from this node: the DNS answer and, for pods, the metrics endpoint.</summary>
public sealed record DnsTargetProbe(string Address, bool IsServiceIp, DnsResult Dns, HttpResult? Metrics);

/// <summary>
/// dnsService: seeds 000 and 003, <c>nslookup kubernetes.default.svc.cluster.local</c> against every
/// CoreDNS pod and the kube-dns ClusterIP, and <c>curl :9153/metrics</c> for each pod; optionally
/// (seed 001 §10) an external name resolved through cluster DNS, as a pod would.
/// </summary>
public static class DnsServiceCheck
{
    /// <param name="external">The A query for the plan's <c>externalName</c> sent to cluster DNS; null when none is configured (skipped).</param>
    public static CheckOutcome Evaluate(IReadOnlyList<DnsTargetProbe> targets, string? expectedAnswer, bool planPresent, DnsResult? external = null)
    {
        const string check = CheckNames.DnsService;
        if (targets.Count == 0)
            return CheckOutcome.Unknown(check, "no DNS targets", planPresent ? "the plan names no CoreDNS pod IPs and no kube-dns ClusterIP" : "no plan: no DNS targets to test");
        var findings = new List<Finding>();
        const string fix = "Check the CoreDNS pods (`kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide`, their logs) and the path from this node to them " +
                           "(podCidrReachability and flannelPort for the pod's node; kube-proxy rules for the ClusterIP).";
        foreach (var t in targets)
        {
            var who = t.IsServiceIp ? $"kube-dns ClusterIP {t.Address}" : $"CoreDNS pod {t.Address}";
            var dnsLine = $"{t.Address}:53 A {t.Dns.Name}: " + (t.Dns.Error is { } e ? $"FAIL ({e})" : $"{t.Dns.ResponseCode} [{string.Join(", ", t.Dns.Answers)}]");
            var evidence = new List<string> { dnsLine };
            if (t.Metrics is { } m) evidence.Add($"GET {m.Url}: {(m.StatusCode is { } s ? s.ToString() : $"FAIL ({m.Error})")}");
            var metricsOk = t.Metrics?.Ok ?? true;
            Finding F(Severity sev, string cause, string msg) => new()
            {
                Check = check, Severity = sev, Cause = cause, Message = msg, Evidence = evidence, Remediation = fix,
                Data = new() { ["target"] = t.Address, ["kind"] = t.IsServiceIp ? "clusterIP" : "pod" },
            };
            if (t.Dns.Error is not null)
            {
                if (t.Metrics is { Ok: false })
                    findings.Add(F(Severity.Critical, $"coredns {t.Address} unreachable", $"{who} does not answer DNS or metrics from this node"));
                else
                    findings.Add(F(Severity.Critical, $"dns {t.Address} not answering", $"{who} does not answer DNS queries from this node ({t.Dns.Error})"));
            }
            else if (t.Dns.ResponseCode != "NoError")
                findings.Add(F(Severity.Critical, $"dns {t.Address} {t.Dns.ResponseCode}", $"{who} answers {t.Dns.ResponseCode} for {t.Dns.Name}"));
            else if (expectedAnswer is not null && !t.Dns.Answers.Contains(expectedAnswer))
                findings.Add(F(Severity.Critical, $"dns {t.Address} wrong answer",
                    $"{who} answers {(t.Dns.Answers.Count == 0 ? "nothing" : string.Join(", ", t.Dns.Answers))} for {t.Dns.Name}, not the kubernetes Service IP {expectedAnswer}"));
            else if (!metricsOk)
                findings.Add(F(Severity.Warning, $"coredns {t.Address} metrics not answering", $"{who} answers DNS but its metrics endpoint :9153 does not ({t.Metrics!.Error ?? t.Metrics.StatusCode.ToString()})"));
        }
        if (external is not null && ExternalNameFinding(external) is { } ext) findings.Add(ext);
        return CheckOutcome.From(check, findings, $"{targets.Count} DNS target(s) answer {targets[0].Dns.Name}" + (expectedAnswer is null ? "" : $" with {expectedAnswer}") +
                                                  (external is null ? "" : $"; {external.Name} resolves through {external.Server}"));
    }

    /// <summary>
    /// Seed 001 §10: in-cluster names resolve but external ones do not, so pods cannot reach the
    /// outside by name. Usually CoreDNS's upstream (<c>forward</c>) is unreachable or wrong, not
    /// CoreDNS itself, hence Warning: the cluster's own DNS still works. Null when it resolves.
    /// </summary>
    internal static Finding? ExternalNameFinding(DnsResult r)
    {
        string? failure = r.Error is { } e ? $"FAIL ({e})"
            : r.ResponseCode != "NoError" ? $"{r.ResponseCode ?? "no response code"}"
            : r.Answers.Count == 0 ? "NoError but no A record" : null;
        if (failure is null) return null;
        return new Finding
        {
            Check = CheckNames.DnsService, Severity = Severity.Warning, Cause = "external name not resolving",
            Message = $"pods cannot resolve external names: cluster DNS {r.Server} gives {failure} for {r.Name}",
            Evidence = [$"{r.Server}:53 A {r.Name}: {failure}"],
            Remediation = "CoreDNS resolves cluster names but not external ones: check its upstream. " +
                          "`kubectl -n kube-system get cm coredns -o yaml` (the `forward` line), `kubectl -n kube-system logs -l k8s-app=kube-dns` (i/o timeouts to the upstream), " +
                          "and from a CoreDNS node `nslookup " + r.Name + " <upstream>`; point `forward` at upstreams that answer, then `kubectl -n kube-system rollout restart deployment coredns`.",
            Data = new() { ["target"] = r.Server, ["kind"] = "externalName", ["name"] = r.Name },
        };
    }
}

/// <summary>A resolv.conf file read from the host (Content null: not present or unreadable).</summary>
public sealed record ResolvFile(string Path, string? Content, string? Error);

/// <summary>The facts for the node half of dnsLoop.</summary>
/// <param name="KubeletResolvConf">Where kubelet's resolvConf points, with where that was read.</param>
/// <param name="KubeletFile">The file kubelet hands to pods with dnsPolicy Default, i.e. what CoreDNS forwards to.</param>
/// <param name="SystemdResolved">/run/systemd/resolve/resolv.conf, the real upstreams under systemd-resolved.</param>
/// <param name="CoreDnsForwardsToResolvConf">Whether the Corefile's <c>forward .</c> reads /etc/resolv.conf (from the plan); only then is a loopback nameserver here the trap.</param>
/// <param name="CoreDnsForward">The Corefile's <c>forward .</c> line, for the reason; null when the plan does not say.</param>
public sealed record DnsLoopFacts(KubeletResolvConf KubeletResolvConf, ResolvFile KubeletFile, ResolvFile? SystemdResolved, bool RunsCoreDns,
    bool CoreDnsForwardsToResolvConf = true, string? CoreDnsForward = null);

/// <summary>
/// dnsLoop, node half (seed 001 §7, seed 002): CoreDNS's <c>forward . /etc/resolv.conf</c> reads the
/// file kubelet gives it; a loopback nameserver there (127.0.0.53 under systemd-resolved) makes
/// CoreDNS forward to itself, the "Loop ... detected" crash.
/// </summary>
public static class DnsLoopCheck
{
    public static CheckOutcome Evaluate(DnsLoopFacts f)
    {
        const string check = CheckNames.DnsLoop;
        var file = f.KubeletFile;
        if (!f.CoreDnsForwardsToResolvConf)
            return NotForwardedTo(f);
        if (file.Content is null)
            return CheckOutcome.Unknown(check, "resolv.conf unreadable", $"cannot read {file.Path} (kubelet resolvConf, {f.KubeletResolvConf.Source}): {file.Error}");
        var parsed = ResolvConfParser.Parse(file.Content);
        var systemd = f.SystemdResolved?.Content is { } sc ? ResolvConfParser.Parse(sc) : null;
        var upstreams = parsed.Nameservers.Where(n => !n.IsLoopback).Select(n => n.Address)
            .Concat(systemd?.Nameservers.Where(n => !n.IsLoopback).Select(n => n.Address) ?? [])
            .Distinct().ToList();
        var data = new Dictionary<string, string> { ["resolvConf"] = file.Path };
        if (upstreams.Count > 0) data[FindingDataKeys.Upstreams] = string.Join(",", upstreams);
        var where = $"kubelet resolvConf: {f.KubeletResolvConf.Path} ({f.KubeletResolvConf.Source})";

        if (parsed.Nameservers.Count == 0)
        {
            return CheckOutcome.From(check, [new Finding
            {
                Check = check, Severity = Severity.Warning, Cause = "no nameserver in resolv.conf",
                Message = $"{file.Path}, which kubelet gives CoreDNS, names no usable nameserver: `forward . /etc/resolv.conf` has nowhere to go",
                Evidence = [where, .. parsed.Warnings.Take(5).Select(w => $"{file.Path} {w}")],
                Remediation = $"Put the real upstream servers into {file.Path} (or point kubelet's resolvConf at a file that has them), then `kubectl -n kube-system rollout restart deployment coredns`.",
                AutoAction = upstreams.Count > 0 ? ActionNames.PatchCorefileForward : null,
                Data = data,
            }], "");
        }
        var loopback = parsed.Nameservers.Where(n => n.IsLoopback).ToList();
        if (loopback.Count == 0)
            return CheckOutcome.Pass(check, $"{file.Path} names {string.Join(", ", parsed.Nameservers.Select(n => n.Address))}; no loopback nameserver");

        var realFile = f.SystemdResolved is { Content: not null } s && systemd!.Nameservers.Any(n => !n.IsLoopback) ? s.Path : null;
        var fix = realFile is not null
            ? $"Point kubelet at the real file: set `resolvConf: {realFile}` in /var/lib/kubelet/config.yaml and `systemctl restart kubelet`, "
            : $"Replace the loopback nameserver in {file.Path} with a real upstream, ";
        fix += "or replace `forward . /etc/resolv.conf` in the coredns ConfigMap with real upstream IPs" +
               (upstreams.Count > 0 ? $" ({string.Join(" ", upstreams)})" : "") +
               "; then restart CoreDNS: `kubectl -n kube-system rollout restart deployment coredns`.";
        return CheckOutcome.From(check, [new Finding
        {
            Check = check, Severity = Severity.Warning, Cause = "loopback nameserver in kubelet resolv.conf",
            Message = $"{file.Path} names the loopback resolver {loopback[0].Address}: CoreDNS on this node would forward queries to itself (a DNS loop)" +
                      (f.RunsCoreDns ? "; CoreDNS runs on this node" : ""),
            Evidence = [.. loopback.Select(n => $"{file.Path}:{n.Line}: {n.Text}"), where,
                        .. (realFile is not null ? new[] { $"{realFile} names {string.Join(", ", systemd!.Nameservers.Select(n => n.Address))}" } : [])],
            Remediation = fix,
            AutoAction = ActionNames.PatchCorefileForward,
            Data = data,
        }], "");
    }

    /// <summary>
    /// CoreDNS forwards to explicit upstreams, not /etc/resolv.conf: whatever the node file names
    /// (even a loopback stub resolver, which is normal under systemd-resolved) CoreDNS never reads
    /// it, so there is no loop trap. The reason still names a loopback server, so a later switch
    /// back to <c>forward . /etc/resolv.conf</c> is not a surprise.
    /// </summary>
    private static CheckOutcome NotForwardedTo(DnsLoopFacts f)
    {
        var file = f.KubeletFile;
        var forward = f.CoreDnsForward is { Length: > 0 } line ? $"CoreDNS forwards to its own upstreams (`{line}`)" : "CoreDNS does not forward to /etc/resolv.conf";
        var loopback = file.Content is null ? [] : ResolvConfParser.Parse(file.Content).Nameservers.Where(n => n.IsLoopback).ToList();
        var node = file.Content is null ? $"{file.Path} not read ({file.Error})"
            : loopback.Count > 0 ? $"the loopback nameserver {loopback[0].Address} in {file.Path} (line {loopback[0].Line}) is not a loop trap"
            : $"{file.Path} is not on CoreDNS's path";
        return CheckOutcome.Pass(CheckNames.DnsLoop, $"{forward}, not /etc/resolv.conf: {node}");
    }
}
