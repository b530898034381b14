namespace NetDiag.LabCluster.Kubelet;

/// <summary>The outcome of a process run inside a node.</summary>
public sealed record NodeRunResult(int ExitCode, string StdOut, string StdErr);

/// <summary>
/// What the lab kubelet needs from the network-namespace lab: run a program inside a node (its
/// network, PID and mount namespaces, as a hostNetwork/hostPID container), and rebuild the flannel
/// overlay the way flanneld does when it (re)starts with a new backend port.
/// </summary>
public interface ILabNodes
{
    /// <summary>Runs <paramref name="argv"/> with <paramref name="environment"/> inside <paramref name="node"/>; cancellation kills it.</summary>
    Task<NodeRunResult> RunAsync(string node, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment, CancellationToken ct);

    /// <summary>The VXLAN port the overlay currently uses.</summary>
    int VxlanPort { get; }

    /// <summary>Rebuilds every node's flannel.1 on <paramref name="port"/> (flanneld's vxlan backend setup).</summary>
    Task RebuildOverlayAsync(int port, CancellationToken ct);

    /// <summary>Starts a long-lived program inside <paramref name="node"/>; the returned function stops it.</summary>
    Task<Func<Task>> StartInNodeAsync(string node, IReadOnlyList<string> argv, CancellationToken ct);
}
