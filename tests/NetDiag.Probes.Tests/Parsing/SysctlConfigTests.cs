using NetDiag.Probes.Collectors;
using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Tests.Parsing;

public class SysctlConfigTests
{
    [Fact]
    public void Load_order_merges_by_file_name_with_the_earlier_directory_winning_then_sysctl_conf_last()
    {
        var listing = new Dictionary<string, IReadOnlyList<string>>
        {
            ["/usr/lib/sysctl.d"] = ["50-default.conf", "99-vendor.conf", "10-base.conf", "README"],
            ["/etc/sysctl.d"] = ["99-vendor.conf", "60-k8s.conf"],
            ["/run/sysctl.d"] = ["55-runtime.conf"],
            ["/lib/sysctl.d"] = ["10-base.conf", "70-lib.conf"],
        };
        var order = SysctlLoadOrder.Order(listing, mainFileExists: true);
        Assert.Equal(
        [
            "/usr/lib/sysctl.d/10-base.conf",
            "/usr/lib/sysctl.d/50-default.conf",
            "/run/sysctl.d/55-runtime.conf",
            "/etc/sysctl.d/60-k8s.conf",
            "/lib/sysctl.d/70-lib.conf",
            "/etc/sysctl.d/99-vendor.conf",
            "/etc/sysctl.conf",
        ], order);
    }

    [Fact]
    public void Replay_finds_the_file_and_line_that_sets_a_key_last()
    {
        var result = SysctlReplay.Replay(
        [
            new SysctlFile("/usr/lib/sysctl.d/50-default.conf", "# defaults\nnet.ipv4.ip_forward = 1\n"),
            new SysctlFile("/etc/sysctl.d/99-hardening.conf", "kernel.dmesg_restrict=1\n\n; comment\n-net/ipv4/ip_forward=0\n"),
            new SysctlFile("/etc/sysctl.conf", "vm.swappiness = 10\n"),
        ]);
        var last = result.Last(SysctlKeys.IpForward)!;
        Assert.Equal("0", last.Value);
        Assert.Equal("/etc/sysctl.d/99-hardening.conf:4", last.Where);
        Assert.Equal(2, result.All("net.ipv4.ip_forward").Count);
        Assert.Equal(3, result.Files.Count);
    }

    [Theory]
    [InlineData("net.ipv4.ip_forward", "net.ipv4.ip_forward")]
    [InlineData("net/ipv4/ip_forward", "net.ipv4.ip_forward")]
    [InlineData("net/ipv4/conf/eth0.100/rp_filter", "net.ipv4.conf.eth0/100.rp_filter")]
    [InlineData(" net.bridge.bridge-nf-call-iptables ", "net.bridge.bridge-nf-call-iptables")]
    public void Keys_are_normalised_as_sysctl_d_describes(string key, string expected) =>
        Assert.Equal(expected, SysctlKeys.Normalize(key));

    [Fact]
    public void Malformed_lines_and_unreadable_files_are_warnings()
    {
        var result = SysctlReplay.Replay(
        [
            new SysctlFile("/etc/sysctl.d/10-bad.conf", "this is not a setting\n=1\n\u0000\u0000\nnet.ipv4.ip_forward=1\n"),
            new SysctlFile("/etc/sysctl.d/20-gone.conf", null, "permission denied"),
        ]);
        Assert.Equal("1", result.Last(SysctlKeys.IpForward)!.Value);
        Assert.Contains(result.Warnings, w => w.Contains("10-bad.conf:1"));
        Assert.Contains(result.Warnings, w => w.Contains("20-gone.conf: permission denied"));
    }

    [Fact]
    public void Host_files_are_read_through_links_resolved_inside_the_host_root()
    {
        using var root = new TempDir();
        root.Write("etc/sysctl.conf", "net.ipv4.ip_forward = 0\n");
        root.Write("usr/lib/sysctl.d/50-default.conf", "net.ipv4.ip_forward = 1\n");
        root.Write("usr/lib/sysctl.d/60-masked.conf", "net.ipv4.ip_forward = 1\n");
        Directory.CreateDirectory(root.Path("etc/sysctl.d"));
        // An absolute link: must mean the host's /etc/sysctl.conf, not the probe's.
        File.CreateSymbolicLink(root.Path("etc/sysctl.d/99-sysctl.conf"), "/etc/sysctl.conf");
        // Masking a vendor file with /dev/null (systemd semantics), /dev/null absent under the root.
        File.CreateSymbolicLink(root.Path("etc/sysctl.d/60-masked.conf"), "/dev/null");

        var result = SysctlCollector.ReadConfiguration(new HostFileSystem(root.Root));
        Assert.Equal(
            ["/usr/lib/sysctl.d/50-default.conf", "/etc/sysctl.d/60-masked.conf", "/etc/sysctl.d/99-sysctl.conf", "/etc/sysctl.conf"],
            result.Files);
        Assert.Equal("/etc/sysctl.d/99-sysctl.conf:1", result.All(SysctlKeys.IpForward)[1].Where);
        Assert.Equal("/etc/sysctl.conf:1", result.Last(SysctlKeys.IpForward)!.Where);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Links_cannot_escape_the_host_root()
    {
        using var root = new TempDir();
        Directory.CreateDirectory(root.Path("etc"));
        File.CreateSymbolicLink(root.Path("etc/escape"), "../../../../../../etc/hostname");
        var fs = new HostFileSystem(root.Root);
        Assert.StartsWith(root.Root, fs.Resolve("/etc/escape"));
        Assert.False(fs.ReadText("/etc/escape").Ok);
    }
}
