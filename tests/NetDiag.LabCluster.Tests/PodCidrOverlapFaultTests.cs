using NetDiag.LabCluster.Faults;

namespace NetDiag.LabCluster.Tests;

public sealed class PodCidrOverlapFaultTests
{
    private static readonly Dictionary<string, string> Cidrs = new()
    {
        ["node-1"] = "10.244.1.0/24", ["node-2"] = "10.244.2.0/24", ["node-3"] = "10.244.3.0/24", ["node-4"] = "10.244.4.0/24",
    };

    [Fact]
    public void Claims_the_smallest_supernet_that_covers_a_neighbour()
    {
        var (claim, overlapped) = PodCidrOverlapFault.Claim("node-2", Cidrs);
        Assert.Equal("10.244.2.0/23", claim);
        Assert.Equal(["node-3"], overlapped);
        // still contains the node's own range: its cni0 and flannel.1 addresses stay inside
        Assert.True(PodCidrOverlapFault.Overlap(claim, Cidrs["node-2"]));
    }

    [Fact]
    public void Node_1_reaches_down_to_a_wider_range()
    {
        var (claim, overlapped) = PodCidrOverlapFault.Claim("node-1", Cidrs);
        Assert.Equal("10.244.0.0/22", claim);
        Assert.Equal(["node-2", "node-3"], overlapped);
    }

    [Theory]
    [InlineData("10.244.0.0/16", "10.244.3.0/24", true)]
    [InlineData("10.244.2.0/24", "10.244.3.0/24", false)]
    [InlineData("bogus", "10.244.3.0/24", false)]
    public void Overlap(string a, string b, bool expected) => Assert.Equal(expected, PodCidrOverlapFault.Overlap(a, b));
}
