using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Checks;

/// <summary>ipForward: pods lose connectivity through a node whose IPv4 forwarding is off (seed 000, 001 §4).</summary>
public static class IpForwardCheck
{
    /// <param name="runtime">The value of /proc/sys/net/ipv4/ip_forward (Value null: the file is absent).</param>
    /// <param name="config">The replayed sysctl configuration.</param>
    public static CheckOutcome Evaluate(Gathered<string?> runtime, Gathered<SysctlReplayResult> config)
    {
        const string check = CheckNames.IpForward;
        const string key = SysctlKeys.IpForward;
        if (!runtime.Ok) return CheckOutcome.Unknown(check, "ip_forward unreadable", $"cannot read {key}: {runtime.Error}");
        if (runtime.Value is null) return CheckOutcome.Unknown(check, "ip_forward unreadable", $"/proc/sys/net/ipv4/ip_forward is absent (no IPv4 in this network namespace?)");
        var last = config.Value?.Last(key);
        var evidence = SysctlText.ConfigEvidence(config.Value, key, config.Error);
        switch (runtime.Value.Trim())
        {
            case "1":
                if (last is not null && last.Value.Trim() == "0")
                    return SysctlText.PersistedZero(check, key, "ip_forward=0 persisted",
                        $"IPv4 forwarding is on now, but {last.Where} sets it to 0: it will be off after the next reboot or sysctl reload",
                        $"Change {last.Where} to `{key} = 1` (or remove the line) so forwarding survives a reboot.", last, evidence);
                return CheckOutcome.Pass(check, last is null ? $"{key} = 1 (not persisted by any sysctl file)" : $"{key} = 1 ({last.Where})");
            case "0":
                var cause = "ip_forward=0";
                string where, fix;
                if (last is not null && last.Value.Trim() == "0")
                {
                    where = $"{last.Where} sets it to 0";
                    fix = $"then correct {last.Where} to `{key} = 1`";
                }
                else if (last is not null)
                {
                    where = $"the configuration sets 1 ({last.Where}), so it was turned off at runtime after boot";
                    fix = "then find what turns it off at runtime (a script, a security agent, a container runtime restart)";
                }
                else
                {
                    where = "no sysctl file sets it, so it was lost at reboot";
                    fix = $"then persist it: `echo '{key} = 1' > /etc/sysctl.d/99-zz-ip-forward.conf` (a name that sorts last)";
                }
                return CheckOutcome.From(check, [new Finding
                {
                    Check = check, Severity = Severity.Critical, Cause = cause,
                    Message = $"IPv4 forwarding is off: pods on this node cannot reach other nodes; {where}",
                    Evidence = [$"{key} = 0 (runtime, /proc/sys/net/ipv4/ip_forward)", .. evidence],
                    Remediation = $"Run `sysctl -w {key}=1` now, {fix}. {SysctlText.SystemWarning}",
                    AutoAction = ActionNames.EnableIpForward,
                    Data = last is null
                        ? new() { [FindingDataKeys.Value] = "0" }
                        : new() { [FindingDataKeys.Value] = "0", ["file"] = last.File, ["line"] = last.Line.ToString(), ["configValue"] = last.Value },
                }], "");
            default:
                return CheckOutcome.Unknown(check, "ip_forward unreadable", $"unexpected value '{Cut(runtime.Value)}' in /proc/sys/net/ipv4/ip_forward");
        }
    }

    internal static string Cut(string s) => s.Length <= 40 ? s : s[..39] + "…";
}

/// <summary>bridgeNetfilter: bridged pod traffic bypasses iptables without br_netfilter (seed 001 §3).</summary>
public static class BridgeNetfilterCheck
{
    /// <param name="runtime">/proc/sys/net/bridge/bridge-nf-call-iptables (Value null: absent, module not loaded).</param>
    public static CheckOutcome Evaluate(Gathered<string?> runtime, Gathered<SysctlReplayResult> config)
    {
        const string check = CheckNames.BridgeNetfilter;
        const string key = SysctlKeys.BridgeNfCallIptables;
        if (!runtime.Ok) return CheckOutcome.Unknown(check, "bridge-nf-call-iptables unreadable", $"cannot read {key}: {runtime.Error}");
        const string persist = "Persist both: `echo br_netfilter > /etc/modules-load.d/br_netfilter.conf` and `echo 'net.bridge.bridge-nf-call-iptables = 1' > /etc/sysctl.d/99-zz-bridge-nf.conf`.";
        if (runtime.Value is null)
        {
            return CheckOutcome.From(check, [new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = "br_netfilter not loaded",
                Message = "The br_netfilter module is not loaded: traffic between pods on the bridge bypasses iptables (Services and network policies break)",
                Evidence = ["/proc/sys/net/bridge/bridge-nf-call-iptables does not exist"],
                Remediation = $"Run `modprobe br_netfilter` and `sysctl -w {key}=1`. {persist}",
                AutoAction = ActionNames.EnableBridgeNetfilter,
                Data = new() { [FindingDataKeys.Value] = "absent" },
            }], "");
        }
        var last = config.Value?.Last(key);
        var evidence = SysctlText.ConfigEvidence(config.Value, key, config.Error);
        switch (runtime.Value.Trim())
        {
            case "1":
                if (last is not null && last.Value.Trim() == "0")
                    return SysctlText.PersistedZero(check, key, "bridge-nf-call-iptables=0 persisted",
                        $"bridge-nf-call-iptables is 1 now, but {last.Where} sets it to 0: it will be off after a reboot or sysctl reload",
                        $"Change {last.Where} to `{key} = 1`.", last, evidence);
                return CheckOutcome.Pass(check, $"{key} = 1");
            case "0":
                return CheckOutcome.From(check, [new Finding
                {
                    Check = check, Severity = Severity.Critical, Cause = "bridge-nf-call-iptables=0",
                    Message = "bridge-nf-call-iptables is 0: bridged pod traffic bypasses iptables, so Service NAT and pod egress break",
                    Evidence = [$"{key} = 0 (runtime, /proc/sys/net/bridge/bridge-nf-call-iptables)", .. evidence],
                    Remediation = $"Run `sysctl -w {key}=1`{(last is not null && last.Value.Trim() == "0" ? $" and correct {last.Where}" : "")}. {persist} {SysctlText.SystemWarning}",
                    AutoAction = ActionNames.EnableBridgeNetfilter,
                    Data = last is null
                        ? new() { [FindingDataKeys.Value] = "0" }
                        : new() { [FindingDataKeys.Value] = "0", ["file"] = last.File, ["line"] = last.Line.ToString() },
                }], "");
            default:
                return CheckOutcome.Unknown(check, "bridge-nf-call-iptables unreadable", $"unexpected value '{IpForwardCheck.Cut(runtime.Value)}' for {key}");
        }
    }
}

