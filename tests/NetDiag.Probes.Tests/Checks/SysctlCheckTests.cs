using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Checks;
using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Tests.Checks;

public class IpForwardCheckTests
{
    private static Gathered<SysctlReplayResult> Config(params (string file, string content)[] files) =>
        Gathered<SysctlReplayResult>.Of(SysctlReplay.Replay(files.Select(f => new SysctlFile(f.file, f.content))));

    [Fact]
    public void Zero_set_by_a_file_is_critical_and_names_file_and_line()
    {
        var o = IpForwardCheck.Evaluate(Gathered<string?>.Of("0"),
            Config(("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.ip_forward = 1\n"), ("/etc/sysctl.d/99-hardening.conf", "# cis\nnet.ipv4.ip_forward = 0\n")));
        Assert.Equal(CheckStatus.Critical, o.Result.Status);
        var f = Assert.Single(o.Findings);
        Assert.Equal("ip_forward=0", f.Cause);
        Assert.Equal(ActionNames.EnableIpForward, f.AutoAction);
        Assert.Contains("/etc/sysctl.d/99-hardening.conf:2 sets it to 0", f.Message);
        Assert.Contains(f.Evidence, e => e.StartsWith("/etc/sysctl.d/99-hardening.conf:2: net.ipv4.ip_forward = 0"));
        Assert.Contains(f.Evidence, e => e.Contains("/usr/lib/sysctl.d/50-default.conf:1") && e.Contains("overridden"));
        Assert.Contains("sysctl -w net.ipv4.ip_forward=1", f.Remediation);
        Assert.Contains("sysctl --system", f.Remediation);
        Assert.Equal("/etc/sysctl.d/99-hardening.conf", f.Data!["file"]);
    }

    [Fact]
    public void Zero_with_no_file_says_lost_at_reboot()
    {
        var f = Assert.Single(IpForwardCheck.Evaluate(Gathered<string?>.Of("0"), Config()).Findings);
        Assert.Contains("lost at reboot", f.Message);
        Assert.Contains("99-zz-ip-forward.conf", f.Remediation);
    }

    [Fact]
    public void Zero_while_the_configuration_says_one_points_at_a_runtime_change()
    {
        var f = Assert.Single(IpForwardCheck.Evaluate(Gathered<string?>.Of("0"), Config(("/etc/sysctl.conf", "net.ipv4.ip_forward=1"))).Findings);
        Assert.Contains("turned off at runtime", f.Message);
    }

    [Fact]
    public void One_at_runtime_but_zero_in_the_config_is_a_reboot_trap_warning()
    {
        var o = IpForwardCheck.Evaluate(Gathered<string?>.Of("1"), Config(("/etc/sysctl.d/10-x.conf", "net.ipv4.ip_forward=0")));
        Assert.Equal(CheckStatus.Warning, o.Result.Status);
        Assert.Equal("ip_forward=0 persisted", o.Findings.Single().Cause);
    }

    [Fact]
    public void One_is_pass()
    {
        var o = IpForwardCheck.Evaluate(Gathered<string?>.Of("1\n"), Config(("/etc/sysctl.d/k8s.conf", "net.ipv4.ip_forward = 1")));
        Assert.Equal(CheckStatus.Pass, o.Result.Status);
        Assert.Empty(o.Findings);
        Assert.Contains("/etc/sysctl.d/k8s.conf:1", o.Result.Reason);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("garbage", null)]
    [InlineData(null, "permission denied")]
    public void Unreadable_or_odd_values_are_unknown(string? value, string? error)
    {
        var runtime = error is null ? Gathered<string?>.Of(value) : Gathered<string?>.Fail(error);
        var o = IpForwardCheck.Evaluate(runtime, Gathered<SysctlReplayResult>.Fail("unreadable"));
        Assert.Equal(CheckStatus.Unknown, o.Result.Status);
        Assert.Equal(Severity.Unknown, o.Findings.Single().Severity);
    }

    [Fact]
    public void Unreadable_configuration_still_judges_the_runtime_value()
    {
        var f = Assert.Single(IpForwardCheck.Evaluate(Gathered<string?>.Of("0"), Gathered<SysctlReplayResult>.Fail("timed out")).Findings);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains(f.Evidence, e => e.Contains("not readable: timed out"));
    }
}

public class BridgeNetfilterCheckTests
{
    private static readonly Gathered<SysctlReplayResult> NoConfig = Gathered<SysctlReplayResult>.Of(SysctlReplay.Replay([]));

