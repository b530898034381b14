using Xunit.Abstractions;

namespace NetDiag.Lab.Tests;

[Collection(LabCollection.Name)]
public sealed class SmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Creates_and_disposes()
    {
        await using var lab = await Lab.CreateAsync(output);
        output.WriteLine($"created in {lab.CreationTime.TotalMilliseconds} ms");
        var r = await lab.Nodes[0].ExecAsync("sh", "-c", "ip -br addr; ip route; ps -ef; cat /proc/sys/net/ipv4/ip_forward; iptables-save");
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
    }
}
