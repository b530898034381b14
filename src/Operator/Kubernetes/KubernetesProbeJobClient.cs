using k8s;
using k8s.Models;

namespace NetDiag.Operator.Kubernetes;

/// <summary>Probe Jobs through batch/v1 (GA since 1.x, so 1.20 through today).</summary>
public sealed class KubernetesProbeJobClient(IKubernetes client) : IProbeJobClient
{
    public async Task<bool> CreateAsync(V1Job job, CancellationToken ct)
    {
        try
        {
            await client.BatchV1.CreateNamespacedJobAsync(job, job.Metadata.NamespaceProperty, fieldManager: Entities.Api.WellKnown.FieldManager, cancellationToken: ct);
            return true;
        }
        catch (Exception e) when (ApiErrors.IsConflict(e))
        {
            // AlreadyExists: an earlier reconcile (or the one before a restart) created it. Same
            // deterministic name, same node, same run: nothing to do.
            return false;
        }
    }

    public async Task DeleteAsync(string ns, string name, CancellationToken ct)
    {
        try
        {
            await client.BatchV1.DeleteNamespacedJobAsync(name, ns, propagationPolicy: "Background", cancellationToken: ct);
        }
        catch (Exception e) when (ApiErrors.IsNotFound(e))
        {
        }
    }

    public async Task<LogReadResult> ReadLogAsync(string ns, string pod, bool previous, int limitBytes, CancellationToken ct)
    {
        try
        {
            using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod, ns, previous: previous, limitBytes: limitBytes, cancellationToken: ct);
            using var reader = new StreamReader(stream);
            return LogReadResult.Ok(await reader.ReadToEndAsync(ct));
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Not fatal: the compact report from the termination message is used instead.
            return LogReadResult.Failed(ApiErrors.Describe(e));
        }
    }
}
