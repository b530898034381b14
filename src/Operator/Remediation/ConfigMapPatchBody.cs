using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NetDiag.Operator.Remediation;

/// <summary>
/// The one patch body used for config changes (Corefile, net-conf.json), pure. A JSON merge patch
/// that writes the new value, the previous value as an annotation (rollback: docs/remediation.md),
/// who patched it, and the resourceVersion that was read: the API server refuses the patch with 409
/// if anyone changed the ConfigMap in between, so a concurrent edit is never silently overwritten.
/// </summary>
public static class ConfigMapPatchBody
{
    /// <summary>
    /// Merge patch for a config change on a ConfigMap: the new value under <paramref name="dataKey"/>,
    /// the previous value in <paramref name="previousAnnotation"/>, and the resourceVersion read, so
    /// a concurrent edit makes the patch fail with 409 instead of being overwritten.
    /// </summary>
    public static string Build(string dataKey, string newValue, string previousAnnotation, string previousValue, string? resourceVersion, string diagnosis, string runId)
    {
        var metadata = new JsonObject
        {
            ["annotations"] = new JsonObject
            {
                [previousAnnotation] = previousValue,
                [PatchedByAnnotation] = $"{diagnosis}/{runId}",
            },
        };
        if (!string.IsNullOrEmpty(resourceVersion))
            metadata["resourceVersion"] = resourceVersion;
        return new JsonObject
        {
            ["metadata"] = metadata,
            ["data"] = new JsonObject { [dataKey] = newValue },
        }.ToJsonString(Options);
    }

    /// <summary>Which diagnosis and run last patched a ConfigMap (<c>name/run</c>).</summary>
    public const string PatchedByAnnotation = "netdiag.io/patched-by";

    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
