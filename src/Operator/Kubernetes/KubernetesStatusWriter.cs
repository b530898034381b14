using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Kubernetes;

/// <summary>
/// Writes status with a JSON merge patch on the <c>/status</c> subresource: no resourceVersion, so
/// no conflict with the spec being edited meanwhile. Fields that became empty are sent as null so
/// the merge removes them; lists (findings, conditions) are replaced whole, as merge patch does.
/// </summary>
public sealed class KubernetesStatusWriter(IKubernetes client) : IDiagnosisStatusWriter
{
    private static readonly string[] StatusFields = typeof(NetworkDiagnosisStatus)
        .GetProperties()
        .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name)
        .OfType<string>()
        .ToArray();

    public async Task WriteAsync(V1alpha1NetworkDiagnosis diagnosis, NetworkDiagnosisStatus status, CancellationToken ct)
    {
        var body = PatchBody(status);
        await client.CustomObjects.PatchClusterCustomObjectStatusAsync(
            new V1Patch(body, V1Patch.PatchType.MergePatch),
            V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion, V1alpha1NetworkDiagnosis.KubePluralName,
            diagnosis.Metadata.Name, fieldManager: WellKnown.FieldManager, cancellationToken: ct);
    }

    /// <summary>The merge patch: <c>{"status": {...every field, null where empty}}</c>.</summary>
    public static string PatchBody(NetworkDiagnosisStatus status)
    {
        var node = JsonNode.Parse(KubernetesJson.Serialize(status))!.AsObject();
        foreach (var field in StatusFields)
            if (!node.ContainsKey(field)) node[field] = null;
        return new JsonObject { ["status"] = node }.ToJsonString();
    }
}
