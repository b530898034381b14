using Xunit.Abstractions;

namespace NetDiag.Lab.Tests;

[Collection(LabCollection.Name)]
public sealed class LifecycleTests(ITestOutputHelper output)
{
    private static async Task<IReadOnlyList<string>> NamespacesAsync(string lab)
    {
        var r = await Task.Run(() => System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip", "netns list")
        {
            RedirectStandardOutput = true,
        })!);
        var text = await r.StandardOutput.ReadToEndAsync();
        await r.WaitForExitAsync();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0]).Where(n => n.StartsWith(lab + "-", StringComparison.Ordinal)).ToList();
    }

    /// <summary>True once the process no longer runs (absent, or a zombie about to be reaped by its parent).</summary>
    private static async Task<bool> GoneAsync(int pid)
    {
        for (var i = 0; i < 100; i++)
        {
            string stat;
            try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
            catch (IOException) { return true; }
            if (stat[stat.LastIndexOf(')') + 2] is 'Z' or 'X') return true;
            await Task.Delay(50);
        }
        return false;
    }

    [Fact]
    public async Task Dispose_leaves_nothing_and_the_same_name_works_again()
    {
        var lab = await Lab.CreateAsync(output, nodes: 2);
        var holders = lab.Nodes.Select(n => n.HolderPid).ToList();
        var dnsmasq = lab.CoreDnsPods.Count;
        Assert.Equal(2, dnsmasq);
        Assert.Equal(2 + 2 + 2 + 1, (await NamespacesAsync(Lab.Name)).Count); // nodes, pod-a, coredns, underlay
        await lab.InjectFaultAsync(LabFaults.SecuritySoftware, "node-1");
        var workDir = lab.WorkDir;

        await lab.DisposeAsync();
        Assert.Empty(await NamespacesAsync(Lab.Name));
        Assert.False(Directory.Exists(workDir));
        foreach (var pid in holders) Assert.True(await GoneAsync(pid), $"holder {pid} must be gone");

        await using var again = await Lab.CreateAsync(output, nodes: 2);
        Assert.True(await Lab.PingAsync(again.Nodes[0], again.Nodes[1].OverlayIp));
    }

    [Fact]
    public async Task Leftovers_of_a_crashed_run_are_cleaned_and_never_block_the_next_run()
    {
        // "Crash": a lab that is never disposed.
        var crashed = await Lab.CreateAsync(output, nodes: 2);
        var holder = crashed.Nodes[0].HolderPid;

        // The next run with the same name cleans up first and works.
        await using (var next = await Lab.CreateAsync(output, nodes: 2))
        {
            Assert.True(next.Nodes.Any(n => n.HolderPid == holder) || await GoneAsync(holder), "the crashed run's holder must be gone");
            Assert.True(await Lab.PingAsync(next.Nodes[1], next.Nodes[0].GatewayIp));
            // Disposing the stale instance must not tear down the lab that replaced it.
            await crashed.DisposeAsync();
            Assert.True(await Lab.PingAsync(next.Nodes[1], next.Nodes[0].GatewayIp));
        }
        Assert.Empty(await NamespacesAsync(Lab.Name));

        // CleanupStale by prefix, as a test suite would call it at start.
        var another = await Lab.CreateAsync(output, nodes: 1, withDns: false);
        LabCluster.CleanupStale(Lab.Name);
        Assert.Empty(await NamespacesAsync(Lab.Name));
        await another.DisposeAsync(); // harmless after a cleanup
    }

    [Fact]
    public async Task Two_labs_with_different_names_and_indexes_coexist()
    {
        Lab.RequireRoot();
        await using var a = await LabCluster.CreateAsync(new LabOptions { Name = "ndlta", Index = 3, NodeCount = 2, WithDns = false });
        await using var b = await LabCluster.CreateAsync(new LabOptions { Name = "ndltb", Index = 4, NodeCount = 2, WithDns = false });
        Assert.NotEqual(a.Nodes[0].PodCidr, b.Nodes[0].PodCidr);
        Assert.NotEqual(a.KubeDnsServiceIp, b.KubeDnsServiceIp);
        Assert.True(await Lab.PingAsync(a.Nodes[0], a.Nodes[1].OverlayIp));
        Assert.True(await Lab.PingAsync(b.Nodes[0], b.Nodes[1].OverlayIp));
        // Separate networks: lab a cannot reach lab b's addresses.
        Assert.False(await Lab.PingAsync(a.Nodes[0], b.Nodes[1].NodeIp));
        await a.DisposeAsync();
        Assert.True(await Lab.PingAsync(b.Nodes[0], b.Nodes[1].OverlayIp));
    }

    [Fact]
    public async Task Not_root_or_bad_options_are_refused_with_a_clear_message()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => LabCluster.CreateAsync(new LabOptions { Name = "Bad-Name" }));
        await Assert.ThrowsAsync<ArgumentException>(() => LabCluster.CreateAsync(new LabOptions { Name = "ok", Index = 10 }));
        await Assert.ThrowsAsync<ArgumentException>(() => LabCluster.CreateAsync(new LabOptions { Name = "ok", NodeCount = 0 }));
    }
}