    [Fact]
    public void Absent_means_module_not_loaded()
    {
        var f = Assert.Single(BridgeNetfilterCheck.Evaluate(Gathered<string?>.Of(null), NoConfig).Findings);
        Assert.Equal(("br_netfilter not loaded", Severity.Critical), (f.Cause, f.Severity));
        Assert.Contains("modprobe br_netfilter", f.Remediation);
        Assert.Equal(ActionNames.EnableBridgeNetfilter, f.AutoAction);
    }

    [Fact]
    public void Zero_is_critical_with_the_file_that_sets_it()
    {
        var cfg = Gathered<SysctlReplayResult>.Of(SysctlReplay.Replay([new SysctlFile("/etc/sysctl.d/99-bridge.conf", "net.bridge.bridge-nf-call-iptables = 0")]));
        var f = Assert.Single(BridgeNetfilterCheck.Evaluate(Gathered<string?>.Of("0"), cfg).Findings);
        Assert.Equal("bridge-nf-call-iptables=0", f.Cause);
        Assert.Contains("/etc/sysctl.d/99-bridge.conf:1", f.Remediation);
    }

    [Fact]
    public void One_is_pass() =>
        Assert.Equal(CheckStatus.Pass, BridgeNetfilterCheck.Evaluate(Gathered<string?>.Of("1"), NoConfig).Result.Status);
}

public class ConntrackCheckTests
{
    private static readonly ProbeThresholds T = new();
    private static readonly Gathered<List<KernelLogLine>> NoLog = Gathered<List<KernelLogLine>>.Of([]);

    [Theory]
    [InlineData("100", "1000", CheckStatus.Pass, null)]
    [InlineData("900", "1000", CheckStatus.Warning, "conntrack usage high")]
    [InlineData("950", "1000", CheckStatus.Warning, "conntrack usage high")]
    [InlineData("1000", "1000", CheckStatus.Critical, "conntrack table full")]
    public void Usage_thresholds(string count, string max, CheckStatus status, string? cause)
    {
        var o = ConntrackCheck.Evaluate(Gathered<string?>.Of(count), Gathered<string?>.Of(max), NoLog, T);
        Assert.Equal(status, o.Result.Status);
        Assert.Equal(cause, o.Findings.SingleOrDefault()?.Cause);
        if (cause is not null)
        {
            var f = o.Findings.Single();
            Assert.Contains($"nf_conntrack_count {count} / nf_conntrack_max {max}", f.Evidence[0]);
            Assert.Equal(ActionNames.RaiseConntrackMax, f.AutoAction);
            Assert.Equal(count, f.Data!["conntrackCount"]);
            Assert.True(long.Parse(f.Data["suggestedMax"]) >= 2 * long.Parse(max));
        }
    }

    [Fact]
    public void Logged_drops_are_critical_even_when_usage_is_low_now()
    {
        var log = Gathered<List<KernelLogLine>>.Of([new KernelLogLine("nf_conntrack: table full, dropping packet", TimeSpan.FromMinutes(3), "/dev/kmsg")]);
        var f = Assert.Single(ConntrackCheck.Evaluate(Gathered<string?>.Of("10"), Gathered<string?>.Of("1000"), log, T).Findings);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains(f.Evidence, e => e.Contains("table full, dropping packet") && e.Contains("3m ago"));
    }

    [Fact]
    public void Module_not_loaded_is_unknown()
    {
        var o = ConntrackCheck.Evaluate(Gathered<string?>.Of(null), Gathered<string?>.Of(null), NoLog, T);
        Assert.Equal(CheckStatus.Unknown, o.Result.Status);
        Assert.Equal("nf_conntrack not loaded", o.Findings.Single().Cause);
    }

    [Fact]
    public void Garbage_values_are_unknown_and_unreadable_log_is_noted()
    {
        Assert.Equal(CheckStatus.Unknown, ConntrackCheck.Evaluate(Gathered<string?>.Of("x"), Gathered<string?>.Of("0"), NoLog, T).Result.Status);
        var o = ConntrackCheck.Evaluate(Gathered<string?>.Of("1"), Gathered<string?>.Of("100"), Gathered<List<KernelLogLine>>.Fail("EPERM"), T);
        Assert.Equal(CheckStatus.Pass, o.Result.Status);
        Assert.Contains("kernel log not readable", o.Result.Reason);
    }
}
