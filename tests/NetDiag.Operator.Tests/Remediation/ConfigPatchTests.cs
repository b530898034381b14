using System.Text.Json.Nodes;
using NetDiag.Operator.Remediation;

namespace NetDiag.Operator.Tests.Remediation;

public class FlannelNetConfPatchTests
{
    // As shipped in kube-flannel.yml (v0.2x), plus fields a user may have added.
    private const string Upstream = """
        {
          "Network": "10.244.0.0/16",
          "EnableNFTables": false,
          "Backend": {
            "Type": "vxlan"
          }
        }
        """;

    private const string Customised = """
        {
          "Network": "10.244.0.0/16",
          "SubnetLen": 24,
          "EnableIPv6": false,
          "Backend": { "Type": "vxlan", "VNI": 4096, "Port": 8472, "DirectRouting": false }
        }
        """;

    [Fact]
    public void Moving_the_port_keeps_every_other_field_and_the_vxlan_type()
    {
        var patch = FlannelNetConfPatch.SetVxlanPort(Customised, 8475);

        Assert.True(patch.Changed);
        Assert.Null(patch.Error);
        Assert.Equal("Backend.Port 8472→8475", patch.Summary);
        Assert.Equal(Customised, patch.PreviousText);
        var json = JsonNode.Parse(patch.NewText)!;
        Assert.Equal(8475, (int)json["Backend"]!["Port"]!);
        Assert.Equal("vxlan", (string)json["Backend"]!["Type"]!);
        Assert.Equal(4096, (int)json["Backend"]!["VNI"]!);
        Assert.False((bool)json["Backend"]!["DirectRouting"]!);
        Assert.Equal("10.244.0.0/16", (string)json["Network"]!);
        Assert.Equal(24, (int)json["SubnetLen"]!);
        Assert.False((bool)json["EnableIPv6"]!);
    }

    [Fact]
    public void A_config_without_a_port_is_on_8472_and_gets_one()
    {
        var patch = FlannelNetConfPatch.SetVxlanPort(Upstream, 8475);
        Assert.Equal("Backend.Port 8472→8475", patch.Summary);
        Assert.Equal(8475, FlannelNetConfPatch.CurrentPort(patch.NewText));
        Assert.False((bool)JsonNode.Parse(patch.NewText)!["EnableNFTables"]!);
    }

    [Fact]
    public void A_config_with_no_backend_at_all_is_vxlan_by_flannel_default()
    {
        var patch = FlannelNetConfPatch.SetVxlanPort("""{"Network":"10.244.0.0/16"}""", 8475);
        Assert.True(patch.Changed);
        Assert.Equal(8475, FlannelNetConfPatch.CurrentPort(patch.NewText));
    }

    [Fact]
    public void Patching_twice_is_a_no_op_the_second_time()
    {
        var first = FlannelNetConfPatch.SetVxlanPort(Upstream, 8475);
        var second = FlannelNetConfPatch.SetVxlanPort(first.NewText, 8475);
        Assert.False(second.Changed);
        Assert.Null(second.Error);
        Assert.Equal(first.NewText, second.NewText);
        Assert.Contains("already 8475", second.Summary);
    }

    [Fact]
    public void Host_gw_replaces_the_type_and_is_idempotent()
    {
        var patch = FlannelNetConfPatch.SetHostGw(Customised);
        Assert.True(patch.Changed);
        Assert.Equal("Backend.Type vxlan→host-gw", patch.Summary);
        Assert.Equal("host-gw", (string)JsonNode.Parse(patch.NewText)!["Backend"]!["Type"]!);
        Assert.Equal("10.244.0.0/16", (string)JsonNode.Parse(patch.NewText)!["Network"]!);
        Assert.False(FlannelNetConfPatch.SetHostGw(patch.NewText).Changed);
    }

    [Theory]
    [InlineData("{ not json", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("""{"Backend":"vxlan"}""", "Backend is not an object")]
    [InlineData("""{"Backend":{"Type":"wireguard"}}""", "Backend.Type is wireguard")]
    public void Bad_or_unsupported_configs_are_refused_with_a_reason(string input, string reason)
    {
        var patch = FlannelNetConfPatch.SetVxlanPort(input, 8475);
        Assert.False(patch.Changed);
        Assert.Contains(reason, patch.Error);
        Assert.Equal(input, patch.NewText);
    }

    [Fact]
    public void A_port_outside_the_udp_range_is_refused() =>
        Assert.NotNull(FlannelNetConfPatch.SetVxlanPort(Upstream, 70000).Error);
}

public class CorefileForwardPatchTests
{
    // kubeadm's default Corefile.
    private const string Kubeadm = """
        .:53 {
            errors
            health {
               lameduck 5s
            }
            ready
            kubernetes cluster.local in-addr.arpa ip6.arpa {
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }
            prometheus :9153
            forward . /etc/resolv.conf {
               max_concurrent 1000
            }
            cache 30
            loop
            reload
            loadbalance
        }
        """;

