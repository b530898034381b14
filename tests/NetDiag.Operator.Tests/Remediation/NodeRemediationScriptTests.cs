using System.Diagnostics;
using NetDiag.Operator.Remediation;

namespace NetDiag.Operator.Tests.Remediation;

/// <summary>
/// Runs the node remediation scripts for real: in a fresh network namespace (its own ip_forward and
/// bridge-nf-call-iptables, as a node's host network has), against a temporary folder as the host
/// root. Needs root (this machine and CI run as root); fails, never skips, without it.
/// </summary>
public sealed class NodeRemediationScriptTests : IDisposable
{
    private readonly string netns = $"ndrem-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    private readonly string root = Directory.CreateTempSubdirectory("netdiag-hostroot-").FullName;

    public NodeRemediationScriptTests()
    {
        Assert.True(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || GetUid() == 0,
            "these tests change kernel state in a network namespace and need root");
        Run("ip", "netns", "add", netns).AssertOk();
    }

    public void Dispose()
    {
        Run("ip", "netns", "del", netns);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void EnableIpForward_turns_forwarding_on_persists_it_and_is_idempotent()
    {
        Assert.Equal("0", InNetns("cat /proc/sys/net/ipv4/ip_forward").Stdout.Trim());

        var first = InNetns(NodeRemediationScripts.EnableIpForward());
        first.AssertOk();
        Assert.Contains("net.ipv4.ip_forward 0 -> 1", first.Stdout);
        Assert.Equal("1", InNetns("cat /proc/sys/net/ipv4/ip_forward").Stdout.Trim());
        var dropIn = Path.Join(root, NodeRemediationScripts.IpForwardDropIn);
        var content = File.ReadAllText(dropIn);
        Assert.Contains("net.ipv4.ip_forward = 1\n", content);

        var second = InNetns(NodeRemediationScripts.EnableIpForward());
        second.AssertOk();
        Assert.Contains("net.ipv4.ip_forward 1 -> 1", second.Stdout);
        Assert.Equal(content, File.ReadAllText(dropIn));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(dropIn)!, "*", SearchOption.TopDirectoryOnly)); // no temp file left
    }

    [Fact]
    public void EnableBridgeNetfilter_sets_the_namespace_value_and_persists_module_and_sysctl()
    {
        EnsureBrNetfilterLoaded();
        InNetns("echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables").AssertOk();

        var result = InNetns(NodeRemediationScripts.EnableBridgeNetfilter());
        result.AssertOk();
        Assert.Contains("bridge-nf-call-iptables 0 -> 1", result.Stdout);
        Assert.Equal("1", InNetns("cat /proc/sys/net/bridge/bridge-nf-call-iptables").Stdout.Trim());
        Assert.Contains("br_netfilter\n", File.ReadAllText(Path.Join(root, NodeRemediationScripts.BridgeModuleFile)));
        Assert.Contains("net.bridge.bridge-nf-call-iptables = 1\n", File.ReadAllText(Path.Join(root, NodeRemediationScripts.BridgeDropIn)));
    }

    [Fact]
    public void RaiseConntrackMax_never_lowers_the_limit_and_persists_the_one_in_force()
    {
        // A network namespace may read but not write nf_conntrack_max, so this exercises the
        // "already high enough" path against the real value: nothing written, the real value persisted.
        Run("modprobe", "nf_conntrack");
        var current = InNetns("cat /proc/sys/net/netfilter/nf_conntrack_max").Stdout.Trim();
        Assert.True(long.Parse(current) > 1000, $"nf_conntrack_max is {current}");

        var result = InNetns(NodeRemediationScripts.RaiseConntrackMax(1000));
        result.AssertOk();
        Assert.Contains($"nf_conntrack_max {current} -> {current}", result.Stdout);
        Assert.Contains($"net.netfilter.nf_conntrack_max = {current}\n", File.ReadAllText(Path.Join(root, NodeRemediationScripts.ConntrackDropIn)));
        Assert.Contains("nf_conntrack\n", File.ReadAllText(Path.Join(root, NodeRemediationScripts.ConntrackModuleFile)));
    }

    [Fact]
    public void A_failing_step_fails_the_script()
    {
        // A sysctl that cannot be read stops the script before anything is persisted (set -e).
        var script = NodeRemediationScripts.EnableIpForward().Replace("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/does_not_exist", StringComparison.Ordinal);
        var result = InNetns(script);
        Assert.NotEqual(0, result.ExitCode);
        Assert.False(File.Exists(Path.Join(root, NodeRemediationScripts.IpForwardDropIn)));
    }

    private void EnsureBrNetfilterLoaded()
    {
        if (!File.Exists("/proc/sys/net/bridge/bridge-nf-call-iptables"))
            Run("modprobe", "br_netfilter").AssertOk();
        Assert.True(File.Exists("/proc/sys/net/bridge/bridge-nf-call-iptables"), "br_netfilter could not be loaded on this machine");
    }

    private ProcessResult InNetns(string script) =>
        Run("ip", ["netns", "exec", netns, "/bin/sh", "-c", script], new() { [NodeRemediationScripts.HostRootVariable] = root });

    private static ProcessResult Run(string file, params string[] args) => Run(file, args, []);

    private static ProcessResult Run(string file, string[] args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
            psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill(entireProcessTree: true);
            return new ProcessResult(-1, stdout.Result, "timed out after 30 s");
        }

        return new ProcessResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static int GetUid()
    {
        var status = File.ReadAllLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        return status is null ? -1 : int.Parse(status.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    private sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
    {
        public void AssertOk() => Assert.True(ExitCode == 0, $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}");
    }
}
