using NetDiag.LabCluster;
using NetDiag.LabCluster.KubeSystem;

namespace NetDiag.LabCluster.Tests;

public sealed class StandInBehaviourTests
{
    private const string KubeletConfig = "kind: KubeletConfiguration\nresolvConf: /etc/resolv.conf\n";
    private static readonly Dictionary<string, string> Files = new()
    {
        ["/etc/resolv.conf"] = "nameserver 127.0.0.53\noptions edns0\n",
        ["/run/systemd/resolve/resolv.conf"] = "nameserver 172.28.0.1\n",
    };

    [Fact]
    public void CoreDNS_loops_when_it_forwards_to_a_loopback_resolv_conf()
    {
        Assert.True(StandInBehaviour.CoreDnsLoops(KubeSystemObjects.Corefile("cluster.local"), KubeletConfig, f => Files.GetValueOrDefault(f), out var evidence));
        Assert.Contains("127.0.0.53", evidence);
    }

    [Fact]
    public void Pointing_kubelet_at_the_real_resolv_conf_ends_the_loop()
    {
        var fixedConfig = "kind: KubeletConfiguration\nresolvConf: /run/systemd/resolve/resolv.conf\n";
        Assert.False(StandInBehaviour.CoreDnsLoops(KubeSystemObjects.Corefile("cluster.local"), fixedConfig, f => Files.GetValueOrDefault(f), out _));
    }

    [Fact]
    public void Forwarding_to_explicit_upstreams_ends_the_loop()
    {
        var corefile = KubeSystemObjects.Corefile("cluster.local").Replace("forward . /etc/resolv.conf", "forward . 172.28.0.1 8.8.8.8");
        Assert.False(StandInBehaviour.CoreDnsLoops(corefile, KubeletConfig, f => Files.GetValueOrDefault(f), out _));
    }

    [Fact]
    public void NetConf_reads_network_backend_and_port()
    {
        Assert.True(StandInBehaviour.TryParseNetConf(KubeSystemObjects.NetConf("10.244.0.0/16", "vxlan", 8475), out var conf, out _));
        Assert.Equal(new NetConf("10.244.0.0/16", "vxlan", 8475), conf);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("""{"Network":"nope"}""")]
    [InlineData("""{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","Port":99999}}""")]
    public void A_bad_net_conf_is_an_error_in_flannels_words(string json)
    {
        Assert.False(StandInBehaviour.TryParseNetConf(json, out _, out var error));
        Assert.NotEmpty(error);
    }
}
