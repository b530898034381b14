using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace NetDiag.Entities.Api;

/// <summary>
/// A cluster-scoped request to diagnose the cluster network (../shared/api.md).
/// The CRD in config/crd is generated from these types by <c>make manifests</c>.
/// </summary>
public sealed class V1alpha1NetworkDiagnosis : IKubernetesObject<V1ObjectMeta>, ISpec<NetworkDiagnosisSpec>, IStatus<NetworkDiagnosisStatus?>
{
    public const string KubeGroup = "netdiag.io";
    public const string KubeApiVersion = "v1alpha1";
    public const string KubeKind = "NetworkDiagnosis";
    public const string KubePluralName = "networkdiagnoses";
    public const string KubeSingularName = "networkdiagnosis";
    public const string KubeListKind = "NetworkDiagnosisList";
    public const string ShortName = "nd";
    public const string Category = "netdiag";
    public const string GroupVersion = KubeGroup + "/" + KubeApiVersion;

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = KubeKind;
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public NetworkDiagnosisSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public NetworkDiagnosisStatus? Status { get; set; }
}

public sealed class V1alpha1NetworkDiagnosisList : IKubernetesObject<V1ListMeta>, IItems<V1alpha1NetworkDiagnosis>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = V1alpha1NetworkDiagnosis.GroupVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = V1alpha1NetworkDiagnosis.KubeListKind;
    [JsonPropertyName("metadata")] public V1ListMeta Metadata { get; set; } = new();
    [JsonPropertyName("items")] public IList<V1alpha1NetworkDiagnosis> Items { get; set; } = [];
}
