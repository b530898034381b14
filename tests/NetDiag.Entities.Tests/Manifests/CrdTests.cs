using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using NetDiag.Entities.Api;
using NetDiag.Entities.Tests.Support;
using NetDiag.Entities.Validation;
using NetDiag.Tools.CrdGen;

namespace NetDiag.Entities.Tests.Manifests;

public class CrdTests
{
    private static readonly JsonObject Crd = CrdGenerator.Build();

    private static JsonObject Version => (JsonObject)Crd["spec"]!["versions"]![0]!;
    private static JsonObject Root => (JsonObject)Version["schema"]!["openAPIV3Schema"]!;
    private static JsonObject Spec => (JsonObject)Root["properties"]!["spec"]!;
    private static JsonObject Status => (JsonObject)Root["properties"]!["status"]!;

    [Fact]
    public void Committed_crd_matches_the_api_types()
    {
        var path = RepoPaths.Combine(CrdGenerator.RelativePath);
        Assert.True(File.Exists(path), $"{CrdGenerator.RelativePath} is missing: run `make manifests`");

        var committed = File.ReadAllText(path);
        var generated = CrdGenerator.GenerateYaml();

        if (committed != generated)
        {
            var committedLines = committed.Split('\n');
            var generatedLines = generated.Split('\n');
            var first = Enumerable.Range(0, Math.Min(committedLines.Length, generatedLines.Length))
                .FirstOrDefault(i => committedLines[i] != generatedLines[i], Math.Min(committedLines.Length, generatedLines.Length));
            Assert.Fail($"{CrdGenerator.RelativePath} is out of date with src/Entities/Api: run `make manifests`.\n" +
                        $"First difference at line {first + 1}:\n  committed: {committedLines.ElementAtOrDefault(first)}\n  generated: {generatedLines.ElementAtOrDefault(first)}");
        }
    }

    [Fact]
    public void The_yaml_reads_back_as_exactly_the_generated_tree()
    {
        var parsed = YamlDocuments.ToJson(ParseYaml(CrdGenerator.GenerateYaml()));

        Assert.True(JsonNode.DeepEquals(Crd, parsed), "YamlWriter output does not parse back to the same CRD");
    }