    [Fact]
    public void The_resolv_conf_forward_becomes_the_upstreams_and_keeps_its_options_block()
    {
        var patch = CorefileForwardPatch.Apply(Kubeadm, ["192.0.2.53", "198.51.100.53"]);

        Assert.True(patch.Changed);
        Assert.Contains("    forward . 192.0.2.53 198.51.100.53 {\n       max_concurrent 1000\n    }", patch.NewText);
        Assert.DoesNotContain("/etc/resolv.conf", patch.NewText);
        Assert.Equal(Kubeadm, patch.PreviousText);
        // Everything else is untouched.
        Assert.Equal(Kubeadm.Replace("forward . /etc/resolv.conf", "forward . 192.0.2.53 198.51.100.53"), patch.NewText);
    }

    [Theory]
    [InlineData("    forward   .   /etc/resolv.conf\n", "    forward   . 192.0.2.53\n")]
    [InlineData("\tforward . /etc/resolv.conf {\r\n", "\tforward . 192.0.2.53 {\r\n")]
    [InlineData("    forward . 127.0.0.53\n", "    forward . 192.0.2.53\n")]
    [InlineData("    forward . /etc/resolv.conf 127.0.0.1:5353\n", "    forward . 192.0.2.53\n")]
    [InlineData("    forward . [::1]:53 {\n", "    forward . 192.0.2.53 {\n")]
    public void Any_spacing_and_any_loopback_destination_is_rewritten(string line, string expected)
    {
        var corefile = $".:53 {{\n{line}    cache 30\n}}\n";
        var patch = CorefileForwardPatch.Apply(corefile, ["192.0.2.53"]);
        Assert.True(patch.Changed);
        Assert.Equal($".:53 {{\n{expected}    cache 30\n}}\n", patch.NewText);
    }

    [Fact]
    public void Forwarding_to_real_servers_already_is_left_alone()
    {
        var patched = CorefileForwardPatch.Apply(Kubeadm, ["192.0.2.53"]).NewText;
        var again = CorefileForwardPatch.Apply(patched, ["192.0.2.53"]);
        Assert.False(again.Changed);
        Assert.Null(again.Error);
        Assert.Equal(patched, again.NewText);
        Assert.Contains("already forwards to 192.0.2.53", again.Summary);

        // Another zone's forward is not the root zone's.
        var stub = ".:53 {\n    forward . 192.0.2.1\n}\nexample.org:53 {\n    forward example.org 127.0.0.1\n}\n";
        Assert.False(CorefileForwardPatch.Apply(stub, ["192.0.2.53"]).Changed);
    }

    [Theory]
    [InlineData(new string[0], "no upstream DNS server")]
    [InlineData(new[] { "127.0.0.53" }, "loopback")]
    [InlineData(new[] { "::1" }, "loopback")]
    [InlineData(new[] { "0.0.0.0" }, "loopback or unspecified")]
    [InlineData(new[] { "8.8.8.8 }\nhosts {" }, "not an IP address")]
    [InlineData(new[] { "dns.example.org" }, "not an IP address")]
    public void Loopback_or_non_address_upstreams_are_refused(string[] upstreams, string reason)
    {
        var patch = CorefileForwardPatch.Apply(Kubeadm, upstreams);
        Assert.False(patch.Changed);
        Assert.Contains(reason, patch.Error);
        Assert.Equal(Kubeadm, patch.NewText);
    }

    [Fact]
    public void Ports_and_ipv6_upstreams_are_accepted()
    {
        var patch = CorefileForwardPatch.Apply(Kubeadm, ["192.0.2.53:5353", "2001:db8::53", "[2001:db8::54]:53"]);
        Assert.True(patch.Changed);
        Assert.Contains("forward . 192.0.2.53:5353 2001:db8::53 [2001:db8::54]:53 {", patch.NewText);
    }
}