/// <summary>conntrack: a full table drops new connections (seed 003).</summary>
public static class ConntrackCheck
{
    /// <param name="count">nf_conntrack_count (Value null: absent, the module is not loaded).</param>
    /// <param name="max">nf_conntrack_max.</param>
    /// <param name="dropLines">Kernel log lines "nf_conntrack: table full, dropping packet" in the window.</param>
    public static CheckOutcome Evaluate(Gathered<string?> count, Gathered<string?> max, Gathered<List<KernelLogLine>> dropLines, ProbeThresholds thresholds)
    {
        const string check = CheckNames.Conntrack;
        if (!count.Ok) return CheckOutcome.Unknown(check, "conntrack unreadable", $"cannot read nf_conntrack_count: {count.Error}");
        if (!max.Ok) return CheckOutcome.Unknown(check, "conntrack unreadable", $"cannot read nf_conntrack_max: {max.Error}");
        if (count.Value is null || max.Value is null)
            return CheckOutcome.Unknown(check, "nf_conntrack not loaded", "nf_conntrack not loaded (no /proc/sys/net/netfilter/nf_conntrack_count)");
        if (!long.TryParse(count.Value.Trim(), out var c) || !long.TryParse(max.Value.Trim(), out var m) || m <= 0)
            return CheckOutcome.Unknown(check, "conntrack unreadable", $"unexpected values nf_conntrack_count='{IpForwardCheck.Cut(count.Value)}' nf_conntrack_max='{IpForwardCheck.Cut(max.Value)}'");

        var percent = 100.0 * c / m;
        var drops = dropLines.Value ?? [];
        var evidence = new List<string> { $"nf_conntrack_count {c} / nf_conntrack_max {m} ({percent:0.0}%)" };
        evidence.AddRange(drops.Take(5).Select(l => $"{l.Source}: {l.Message.Trim()}{(l.Age is { } a ? $" ({Ago(a)})" : "")}"));
        if (drops.Count > 5) evidence.Add($"... {drops.Count - 5} more drop lines");
        if (!dropLines.Ok) evidence.Add($"kernel log not readable: {dropLines.Error}");

        var suggested = SuggestMax(c, m);
        var data = new Dictionary<string, string>
        {
            [FindingDataKeys.ConntrackCount] = c.ToString(), [FindingDataKeys.ConntrackMax] = m.ToString(), ["suggestedMax"] = suggested.ToString(),
        };
        var fix = $"Run `sysctl -w net.netfilter.nf_conntrack_max={suggested}` and persist it: " +
                  $"`echo 'net.netfilter.nf_conntrack_max = {suggested}' > /etc/sysctl.d/90-conntrack.conf`. " +
                  "Look for what holds so many connections (`conntrack -S`, `conntrack -L | awk '{print $4}' | sort | uniq -c`).";
        if (c >= m || drops.Count > 0)
            return CheckOutcome.From(check, [new Finding
            {
                Check = check, Severity = Severity.Critical, Cause = "conntrack table full",
                Message = drops.Count > 0
                    ? $"The conntrack table overflowed: the kernel logged {drops.Count} 'table full, dropping packet' line(s); new connections are dropped"
                    : $"The conntrack table is full ({c}/{m}): new connections are dropped",
                Evidence = evidence, Remediation = fix, AutoAction = ActionNames.RaiseConntrackMax, Data = data,
            }], "");
        if (percent >= thresholds.ConntrackWarningPercent)
            return CheckOutcome.From(check, [new Finding
            {
                Check = check, Severity = Severity.Warning, Cause = "conntrack usage high",
                Message = $"The conntrack table is {percent:0.0}% full ({c}/{m}); at 100% new connections are dropped",
                Evidence = evidence, Remediation = fix, AutoAction = ActionNames.RaiseConntrackMax, Data = data,
            }], "");
        return CheckOutcome.Pass(check, $"{c}/{m} entries ({percent:0.0}%)" + (dropLines.Ok ? "" : "; kernel log not readable"));
    }

    /// <summary>Double the limit, and at least twice the current count, rounded up to a multiple of 1024.</summary>
    public static long SuggestMax(long count, long max)
    {
        var target = Math.Max(max * 2, count * 2);
        return (target + 1023) / 1024 * 1024;
    }

    private static string Ago(TimeSpan t) =>
        t.TotalMinutes < 1 ? $"{t.TotalSeconds:0}s ago" : t.TotalHours < 1 ? $"{t.TotalMinutes:0}m ago" : $"{t.TotalHours:0.0}h ago";
}
