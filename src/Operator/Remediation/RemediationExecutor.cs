using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Remediation;

/// <summary>Who acts, for which run: names, the run id, where Jobs go and what they run.</summary>
public sealed record RemediationContext(
    string DiagnosisName,
    string DiagnosisUid,
    string RunId,
    string OperatorNamespace,
    string Image,
    string? ServiceAccount,
    V1OwnerReference? Owner);

/// <summary>The outcome of one applied action. <see cref="Changed"/> is false for an idempotent no-op.</summary>
/// <param name="Job">For node actions: <c>namespace/name</c> of the remediation Job (wait for it before re-checking).</param>
public sealed record ExecutionResult(RemediationRecord Record, bool Changed, string? Job = null);

/// <summary>
/// Applies planned actions through the Kubernetes API: ConfigMap patches with the previous value in
/// an annotation, rollout restarts, pod deletes, node Jobs. Every operation is idempotent (a target
/// already reached changes nothing: same resourceVersion; a restart is stamped with the run id; Job
/// names are deterministic) and every failure becomes a Failed record, never an exception into the
/// reconcile (only cancellation propagates). It does not re-check: it reports what it did, and the
/// coordinator tells the reconcile which checks to re-run.
/// </summary>
public sealed class RemediationExecutor(IKubernetes client, TimeProvider time)
{
    /// <summary>Namespaces flannel is installed in: upstream manifests since v0.20, then the classic one.</summary>
    public static readonly IReadOnlyList<string> FlannelNamespaces = ["kube-flannel", "kube-system"];

    /// <summary>DaemonSet names of flannel: current manifests, then the per-arch names of old ones.</summary>
    public static readonly IReadOnlyList<string> FlannelDaemonSets = [RemediationPermissions.FlannelDaemonSet, "kube-flannel-ds-amd64", "kube-flannel-ds-arm64"];

    public const string CoreDnsNamespace = "kube-system";
    public const string CoreDnsName = "coredns";

    public async Task<ExecutionResult> ApplyAsync(PlannedAction action, RemediationContext context, CancellationToken cancellationToken)
    {
        try
        {
            return action.Action switch
            {
                ActionNames.PatchFlannelBackend => await PatchFlannelAsync(action, context, cancellationToken).ConfigureAwait(false),
                ActionNames.PatchCorefileForward => await PatchCorefileAsync(action, context, cancellationToken).ConfigureAwait(false),
                ActionNames.RestartCoreDns => await RestartCoreDnsAsync(action, context, cancellationToken).ConfigureAwait(false),
                _ when NodeRemediationScripts.IsNodeAction(action.Action) => await CreateNodeJobAsync(action, context, cancellationToken).ConfigureAwait(false),
                _ => Failed(action, context, $"{action.Action} is not an action this operator can apply"),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (HttpOperationException e)
        {
            return Failed(action, context, $"{action.Description} failed: the API server answered {(int)e.Response.StatusCode} {ApiMessage(e)}");
        }
        catch (Exception e)
        {
            return Failed(action, context, $"{action.Description} failed: {e.Message}");
        }
    }

    /// <summary>Where kube-flannel-cfg lives, or null when flannel's ConfigMap is in neither namespace.</summary>
    public async Task<string?> FindFlannelNamespaceAsync(CancellationToken cancellationToken)
    {
        foreach (var ns in FlannelNamespaces)
        {
            if (await ReadOrNullAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(RemediationPermissions.FlannelConfigMap, ns, cancellationToken: cancellationToken)).ConfigureAwait(false) is not null)
                return ns;
        }

        return null;
    }

    private async Task<ExecutionResult> PatchFlannelAsync(PlannedAction action, RemediationContext context, CancellationToken ct)
    {
        var ns = action.FlannelNamespace ?? await FindFlannelNamespaceAsync(ct).ConfigureAwait(false);
        if (ns is null)
            return Failed(action, context, $"ConfigMap {RemediationPermissions.FlannelConfigMap} not found in {string.Join(" or ", FlannelNamespaces)}");
        var cm = await ReadOrNullAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(RemediationPermissions.FlannelConfigMap, ns, cancellationToken: ct)).ConfigureAwait(false);
        if (cm is null)
            return Failed(action, context, $"ConfigMap {ns}/{RemediationPermissions.FlannelConfigMap} not found");
        if (cm.Data?.TryGetValue(FlannelNetConfPatch.DataKey, out var netConf) != true || netConf is null)
            return Failed(action, context, $"ConfigMap {ns}/{RemediationPermissions.FlannelConfigMap} has no {FlannelNetConfPatch.DataKey}");

        var patch = action.HostGw ? FlannelNetConfPatch.SetHostGw(netConf) : FlannelNetConfPatch.SetVxlanPort(netConf, action.Port ?? 0);
        if (patch.Error is not null)
            return Failed(action, context, $"cannot patch {ns}/{RemediationPermissions.FlannelConfigMap}: {patch.Error}");

        var what = new List<string>();
        if (patch.Changed)
        {
            await client.CoreV1.PatchNamespacedConfigMapAsync(
                new V1Patch(ConfigMapPatchBody.Build(FlannelNetConfPatch.DataKey, patch.NewText, FlannelNetConfPatch.PreviousAnnotation, patch.PreviousText, cm.Metadata.ResourceVersion, context.DiagnosisName, context.RunId), V1Patch.PatchType.MergePatch),
                RemediationPermissions.FlannelConfigMap, ns, fieldManager: WellKnown.FieldManager, cancellationToken: ct).ConfigureAwait(false);
            what.Add($"patched {ns}/{RemediationPermissions.FlannelConfigMap} {patch.Summary} (previous net-conf.json in annotation {FlannelNetConfPatch.PreviousAnnotation})");
        }
        else
        {
            what.Add($"{ns}/{RemediationPermissions.FlannelConfigMap}: {patch.Summary}, nothing to patch");
        }

        // Restart flannel so it reads the new config: delete its pods (all at once, see RolloutRestart).
        var restarted = await RestartFlannelAsync(ns, context.RunId, ct).ConfigureAwait(false);
        what.Add(restarted.Message);
        return new ExecutionResult(Applied(action, context, string.Join("; ", what)), patch.Changed || restarted.Changed);
    }

