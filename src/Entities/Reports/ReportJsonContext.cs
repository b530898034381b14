using System.Text.Json.Serialization;

namespace NetDiag.Entities.Reports;

/// <summary>Source-generated JSON for the plan and report, so the NativeAOT probe needs no reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ProbePlan))]
[JsonSerializable(typeof(ProbeReport))]
[JsonSerializable(typeof(List<SecuritySoftwareSignature>))]
public sealed partial class ReportJsonContext : JsonSerializerContext;
