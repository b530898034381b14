using System.Text.Json.Nodes;
using NetDiag.Entities.Api;
using NetDiag.Testing;

namespace NetDiag.Api.Tests;

/// <summary>
/// The CRD as a cluster admin installs it (<c>kubectl apply -f config/crd/...</c>), then every
/// sample, on a real Kubernetes 1.20 API server: the oldest version the operator supports, the
/// one that would refuse anything newer in the schema.
/// </summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class CrdAndSamplesTests(ControlPlaneFixture fixture)
{
    private readonly Cluster _cluster = new(fixture);

    public static TheoryData<string> Samples => new(Files("config/samples"));

    public static TheoryData<string> InvalidSamples => new(Files("config/samples/invalid"));

    private static IEnumerable<string> Files(string dir) =>
        Directory.GetFiles(Path.Combine(ControlPlane.FindRepoRoot(), dir), "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .Select(f => Path.GetRelativePath(ControlPlane.FindRepoRoot(), f))
            .Order(StringComparer.Ordinal);

    [Fact]
    public void The_crd_is_established_with_its_short_name_and_category()
    {
        _cluster.InstallCrd();

        var crd = _cluster.GetJson("get", "crd", "networkdiagnoses.netdiag.io");
        Assert.Equal("True", crd["status"]!["conditions"]!.AsArray()
            .Single(c => c!["type"]!.GetValue<string>() == "Established")!["status"]!.GetValue<string>());
        Assert.Equal("True", crd["status"]!["conditions"]!.AsArray()
            .Single(c => c!["type"]!.GetValue<string>() == "NamesAccepted")!["status"]!.GetValue<string>());

        // kubectl resolves the short name and the category through discovery, as a user types them.
        Assert.True(_cluster.Kubectl("get", "nd").Succeeded);
        Assert.True(_cluster.Kubectl("get", "netdiag").Succeeded);
        Assert.Contains("networkdiagnoses", _cluster.MustKubectl("api-resources", "--api-group=netdiag.io", "-o", "name").StdOut);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_sample_is_accepted_by_the_server(string file)
    {
        _cluster.InstallCrd();

        var result = _cluster.Kubectl("apply", "-f", _cluster.PathOf(file));

        Assert.True(result.Succeeded, $"kubectl apply -f {file}: {result.StdErr}");
        Assert.Contains("networkdiagnosis.netdiag.io/", result.StdOut);
    }

    [Fact]
    public void The_server_fills_in_the_defaults()
    {
        _cluster.InstallCrd();
        _cluster.MustKubectl("apply", "-f", _cluster.PathOf("config/samples/netdiag_v1alpha1_flannel-cluster.yaml"));

        var spec = _cluster.GetJson("get", "nd", "flannel-cluster")["spec"]!;

        Assert.Equal("2m", spec["timeout"]!.GetValue<string>());
        Assert.Equal(50, spec["maxConcurrentProbes"]!.GetValue<int>());
        Assert.Equal(5, spec["historyLimit"]!.GetValue<int>());
        Assert.Equal("Suggest", spec["remediation"]!["mode"]!.GetValue<string>());
        Assert.Null(spec["timeZone"]);
        Assert.Equal(["dnsLoop", "podCidrOverlap", "ipForward", "flannelPort"], spec["checks"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Fact]
    public async Task Defaults_apply_even_to_a_diagnosis_with_no_spec_and_never_override_what_is_given()
    {
        _cluster.InstallCrd();
        var apply = await _cluster.KubectlWithInputAsync("""
            apiVersion: netdiag.io/v1alpha1
            kind: NetworkDiagnosis
            metadata:
              name: bare
            ---
            apiVersion: netdiag.io/v1alpha1
            kind: NetworkDiagnosis
            metadata:
              name: explicit
            spec:
              timeout: 90s
              remediation:
                actions: [restartCoreDNS]
            """, "apply", "-f", "-");
        apply.EnsureSuccess("kubectl apply");

        var bare = _cluster.GetJson("get", "nd", "bare")["spec"]!;
        Assert.Equal("2m", bare["timeout"]!.GetValue<string>());
        Assert.Equal("Suggest", bare["remediation"]!["mode"]!.GetValue<string>());

        var explicitSpec = _cluster.GetJson("get", "nd", "explicit")["spec"]!;
        Assert.Equal("90s", explicitSpec["timeout"]!.GetValue<string>());
        Assert.Equal("Suggest", explicitSpec["remediation"]!["mode"]!.GetValue<string>());
        Assert.Equal("restartCoreDNS", explicitSpec["remediation"]!["actions"]![0]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(InvalidSamples))]
    public void Invalid_samples_are_refused_by_whom_their_header_says(string file)
    {
        _cluster.InstallCrd();
        var header = File.ReadLines(_cluster.PathOf(file)).TakeWhile(l => l.StartsWith('#'))
            .Select(l => l.TrimStart('#').Trim().Split(':', 2)).Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
        var field = header["field"];

        var result = _cluster.Kubectl("apply", "-f", _cluster.PathOf(file));

        if (header["refused-by"] == "schema")
        {
            Assert.False(result.Succeeded, $"{file} was accepted: {result.StdOut}");
            Assert.Contains("is invalid", result.StdErr);
            Assert.Contains(field, result.StdErr);
        }
        else
        {
            // The schema cannot tell; the operator's validator will (NetDiag.Entities.Tests).
            Assert.True(result.Succeeded, $"{file} should pass admission and be refused by the operator: {result.StdErr}");
            _cluster.MustKubectl("delete", "-f", _cluster.PathOf(file), "--wait=false");
        }
    }

    [Fact]
    public void Kubectl_get_shows_the_printer_columns_with_what_the_operator_writes_to_status()
    {
        _cluster.InstallCrd();
        _cluster.MustKubectl("apply", "-f", _cluster.PathOf("config/samples/netdiag_v1alpha1_nightly.yaml"));

        // The status shape the operator writes, through the status subresource.
        var status = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["phase"] = "Completed",
                ["observedGeneration"] = 1,
                ["summary"] = new JsonObject { ["critical"] = 2, ["warning"] = 3, ["info"] = 0, ["unknown"] = 1, ["nodesProbed"] = 4, ["nodesSelected"] = 4 },
                ["lastRunTime"] = "2026-11-30T01:30:00Z",
                ["nextRunTime"] = "2099-12-01T01:30:00Z",
                ["conditions"] = new JsonArray(new JsonObject
                {
                    ["type"] = "Ready", ["status"] = "True", ["reason"] = "RunCompleted", ["message"] = "run finished",
                    ["lastTransitionTime"] = "2026-11-30T01:30:00Z", ["observedGeneration"] = 1,
                }),
                ["findings"] = new JsonArray(new JsonObject
                {
                    ["check"] = "dnsLoop", ["severity"] = "Critical", ["message"] = "CoreDNS forwards to itself",
                    ["nodes"] = new JsonArray("n1"), ["evidence"] = new JsonArray("nameserver 127.0.0.53"),
                }),
            },
        };
        _cluster.MustKubectl("patch", "nd", "nightly", "--subresource=status", "--type=merge", "-p", status.ToJsonString());

        var table = _cluster.MustKubectl("get", "nd", "nightly").StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(["NAME", "PHASE", "CRITICAL", "WARNING", "NODES", "LAST", "RUN", "NEXT", "RUN", "AGE"],
            table[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var row = table[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["nightly", "Completed", "2", "3", "4"], row[..5]);

        // Nothing was pruned: the schema knows every field written.
        var stored = _cluster.GetJson("get", "nd", "nightly")["status"]!;
        Assert.Equal("CoreDNS forwards to itself", stored["findings"]![0]!["message"]!.GetValue<string>());
        Assert.Equal("RunCompleted", stored["conditions"]![0]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public void A_status_the_schema_does_not_allow_is_refused_not_silently_stored()
    {
        _cluster.InstallCrd();
        _cluster.MustKubectl("apply", "-f", _cluster.PathOf("config/samples/netdiag_v1alpha1_dns-loop.yaml"));

        var result = _cluster.Kubectl("patch", "nd", "dns-loop", "--subresource=status", "--type=merge",
            "-p", """{"status":{"phase":"Exploded"}}""");

        Assert.False(result.Succeeded);
        Assert.Contains("status.phase", result.StdErr);
    }

    [Fact]
    public void Kubectl_explain_shows_the_field_docs()
    {
        _cluster.InstallCrd();

        var explain = _cluster.MustKubectl("explain", "nd.spec.timeout").StdOut;

        Assert.Contains("Deadline for one run", explain);
    }
}
