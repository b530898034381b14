using System.Text.Json.Nodes;
using k8s;
using NetDiag.Entities.Api;
using NetDiag.Entities.Tests.Support;
using NetDiag.Entities.Validation;
using NetDiag.Tools.CrdGen;

namespace NetDiag.Entities.Tests.Manifests;

/// <summary>
/// config/samples are what users copy: each must be accepted by the CRD schema and by the
/// operator without a warning. config/samples/invalid/ documents the two lines of defence: each
/// file says in its header who refuses it (<c># refused-by: schema|operator</c>) and which field
/// the error names (<c># field: spec.x</c>); these tests hold the files to it.
/// </summary>
public class SampleTests
{
    private static readonly JsonObject Root =
        (JsonObject)CrdGenerator.Build()["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!;

    private static readonly NetworkDiagnosisValidator Validator = new();

    public static TheoryData<string> Samples => new(SampleFiles("config/samples"));

    public static TheoryData<string> InvalidSamples => new(SampleFiles("config/samples/invalid"));

    private static IEnumerable<string> SampleFiles(string dir) =>
        Directory.GetFiles(RepoPaths.Combine(dir), "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f))
            .Order(StringComparer.Ordinal);

    [Fact]
    public void There_is_a_sample_for_each_scenario()
    {
        Assert.True(SampleFiles("config/samples").Count() >= 6, "expected at least six samples");
        Assert.True(SampleFiles("config/samples/invalid").Count() >= 4, "expected invalid samples for both the schema and the operator");
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Sample_is_accepted_by_the_schema_and_the_operator_without_a_warning(string file)
    {
        var json = YamlDocuments.LoadSingle(RepoPaths.Combine(file));
        Assert.Equal(V1alpha1NetworkDiagnosis.GroupVersion, json["apiVersion"]!.GetValue<string>());
        Assert.Equal(V1alpha1NetworkDiagnosis.KubeKind, json["kind"]!.GetValue<string>());
        Assert.Empty(StructuralSchema.Validate(json, Root));

        StructuralSchema.ApplyDefaults(json, Root);
        var diagnosis = KubernetesJson.Deserialize<V1alpha1NetworkDiagnosis>(json.ToJsonString());
        var result = Validator.Validate(diagnosis);

        Assert.True(result.Errors.Count == 0, $"{file}: {string.Join(" | ", result.Errors)}");
    }

    [Fact]
    public void Samples_kustomization_lists_every_sample()
    {
        var listed = YamlDocuments.LoadSingle(RepoPaths.Combine("config/samples/kustomization.yaml"))["resources"]!
            .AsArray().Select(r => "config/samples/" + r!.GetValue<string>()).Order(StringComparer.Ordinal);

        Assert.Equal(SampleFiles("config/samples"), listed);
    }

    [Fact]
    public void The_all_checks_sample_lists_the_whole_catalog()
    {
        var json = YamlDocuments.LoadSingle(RepoPaths.Combine("config/samples/netdiag_v1alpha1_all-checks.yaml"));

        Assert.Equal(CheckNames.All, json["spec"]!["checks"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Theory]
    [MemberData(nameof(InvalidSamples))]
    public void Invalid_sample_is_refused_by_whom_its_header_says_naming_the_field(string file)
    {
        var (refusedBy, field) = InvalidSampleHeader.Read(RepoPaths.Combine(file));
        var json = YamlDocuments.LoadSingle(RepoPaths.Combine(file));
        var schemaErrors = StructuralSchema.Validate(json, Root);

        if (refusedBy == "schema")
        {
            Assert.NotEmpty(schemaErrors);
            Assert.All(schemaErrors, e => Assert.StartsWith(field, e));
            return;
        }

        Assert.Equal("operator", refusedBy);
        Assert.Empty(schemaErrors);
        StructuralSchema.ApplyDefaults(json, Root);
        var result = Validator.Validate(KubernetesJson.Deserialize<V1alpha1NetworkDiagnosis>(json.ToJsonString()));
        Assert.True(result.HasErrors(), $"{file} passed the validator");
        Assert.All(result.ErrorMessages(), m => Assert.StartsWith(field, m));
        Assert.StartsWith(field + ": ", result.ToConditionMessage());
    }
}

/// <summary>The <c># refused-by:</c> and <c># field:</c> header lines of a config/samples/invalid file.</summary>
public static class InvalidSampleHeader
{
    public static (string RefusedBy, string Field) Read(string path)
    {
        var header = File.ReadLines(path).TakeWhile(l => l.StartsWith('#'))
            .Select(l => l.TrimStart('#').Trim().Split(':', 2))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
        Assert.True(header.ContainsKey("refused-by") && header.ContainsKey("field"),
            $"{path} must start with '# refused-by: schema|operator' and '# field: spec.x' lines");
        return (header["refused-by"], header["field"]);
    }
}