    [Fact]
    public void Names_scope_and_version_are_what_api_md_promises()
    {
        Assert.Equal("networkdiagnoses.netdiag.io", Crd["metadata"]!["name"]!.GetValue<string>());
        var spec = Crd["spec"]!;
        Assert.Equal("netdiag.io", spec["group"]!.GetValue<string>());
        Assert.Equal("Cluster", spec["scope"]!.GetValue<string>());
        var names = spec["names"]!;
        Assert.Equal("NetworkDiagnosis", names["kind"]!.GetValue<string>());
        Assert.Equal("NetworkDiagnosisList", names["listKind"]!.GetValue<string>());
        Assert.Equal("networkdiagnoses", names["plural"]!.GetValue<string>());
        Assert.Equal("networkdiagnosis", names["singular"]!.GetValue<string>());
        Assert.Equal(["nd"], names["shortNames"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["netdiag"], names["categories"]!.AsArray().Select(n => n!.GetValue<string>()));

        Assert.Single(spec["versions"]!.AsArray());
        Assert.Equal("v1alpha1", Version["name"]!.GetValue<string>());
        Assert.True(Version["served"]!.GetValue<bool>());
        Assert.True(Version["storage"]!.GetValue<bool>());
        Assert.NotNull(Version["subresources"]!["status"]);
    }

    [Fact]
    public void Printer_columns_are_the_triage_view()
    {
        var columns = Version["additionalPrinterColumns"]!.AsArray()
            .Select(c => (Name: c!["name"]!.GetValue<string>(), Type: c["type"]!.GetValue<string>(), Path: c["jsonPath"]!.GetValue<string>()))
            .ToArray();

        Assert.Equal(
        [
            ("Phase", "string", ".status.phase"),
            ("Critical", "integer", ".status.summary.critical"),
            ("Warning", "integer", ".status.summary.warning"),
            ("Nodes", "integer", ".status.summary.nodesProbed"),
            ("Last Run", "date", ".status.lastRunTime"),
            ("Next Run", "date", ".status.nextRunTime"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ], columns);

        // Every column but Age points at a field the schema defines: a typo would show an empty column forever.
        foreach (var (_, _, path) in columns.Where(c => c.Path.StartsWith(".status")))
            Assert.NotNull(SchemaAt(path.TrimStart('.').Split('.')));
    }

    [Fact]
    public void Enums_come_from_the_catalog()
    {
        Assert.Equal(CheckNames.All, Strings(Spec["properties"]!["checks"]!["items"]!["enum"]));
        Assert.Equal(ActionNames.All, Strings(Spec["properties"]!["remediation"]!["properties"]!["actions"]!["items"]!["enum"]));
        Assert.Equal(RemediationModes.All, Strings(Spec["properties"]!["remediation"]!["properties"]!["mode"]!["enum"]));
        Assert.Equal(Phases.All, Strings(Status["properties"]!["phase"]!["enum"]));
    }

    [Fact]
    public void The_server_fills_the_documented_defaults_even_into_an_empty_diagnosis()
    {
        var diagnosis = new JsonObject { ["apiVersion"] = "netdiag.io/v1alpha1", ["kind"] = "NetworkDiagnosis", ["metadata"] = new JsonObject { ["name"] = "x" } };

        StructuralSchema.ApplyDefaults(diagnosis, Root);

        var spec = diagnosis["spec"]!;
        Assert.Equal(NetworkDiagnosisSpec.Defaults.Timeout, spec["timeout"]!.GetValue<string>());
        Assert.Equal(NetworkDiagnosisSpec.Defaults.MaxConcurrentProbes, spec["maxConcurrentProbes"]!.GetValue<int>());
        Assert.Equal(NetworkDiagnosisSpec.Defaults.HistoryLimit, spec["historyLimit"]!.GetValue<int>());
        Assert.Equal(RemediationModes.Suggest, spec["remediation"]!["mode"]!.GetValue<string>());
        // No zone default: a zone without a schedule is an error, so it must not appear by itself.
        Assert.Null(spec["timeZone"]);
        Assert.Null(spec["schedule"]);

        // And what the server stores is still valid for both the schema and the operator.
        Assert.Empty(StructuralSchema.Validate(diagnosis, Root));
        var typed = KubernetesJson.Deserialize<V1alpha1NetworkDiagnosis>(diagnosis.ToJsonString());
        Assert.False(new NetworkDiagnosisValidator().Validate(typed).HasErrors());
    }

    [Fact]
    public void The_schema_is_structural_every_node_has_a_type()
    {
        var untyped = new List<string>();
        Walk(Root, "openAPIV3Schema");
        Assert.Empty(untyped);

        void Walk(JsonObject schema, string path)
        {
            if (schema["type"] is null)
                untyped.Add(path);
            if (schema["properties"] is JsonObject properties)
                foreach (var (name, child) in properties)
                    Walk((JsonObject)child!, $"{path}.{name}");
            if (schema["items"] is JsonObject items)
                Walk(items, path + "[]");
            if (schema["additionalProperties"] is JsonObject additional)
                Walk(additional, path + "{}");
        }
    }

    [Fact]
    public void Whatever_the_operator_writes_into_status_is_kept_by_the_schema()
    {
        var now = new DateTime(2026, 11, 30, 2, 15, 0, DateTimeKind.Utc);
        var status = new NetworkDiagnosisStatus
        {
            Phase = Phases.Completed,
            ObservedGeneration = 3,
            Conditions =
            [
                new V1Condition { Type = ConditionTypes.Ready, Status = "True", Reason = Reasons.RunCompleted, Message = "run g3 finished", LastTransitionTime = now, ObservedGeneration = 3 },
                new V1Condition { Type = ConditionTypes.Healthy, Status = "False", Reason = Reasons.FindingsPresent, Message = "", LastTransitionTime = now },
            ],
            Summary = new DiagnosisSummary { Critical = 1, Warning = 2, NodesProbed = 3, NodesSelected = 3, ChecksRun = ["dnsLoop"], DurationSeconds = 12.5 },
            Findings =
            [
                new DiagnosisFinding
                {
                    Check = CheckNames.DnsLoop, Severity = "Critical", Cause = "loopback-upstream", Nodes = ["n1"], NodeCount = 1,
                    Objects = ["kube-system/coredns"], Message = "loop", Evidence = ["nameserver 127.0.0.53"], Remediation = "fix it",
                    AutoAction = ActionNames.PatchCorefileForward, Verified = false,
                },
            ],
            Remediations = [new RemediationRecord { Action = ActionNames.PatchCorefileForward, Target = "kube-system/coredns", Time = now, DryRun = true, Result = "Planned", Recheck = "Pending", Run = "g3" }],
            CurrentRun = "g3-20261130t0215",
            RunStartTime = now,
            LastRunTime = now,
            NextRunTime = now.AddDays(1),
            History = [new RunRecord { Run = "g3", StartTime = now, EndTime = now, Phase = Phases.Completed, Critical = 1, New = ["dnsLoop/loopback-upstream"], Resolved = [] }],
            Message = "1 critical finding",
        };

        var json = JsonNode.Parse(KubernetesJson.Serialize(status));

        Assert.Empty(StructuralSchema.Validate(json, Status, "status"));
    }

    [Fact]
    public void A_condition_without_a_message_is_refused_as_metav1_Condition_requires()
    {
        var status = new NetworkDiagnosisStatus
        {
            Conditions = [new V1Condition { Type = "Ready", Status = "True", Reason = "RunCompleted", LastTransitionTime = DateTime.UtcNow }],
        };

        var errors = StructuralSchema.Validate(JsonNode.Parse(KubernetesJson.Serialize(status)), Status, "status");

        Assert.Equal(["status.conditions[0].message: Required value"], errors);
    }

    [Fact]
    public void Descriptions_come_from_the_xml_docs()
    {
        Assert.Contains("Deadline for one run", Spec["properties"]!["timeout"]!["description"]!.GetValue<string>());
        Assert.Contains("nodeCount has the full count", Status["properties"]!["findings"]!["items"]!["properties"]!["nodes"]!["description"]!.GetValue<string>());
    }

    private static JsonNode? SchemaAt(string[] path)
    {
        JsonNode? node = Root;
        foreach (var part in path)
            node = node?["properties"]?[part];
        return node;
    }

    private static string[] Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    private static YamlDotNet.RepresentationModel.YamlNode ParseYaml(string text)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Single().RootNode;
    }
}
