using k8s.Models;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Kubernetes;

/// <summary>Reads the cluster facts the checks and plans need (one batch of GETs/LISTs per run).</summary>
public interface IClusterFactsReader
{
    /// <summary>
    /// Reads the facts. Lasting failures (Forbidden, NotFound) become data in
    /// <see cref="ClusterFacts.GatherErrors"/>; transient ones (5xx, connection refused) throw so
    /// the work queue retries with back-off.
    /// </summary>
    Task<ClusterFacts> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>Creates and deletes probe Jobs, reads probe pod logs.</summary>
public interface IProbeJobClient
{
    /// <summary>Creates the Job; false when it already exists (idempotent: a retry or a second reconcile).</summary>
    Task<bool> CreateAsync(V1Job job, CancellationToken cancellationToken);

    /// <summary>Deletes the Job and its pods (background propagation); a Job already gone is fine.</summary>
    Task DeleteAsync(string @namespace, string name, CancellationToken cancellationToken);

    /// <summary>The pod's log (at most <paramref name="limitBytes"/>), or an error text; never throws for a missing pod or log.</summary>
    Task<LogReadResult> ReadLogAsync(string @namespace, string pod, bool previous, int limitBytes, CancellationToken cancellationToken);
}

/// <summary>A pod log, or why it could not be read.</summary>
public readonly record struct LogReadResult(string? Text, string? Error)
{
    public static LogReadResult Ok(string text) => new(text, null);
    public static LogReadResult Failed(string error) => new(null, error);
}

/// <summary>Writes a diagnosis's status through the status subresource.</summary>
public interface IDiagnosisStatusWriter
{
    Task WriteAsync(V1alpha1NetworkDiagnosis diagnosis, NetworkDiagnosisStatus status, CancellationToken cancellationToken);
}
