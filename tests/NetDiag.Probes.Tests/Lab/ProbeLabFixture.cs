using System.Diagnostics;
using NetDiag.Entities.Reports;
using NetDiag.Lab;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace NetDiag.Probes.Tests.Lab;

/// <summary>The real-kernel probe tests share one lab and change its state: one collection, run serially.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProbeLabCollection : ICollectionFixture<ProbeLabFixture>
{
    public const string Name = "probe-lab";
}

/// <summary>What one run of the real probe program inside a lab node produced.</summary>
public sealed record ProbeRun(int ExitCode, string Stdout, string Stderr, ProbeReport? Report, string? TerminationMessage)
{
    public CheckResult Check(string name) => Report!.Checks.Single(c => c.Check == name);
    public IEnumerable<Finding> Findings(string check) => Report!.Findings.Where(f => f.Check == check);
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// A three-node lab (network, PID and mount namespaces per node; real VXLAN, iptables, dnsmasq)
/// and a way to run the real probe program inside a node, exactly as the probe Job runs on a
/// host: the node's /proc and network, its host root as <c>hostRoot</c>, results via stdout and a
/// termination-message file. Needs root; fails (never skips) without it.
/// </summary>
public sealed class ProbeLabFixture : IAsyncLifetime
{
    public LabCluster Lab { get; private set; } = null!;

    /// <summary>The framework-dependent probe, copied next to the tests by the project reference.</summary>
    public static string ProbeDll => Path.Combine(AppContext.BaseDirectory, "netdiag-probe.dll");

    public async Task InitializeAsync()
    {
        var uid = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:"))
            .Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[2];
        Assert.True(uid == "0", "The probe lab tests need root (network namespaces, iptables, raw ICMP). Run them as root; they never skip.");
        Assert.True(File.Exists(ProbeDll), $"the probe was not built next to the tests: {ProbeDll}");
        Lab = await LabCluster.CreateAsync(new LabOptions { Name = "ndpt", Index = 5, NodeCount = 3 });
    }

    public async Task DisposeAsync()
    {
        if (Lab is not null) await Lab.DisposeAsync();
    }

    /// <summary>
    /// The plan the operator would write for <paramref name="node"/>. The per-target timeout is
    /// generous because CI machines are busy; it only costs time when a target is really dead.
    /// </summary>
    public ProbePlan PlanFor(LabNode node, params string[] checks) => new()
    {
        Node = node.Name,
        Checks = [.. checks],
        Self = new PeerNode { Name = node.Name, NodeIp = node.NodeIp, PodCidr = node.PodCidr },
        Peers = Lab.Nodes.Where(n => n != node).Select(n => new PeerNode { Name = n.Name, NodeIp = n.NodeIp, PodCidr = n.PodCidr }).ToList(),
        CoreDnsPodIps = [.. Lab.CoreDnsPodIps],
        KubeDnsServiceIp = Lab.KubeDnsServiceIp,
        KubernetesServiceIp = Lab.KubernetesServiceIp,
        RunsCoreDns = node.Pods.Any(p => p.IsCoreDns),
        Flannel = new FlannelBackend { Type = "vxlan", Port = Lab.VxlanPort, Network = Lab.FlannelNetwork },
        HostRoot = node.HostRoot,
        Timeouts = new ProbeTimeouts { PerTargetMs = 2000, CollectorMs = 10000 },
    };

    /// <summary>Runs the probe inside the node with a plan (or with raw arguments when <paramref name="plan"/> is null).</summary>
    public async Task<ProbeRun> RunAsync(LabNode node, ProbePlan? plan, params string[] extraArgs)
    {
        var dir = Directory.CreateTempSubdirectory("netdiag-probe-run-").FullName;
        try
        {
            var termination = Path.Combine(dir, "termination-log");
            var args = new List<string> { ProbeDll, "--output", "json", "--termination-log", termination };
            if (plan is not null)
            {
                var planFile = Path.Combine(dir, "plan.json");
                await File.WriteAllTextAsync(planFile, ProbeReportCodec.SerializePlan(plan));
                args.AddRange(["--plan", planFile]);
            }
            args.AddRange(extraArgs);
            var r = await node.ExecAsync(DotnetPath, args, null, default, TimeSpan.FromSeconds(60));
            ProbeReportCodec.TryParseFromLog(r.StdOut, out var report, out _);
            var tm = File.Exists(termination) ? await File.ReadAllTextAsync(termination) : null;
            return new ProbeRun(r.ExitCode, r.StdOut, r.StdErr, report, tm);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The dotnet host that runs the tests (the same runtime the probe was built for).</summary>
    private static string DotnetPath =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p
        : Process.GetCurrentProcess().MainModule?.FileName is { } m && Path.GetFileName(m) == "dotnet" ? m
        : "dotnet";
}
