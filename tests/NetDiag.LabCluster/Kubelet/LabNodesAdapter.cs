using NetnsLab = NetDiag.Lab.LabCluster;
using System.Collections.Concurrent;
using NetDiag.Lab;

namespace NetDiag.LabCluster.Kubelet;

/// <summary><see cref="ILabNodes"/> over the network-namespace lab (tests/NetDiag.Lab).</summary>
public sealed class LabNodesAdapter(NetnsLab lab) : ILabNodes
{
    /// <summary>A container's budget when nothing else ends it (its pod's deletion cancels sooner).</summary>
    private static readonly TimeSpan ContainerTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The environment a container starts with besides its own env (an image's usual ENV).</summary>
    private static readonly IReadOnlyDictionary<string, string> BaseEnvironment = new Dictionary<string, string>
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ["HOME"] = "/root",
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
    };

    private readonly ConcurrentDictionary<string, LabProcess> _processes = new();

    public int VxlanPort => lab.VxlanPort;

    public async Task<NodeRunResult> RunAsync(string node, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        // `env -i`: the container sees its own environment, not the test host's (no KUBECONFIG,
        // no test-runner variables), as in a real container.
        var args = new List<string> { "-i" };
        foreach (var (k, v) in BaseEnvironment.Concat(environment.Where(e => !BaseEnvironment.ContainsKey(e.Key)))) args.Add($"{k}={v}");
        foreach (var (k, v) in environment.Where(e => BaseEnvironment.ContainsKey(e.Key))) args.Add($"{k}={v}");
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) args.Add($"DOTNET_ROOT={root}");
        args.AddRange(argv);
        var result = await lab.Node(node).ExecAsync("env", args, null, ct, ContainerTimeout);
        return new NodeRunResult(result.ExitCode, result.StdOut, result.StdErr);
    }

    public Task RebuildOverlayAsync(int port, CancellationToken ct) => lab.RebuildOverlayAsync(port, ct);

    public async Task<Func<Task>> StartInNodeAsync(string node, IReadOnlyList<string> argv, CancellationToken ct)
    {
        var p = await lab.Node(node).StartInNodeAsync(argv[0], argv.Skip(1), ct);
        return p.StopAsync;
    }
}
