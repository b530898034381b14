namespace NetDiag.Lab.Tests;

/// <summary>Pure tests of names and addresses (no root, no kernel state).</summary>
public sealed class LabPlanTests
{
    [Theory]
    [InlineData(0, 1, "172.28.0.11", "10.244.1.0/24", "10.244.1.0", "10.244.1.1", "10.96.0.10")]
    [InlineData(3, 4, "172.28.3.14", "10.247.4.0/24", "10.247.4.0", "10.247.4.1", "10.99.0.10")]
    public void Addresses_follow_the_documented_plan(int index, int node, string nodeIp, string podCidr, string overlay, string gateway, string kubeDns)
    {
        var plan = new LabAddressPlan(index, 4);
        Assert.Equal(nodeIp, plan.NodeIp(node));
        Assert.Equal(podCidr, plan.PodCidr(node));
        Assert.Equal(overlay, plan.OverlayIp(node));
        Assert.Equal(gateway, plan.GatewayIp(node));
        Assert.Equal(kubeDns, plan.KubeDnsServiceIp);
        Assert.Equal(1500 - 50, LabAddressPlan.OverlayMtu);
    }

    [Fact]
    public void Two_indexes_never_share_a_range()
    {
        var a = new LabAddressPlan(1, 4);
        var b = new LabAddressPlan(2, 4);
        Assert.NotEqual(a.FlannelNetwork, b.FlannelNetwork);
        Assert.NotEqual(a.ServiceCidr, b.ServiceCidr);
        Assert.NotEqual(a.UnderlayCidr, b.UnderlayCidr);
        Assert.NotEqual(a.FlannelMac(1), b.FlannelMac(1));
    }

    [Fact]
    public void Chain_names_are_kube_proxys()
    {
        // The names every kubeadm cluster shows for kube-dns.
        Assert.Equal("KUBE-SVC-TCOU7JCQXEZGVUNU", KubeProxyNames.ServiceChain("kube-system/kube-dns:dns", "udp"));
        Assert.Equal("KUBE-SVC-ERIFXISQEP7F7OF4", KubeProxyNames.ServiceChain("kube-system/kube-dns:dns-tcp", "tcp"));
    }

    [Fact]
    public void Namespace_names_carry_the_lab_name_before_the_first_dash()
    {
        Assert.Equal("ndl1-node-2", LabNames.Node("ndl1", 2));
        Assert.Equal("ndl1", LabNames.LabOf(LabNames.Pod("ndl1", 2, "coredns-2")));
        Assert.Null(LabNames.LabOf("plain"));
    }

    [Fact]
    public void Fault_names_validate_case_insensitively_and_list_the_valid_ones()
    {
        Assert.Equal(LabFaults.FlannelPort, LabFaults.Validate("FLANNELPORT"));
        var e = Assert.Throws<ArgumentException>(() => LabFaults.Validate("nope"));
        Assert.Contains(LabFaults.Mtu, e.Message);
        Assert.Equal(10, LabFaults.All.Distinct().Count());
    }
}
