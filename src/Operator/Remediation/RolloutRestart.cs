using System.Globalization;
using System.Text.Json.Nodes;
using k8s.Models;

namespace NetDiag.Operator.Remediation;

/// <summary>
/// Restarts, pure halves.
/// <para><b>CoreDNS</b>: what <c>kubectl rollout restart</c> does, a pod-template annotation
/// <c>kubectl.kubernetes.io/restartedAt</c> with the time; the Deployment then replaces its pods
/// under its own rolling-update rules (no DNS outage with 2 replicas). We also stamp
/// <c>netdiag.io/restarted-for-run</c>: a repeated reconcile of the same run finds it and does not
/// restart again (idempotent), while the next run may.</para>
/// <para><b>flannel</b>: its DaemonSet pods are deleted, all at once, and the DaemonSet recreates
/// them. Not a rolling DaemonSet update: one node at a time would leave restarted nodes on the new
/// VXLAN port and the rest on the old one, unable to reach each other, for the length of the roll;
/// the overlay is already failing, so the shortest mixed window is the kindest. The run stamp goes on
/// the DaemonSet's own metadata (not its template, which would start a rollout).</para>
/// </summary>
public static class RolloutRestart
{
    public const string RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";
    public const string RestartedForRunAnnotation = "netdiag.io/restarted-for-run";

    /// <summary>Whether this Deployment was already restarted for <paramref name="runId"/>.</summary>
    public static bool DeploymentRestartedFor(V1Deployment deployment, string runId) =>
        deployment.Spec?.Template?.Metadata?.Annotations?.TryGetValue(RestartedForRunAnnotation, out var r) == true && r == runId;

    /// <summary>Whether this DaemonSet's pods were already restarted for <paramref name="runId"/>.</summary>
    public static bool DaemonSetRestartedFor(V1DaemonSet daemonSet, string runId) =>
        daemonSet.Metadata?.Annotations?.TryGetValue(RestartedForRunAnnotation, out var r) == true && r == runId;

    /// <summary>Strategic-merge/merge patch body for a rollout restart of a Deployment.</summary>
    public static string DeploymentPatch(DateTimeOffset now, string runId) => new JsonObject
    {
        ["spec"] = new JsonObject
        {
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["annotations"] = new JsonObject
                    {
                        [RestartedAtAnnotation] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                        [RestartedForRunAnnotation] = runId,
                    },
                },
            },
        },
    }.ToJsonString();

    /// <summary>Merge patch that stamps the run on a DaemonSet's metadata after its pods were deleted.</summary>
    public static string DaemonSetStampPatch(string runId) => new JsonObject
    {
        ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [RestartedForRunAnnotation] = runId } },
    }.ToJsonString();

    /// <summary>The DaemonSet's pod selector as a label-selector string (<c>app=flannel,tier=node</c>); null if it has none.</summary>
    public static string? SelectorOf(V1DaemonSet daemonSet)
    {
        var labels = daemonSet.Spec?.Selector?.MatchLabels;
        if (labels is null || labels.Count == 0)
            return null;
        return string.Join(',', labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
    }
}
