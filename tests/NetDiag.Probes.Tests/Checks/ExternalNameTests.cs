using NetDiag.Entities;
using NetDiag.Entities.Reports;
using NetDiag.Probes.Checks;
using NetDiag.Probes.Collectors;

namespace NetDiag.Probes.Tests.Checks;

/// <summary>dnsService's optional external-name query through cluster DNS (seed 001 §10).</summary>
public class ExternalNameTests
{
    private const string Internal = "kubernetes.default.svc.cluster.local";
    private static readonly DnsTargetProbe HealthyClusterIp = new("10.96.0.10", true, new DnsResult("10.96.0.10", Internal, ["10.96.0.1"], "NoError", null), null);

    public static TheoryData<string, string?, string[], string?, string?> Cases => new()
    {
        // name, rcode, answers, error -> expected evidence fragment (null: passes)
        { "example.com", "NoError", ["93.184.215.14"], null, null },
        { "example.com", null, [], "no answer within 1000 ms", "FAIL (no answer within 1000 ms)" },
        { "example.com", "ServerFailure", [], null, "ServerFailure" },
        { "no-such-name.example", "NonExistentDomain", [], null, "NonExistentDomain" },
        { "v6only.example", "NoError", [], null, "NoError but no A record" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void External_name_failure_is_a_warning_naming_the_server_and_the_rcode_or_timeout(string name, string? rcode, string[] answers, string? error, string? expected)
    {
        var external = new DnsResult("10.96.0.10", name, answers, rcode, error);
        var o = DnsServiceCheck.Evaluate([HealthyClusterIp], "10.96.0.1", true, external);
        if (expected is null)
        {
            Assert.Equal(CheckStatus.Pass, o.Result.Status);
            Assert.Contains($"{name} resolves through 10.96.0.10", o.Result.Reason);
            return;
        }
        Assert.Equal(CheckStatus.Warning, o.Result.Status);
        var f = Assert.Single(o.Findings);
        Assert.Equal((Severity.Warning, "external name not resolving"), (f.Severity, f.Cause));
        Assert.StartsWith("pods cannot resolve external names", f.Message);
        Assert.Equal($"10.96.0.10:53 A {name}: {expected}", Assert.Single(f.Evidence));
        Assert.Contains("forward", f.Remediation);
    }

    [Fact]
    public void No_external_name_configured_skips_the_query()
    {
        var o = DnsServiceCheck.Evaluate([HealthyClusterIp], "10.96.0.1", true, external: null);
        Assert.Equal(CheckStatus.Pass, o.Result.Status);
        Assert.DoesNotContain("resolves through", o.Result.Reason);
    }

    [Fact]
    public void A_broken_cluster_IP_stays_critical_and_the_external_failure_is_added_beside_it()
    {
        var broken = new DnsTargetProbe("10.96.0.10", true, new DnsResult("10.96.0.10", Internal, [], null, "no answer within 1000 ms"), null);
        var o = DnsServiceCheck.Evaluate([broken], "10.96.0.1", true, new DnsResult("10.96.0.10", "example.com", [], null, "no answer within 1000 ms"));
        Assert.Equal(CheckStatus.Critical, o.Result.Status);
        Assert.Equal(["dns 10.96.0.10 not answering", "external name not resolving"], o.Findings.Select(f => f.Cause));
    }
}