    private async Task<(bool Changed, string Message)> RestartFlannelAsync(string ns, string runId, CancellationToken ct)
    {
        V1DaemonSet? ds = null;
        foreach (var name in FlannelDaemonSets)
        {
            ds = await ReadOrNullAsync(() => client.AppsV1.ReadNamespacedDaemonSetAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false);
            if (ds is not null)
                break;
        }

        if (ds is null)
            throw new InvalidOperationException($"no flannel DaemonSet ({string.Join(", ", FlannelDaemonSets)}) in {ns} to restart");
        if (RolloutRestart.DaemonSetRestartedFor(ds, runId))
            return (false, $"flannel pods already restarted for run {runId}");
        var selector = RolloutRestart.SelectorOf(ds)
            ?? throw new InvalidOperationException($"DaemonSet {ns}/{ds.Metadata.Name} has no matchLabels selector to find its pods");

        var pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: ct).ConfigureAwait(false);
        var deleted = 0;
        foreach (var pod in pods.Items)
        {
            if (await DeleteOrGoneAsync(() => client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, ns, cancellationToken: ct)).ConfigureAwait(false))
                deleted++;
        }

        // Stamp after deleting: a failure between the two repeats the restart, never skips it.
        await client.AppsV1.PatchNamespacedDaemonSetAsync(
            new V1Patch(RolloutRestart.DaemonSetStampPatch(runId), V1Patch.PatchType.MergePatch),
            ds.Metadata.Name, ns, fieldManager: WellKnown.FieldManager, cancellationToken: ct).ConfigureAwait(false);
        return (true, $"deleted {deleted} pod(s) of DaemonSet {ns}/{ds.Metadata.Name} for it to recreate with the new config");
    }

    private async Task<ExecutionResult> PatchCorefileAsync(PlannedAction action, RemediationContext context, CancellationToken ct)
    {
        var cm = await ReadOrNullAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(CoreDnsName, CoreDnsNamespace, cancellationToken: ct)).ConfigureAwait(false);
        if (cm is null)
            return Failed(action, context, $"ConfigMap {CoreDnsNamespace}/{CoreDnsName} not found");
        if (cm.Data?.TryGetValue(CorefileForwardPatch.DataKey, out var corefile) != true || corefile is null)
            return Failed(action, context, $"ConfigMap {CoreDnsNamespace}/{CoreDnsName} has no {CorefileForwardPatch.DataKey}");

        var patch = CorefileForwardPatch.Apply(corefile, action.Upstreams);
        if (patch.Error is not null)
            return Failed(action, context, $"cannot patch the Corefile: {patch.Error}");
        if (!patch.Changed)
            return new ExecutionResult(Applied(action, context, $"{CoreDnsNamespace}/{CoreDnsName}: {patch.Summary}, nothing to patch"), false);

        await client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch(ConfigMapPatchBody.Build(CorefileForwardPatch.DataKey, patch.NewText, CorefileForwardPatch.PreviousAnnotation, patch.PreviousText, cm.Metadata.ResourceVersion, context.DiagnosisName, context.RunId), V1Patch.PatchType.MergePatch),
            CoreDnsName, CoreDnsNamespace, fieldManager: WellKnown.FieldManager, cancellationToken: ct).ConfigureAwait(false);
        return new ExecutionResult(
            Applied(action, context, $"patched {CoreDnsNamespace}/{CoreDnsName} Corefile: {patch.Summary} (previous Corefile in annotation {CorefileForwardPatch.PreviousAnnotation})"),
            true);
    }

    private async Task<ExecutionResult> RestartCoreDnsAsync(PlannedAction action, RemediationContext context, CancellationToken ct)
    {
        var deployment = await ReadOrNullAsync(() => client.AppsV1.ReadNamespacedDeploymentAsync(CoreDnsName, CoreDnsNamespace, cancellationToken: ct)).ConfigureAwait(false);
        if (deployment is null)
            return Failed(action, context, $"Deployment {CoreDnsNamespace}/{CoreDnsName} not found");
        if (RolloutRestart.DeploymentRestartedFor(deployment, context.RunId))
            return new ExecutionResult(Applied(action, context, $"Deployment {CoreDnsNamespace}/{CoreDnsName} already restarted for run {context.RunId}"), false);

        await client.AppsV1.PatchNamespacedDeploymentAsync(
            new V1Patch(RolloutRestart.DeploymentPatch(time.GetUtcNow(), context.RunId), V1Patch.PatchType.MergePatch),
            CoreDnsName, CoreDnsNamespace, fieldManager: WellKnown.FieldManager, cancellationToken: ct).ConfigureAwait(false);
        return new ExecutionResult(Applied(action, context, $"rollout restart of Deployment {CoreDnsNamespace}/{CoreDnsName} (pod template annotation {RolloutRestart.RestartedAtAnnotation})"), true);
    }

    private async Task<ExecutionResult> CreateNodeJobAsync(PlannedAction action, RemediationContext context, CancellationToken ct)
    {
        var request = new NodeJobRequest(action.Action, action.Node ?? "", action.ConntrackTarget, action.PreviousValue,
            context.DiagnosisName, context.DiagnosisUid, context.RunId, context.OperatorNamespace, context.Image, context.ServiceAccount);
        if (string.IsNullOrEmpty(request.Node))
            return Failed(action, context, "no node to run the fix on");
        var job = NodeRemediationJob.Build(request, context.Owner);
        if (job is null)
            return Failed(action, context, $"no script for {action.Action} with the facts found");

        var id = $"{context.OperatorNamespace}/{job.Metadata.Name}";
        try
        {
            await client.BatchV1.CreateNamespacedJobAsync(job, context.OperatorNamespace, fieldManager: WellKnown.FieldManager, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Deterministic name: it exists because this run already created it.
            return new ExecutionResult(Applied(action, context, $"Job {id} on node {request.Node} was already created for run {context.RunId}"), false, id);
        }

        return new ExecutionResult(Applied(action, context, $"created Job {id} on node {request.Node} to {action.Description.Replace($"run a Job on node {request.Node} that ", "", StringComparison.Ordinal)}"), true, id);
    }

    private static async Task<T?> ReadOrNullAsync<T>(Func<Task<T>> read) where T : class
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Deletes; true if deleted now, false if it was already gone (404).</summary>
    private static async Task<bool> DeleteOrGoneAsync(Func<Task> delete)
    {
        try
        {
            await delete().ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private static string ApiMessage(HttpOperationException e)
    {
        var body = e.Response.Content;
        if (string.IsNullOrWhiteSpace(body))
            return e.Message;
        try
        {
            var status = KubernetesJson.Deserialize<V1Status>(body);
            return status?.Message ?? body;
        }
        catch (Exception)
        {
            return body.Length > 300 ? body[..300] : body;
        }
    }

    private RemediationRecord Record(PlannedAction action, RemediationContext context, string result, string message, string? recheck) => new()
    {
        Action = action.Action,
        Target = action.Target,
        Time = time.GetUtcNow().UtcDateTime,
        DryRun = false,
        Result = result,
        Message = message,
        Recheck = recheck,
        Run = context.RunId,
    };

    private RemediationRecord Applied(PlannedAction action, RemediationContext context, string message) =>
        Record(action, context, RemediationResults.Applied, message, RemediationResults.RecheckPending);

    private ExecutionResult Failed(PlannedAction action, RemediationContext context, string message) =>
        new(Record(action, context, RemediationResults.Failed, message, null), false);
}
