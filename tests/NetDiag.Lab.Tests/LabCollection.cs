using Xunit.Abstractions;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace NetDiag.Lab.Tests;

/// <summary>Lab tests change kernel state: one collection, run serially.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "lab";
}

/// <summary>Helpers shared by the lab tests.</summary>
internal static class Lab
{
    /// <summary>A lab name per test process, so a parallel run of another assembly never collides.</summary>
    public const string Name = "ndlt";

    /// <summary>Fails (never skips) when not root: the lab cannot exist without it.</summary>
    public static void RequireRoot()
    {
        var uid = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:"))
            .Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[2];
        Assert.True(uid == "0", "The lab tests need root (network namespaces, iptables). Run them as root; they never skip.");
    }

    public static async Task<LabCluster> CreateAsync(ITestOutputHelper output, int nodes = 4, bool withDns = true)
    {
        RequireRoot();
        return await LabCluster.CreateAsync(new LabOptions
        {
            Name = Name, Index = 7, NodeCount = nodes, WithDns = withDns,
            Log = line => { try { output.WriteLine(line); } catch (InvalidOperationException) { } },
        });
    }

    /// <summary>
    /// Two echo requests, 200 ms apart, 1 s to answer: true when any reply came back (so a
    /// loaded machine does not turn one slow first packet into a failure), false when none did.
    /// </summary>
    public static async Task<bool> PingAsync(LabNode from, string to, int size = 56, string? source = null)
    {
        string[] args = source is null
            ? ["-c", "2", "-i", "0.2", "-W", "1", "-s", size.ToString(), "-M", "do", to]
            : ["-c", "2", "-i", "0.2", "-W", "1", "-s", size.ToString(), "-M", "do", "-I", source, to];
        return (await from.ExecAsync("ping", args)).ExitCode == 0;
    }
}

/// <summary>Reads and queries used by several tests (all run inside lab nodes).</summary>
internal static class Probe
{
    public static async Task<long> CounterAsync(LabNode node, string device, string counter)
    {
        var r = (await node.ExecAsync("cat", $"/sys/class/net/{device}/statistics/{counter}")).EnsureSuccess("counter");
        return long.Parse(r.StdOut.Trim());
    }

    public static async Task<string> ReadAsync(LabNode node, string path)
        => (await node.ExecAsync("cat", path)).EnsureSuccess($"cat {path} in {node.Name}").StdOut.Trim();

    /// <summary>busybox nslookup inside the node, bounded by timeout(1): true when the answer names <paramref name="expectedIp"/>.</summary>
    public static async Task<LabExecResult> LookupAsync(LabNode node, string server)
        => await node.ExecAsync("timeout", "3", "busybox", "nslookup", "-type=a", LabCluster.KubernetesServiceName, server);

    /// <remarks>busybox 1.35's wget crashes (SIGSEGV) with -T, so timeout(1) bounds it instead.</remarks>
    public static async Task<LabExecResult> MetricsAsync(LabNode node, string ip)
        => await node.ExecAsync("timeout", "3", "busybox", "wget", "-q", "-O", "-", $"http://{ip}:9153/metrics");
}
