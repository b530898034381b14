using NetDiag.LabCluster.Faults;

namespace NetDiag.LabCluster.Tests;

public sealed class FaultParserTests
{
    private static readonly string[] Nodes = ["node-1", "node-2", "node-3", "node-4"];
    private static readonly string[] CoreDnsNodes = ["node-1", "node-2"];

    [Fact]
    public void Parses_names_with_and_without_nodes()
    {
        Assert.True(FaultParser.TryParse("flannelPort:node-2, ipForward:node-3,dnsLoop", out var faults, out var error), error);
        Assert.Equal([new("flannelPort", "node-2"), new("ipForward", "node-3"), new FaultRequest("dnsLoop", null)], faults);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("none")]
    public void Empty_means_no_fault(string? text)
    {
        Assert.True(FaultParser.TryParse(text, out var faults, out _));
        Assert.Empty(faults);
    }

    [Fact]
    public void Unknown_fault_is_an_error_listing_the_valid_names()
    {
        Assert.False(FaultParser.TryParse("flannelPort:node-2,bogus:node-1", out var faults, out var error));
        Assert.Empty(faults);
        Assert.Contains("unknown fault 'bogus'", error);
        foreach (var name in FaultNames.All) Assert.Contains(name, error);
    }

    [Fact]
    public void Wrong_case_gets_a_suggestion()
    {
        Assert.False(FaultParser.TryParse("ipforward", out _, out var error));
        Assert.Contains("did you mean 'ipForward'", error);
    }

    [Fact]
    public void Defaults_dnsLoop_to_the_CoreDNS_nodes_and_others_to_the_second_node()
    {
        FaultParser.TryParse("dnsLoop,mtu", out var requests, out _);
        Assert.True(FaultParser.TryResolve(requests, Nodes, CoreDnsNodes, out var resolved, out var error), error);
        Assert.Equal(["node-1", "node-2"], resolved.Single(f => f.Name == "dnsLoop").Nodes);
        Assert.Equal(["node-2"], resolved.Single(f => f.Name == "mtu").Nodes);
    }

    [Theory]
    [InlineData("node-3", "node-3")]
    [InlineData("3", "node-3")]
    [InlineData("ndl-node-3", null)]
    [InlineData("node-9", null)]
    public void Resolves_nodes_by_name_suffix_or_index(string written, string? expected)
    {
        Assert.Equal(expected, FaultParser.ResolveNode(written, Nodes));
    }

    [Fact]
    public void Unknown_node_is_an_error_naming_the_nodes()
    {
        FaultParser.TryParse("ipForward:node-7", out var requests, out _);
        Assert.False(FaultParser.TryResolve(requests, Nodes, CoreDnsNodes, out _, out var error));
        Assert.Contains("node-7", error);
        Assert.Contains("node-1, node-2, node-3, node-4", error);
    }

    [Fact]
    public void The_same_fault_on_two_nodes_is_one_fault_on_both()
    {
        FaultParser.TryParse("mtu:node-2,mtu:node-4", out var requests, out _);
        FaultParser.TryResolve(requests, Nodes, CoreDnsNodes, out var resolved, out _);
        Assert.Equal(["node-2", "node-4"], Assert.Single(resolved).Nodes);
    }
}
