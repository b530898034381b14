using System.Text;
using NetDiag.Entities.Api;
using Xunit.Sdk;

namespace NetDiag.EndToEnd.Tests;

/// <summary>
/// A fault made real in the lab's kernel state (or API), a NetworkDiagnosis applied with kubectl,
/// the operator's probe Jobs run by the lab kubelet inside the nodes, and the findings read back.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DiagnosisEndToEndTests(EndToEndFixture fx)
{
    /// <summary>
    /// What one fault must produce. <paramref name="Consequences"/> are checks that report the
    /// same broken traffic from another angle (a blocked VXLAN port really does make node-3's
    /// pod network and CoreDNS unreachable from it): the operator folds them under the root
    /// cause as Info naming it, so the fault is the only Critical.
    /// </summary>
    public sealed record FaultCase(
        string Faults,
        string Check,
        string Severity,
        string[] Nodes,
        string EvidenceContains,
        string RemediationContains,
        string[] Consequences)
    {
        public override string ToString() => Faults;
    }

    private static readonly FaultCase[] Cases =
    [
        new("ipForward:node-3", "ipForward", "Critical", ["node-3"], "99-zz-hardening.conf", "sysctl -w net.ipv4.ip_forward=1", []),
        new("bridgeNetfilter:node-3", "bridgeNetfilter", "Critical", ["node-3"], "bridge-nf-call-iptables = 0", "br_netfilter", []),
        new("flannelPort:node-3", "flannelPort", "Critical", ["node-3"], "FAIL", "Backend.Port", ["podCidrReachability", "dnsService"]),
        new("firewall:node-3", "firewall", "Critical", ["node-3"], "REJECT", "iptables -D FORWARD", []),
        new("securitySoftware:node-3", "securitySoftware", "Warning", ["node-3"], "qaxsafed", "Exempt", []),
        new("conntrack:node-3", "conntrack", "Warning", ["node-3"], "nf_conntrack_count", "nf_conntrack_max", []),
        new("mtu:node-3", "mtu", "Warning", ["node-3"], "mtu 1400", "MTU", []),
        // no node: the trap is set where CoreDNS runs (node-1 and node-2), and its pods loop
        new("dnsLoop", "dnsLoop", "Critical", ["node-1", "node-2"], "127.0.0.53", "resolvConf", ["coreDnsHealth"]),
        new("podCidrOverlap:node-2", "podCidrOverlap", "Critical", ["node-2", "node-3"], "10.244.2.0/23", "100.64.0.0/10", []),
    ];

    /// <summary>The fault strings (serializable, so each is its own test case in the runner).</summary>
    public static TheoryData<string> SingleFaults() => new(Cases.Select(c => c.Faults));

    [Fact]
    public async Task A_healthy_lab_is_Healthy_with_no_findings()
    {
        await using var lab = await fx.StartLabAsync(faults: null);
        var nd = await fx.DiagnoseAsync("e2e-healthy");
        try
        {
            Assert.True(nd.Status!.Phase == Phases.Completed, Describe(nd));
            Assert.True(nd.Status.Findings is null or { Count: 0 }, Describe(nd));
            Assert.Equal("True", Condition(nd, ConditionTypes.Healthy)?.Status);
            Assert.Equal("True", Condition(nd, ConditionTypes.Ready)?.Status);
            Assert.Equal(4, nd.Status.Summary!.NodesProbed);
            Assert.Equal(0, nd.Status.Summary.Critical + nd.Status.Summary.Warning + nd.Status.Summary.Unknown);
        }
        finally
        {
            await fx.DeleteDiagnosisAsync("e2e-healthy");
        }
    }

    [Theory]
    [MemberData(nameof(SingleFaults))]
    public async Task Each_fault_alone_is_found_on_its_nodes_and_nothing_else_is_critical(string faults)
    {
        var c = Cases.Single(x => x.Faults == faults);
        var name = "e2e-" + c.Check.ToLowerInvariant();
        await using var lab = await fx.StartLabAsync(c.Faults);
        var nd = await fx.DiagnoseAsync(name);
        try
        {
            var report = Describe(nd);
            Assert.True(nd.Status!.Phase == Phases.Completed, report);
            Assert.Equal("False", Condition(nd, ConditionTypes.Healthy)?.Status);

            var mine = nd.Status.Findings!.Where(f => f.Check == c.Check).ToList();
            Assert.True(mine.Count > 0, $"no {c.Check} finding.\n{report}");
            var worst = mine.Any(f => f.Severity == "Critical") ? "Critical" : mine.Any(f => f.Severity == "Warning") ? "Warning" : mine[0].Severity;
            Assert.True(worst == c.Severity, $"{c.Check} is {worst}, expected {c.Severity}.\n{report}");
            foreach (var node in c.Nodes)
                Assert.True(mine.Any(f => Names(f, node)), $"no {c.Check} finding names {node}.\n{report}");
            Assert.True(mine.Any(f => f.Evidence?.Any(e => e.Contains(c.EvidenceContains)) == true),
                $"{c.Check} evidence lacks '{c.EvidenceContains}'.\n{report}");
            Assert.True(mine.Any(f => f.Remediation?.Contains(c.RemediationContains) == true),
                $"{c.Check} remediation lacks '{c.RemediationContains}'.\n{report}");

            // Nothing else is Critical: the same broken traffic seen from another check is folded
            // under the root cause, reported as Info that names it.
            foreach (var other in nd.Status.Findings!.Where(f => f.Check != c.Check && f.Severity == "Critical"))
                Assert.Fail($"unexpected Critical {other.Check}: {other.Message}\n{report}");
            foreach (var other in nd.Status.Findings!.Where(f => c.Consequences.Contains(f.Check) && f.Severity == "Info"))
                Assert.True(Mentions(other, $"follows from {c.Check}"),
                    $"{other.Check} is folded but does not name {c.Check}: {other.Message}\n{report}");
            Assert.DoesNotContain(nd.Status.Findings!, f => f.Severity == "Unknown");
        }
        finally
        {
            await fx.DeleteDiagnosisAsync(name);
        }
    }

    [Fact]
    public async Task Three_faults_at_once_are_each_found_on_their_node()
    {
        await using var lab = await fx.StartLabAsync("flannelPort:node-2,ipForward:node-3,mtu:node-4");
        var nd = await fx.DiagnoseAsync("e2e-three");
        try
        {
            var report = Describe(nd);
            var findings = nd.Status!.Findings ?? [];
            Assert.True(findings.Any(f => f.Check == "flannelPort" && f.Severity == "Critical" && Names(f, "node-2")), report);
            Assert.True(findings.Any(f => f.Check == "ipForward" && f.Severity == "Critical" && f.Nodes!.SequenceEqual(["node-3"])), report);
            Assert.True(findings.Any(f => f.Check == "mtu" && f.Severity == "Warning" && f.Nodes!.SequenceEqual(["node-4"])), report);
            // the flannel fault is node-2's, not node-3's or node-4's
            Assert.DoesNotContain(findings, f => f.Check == "flannelPort" && (Mentions(f, "node-3 likely") || Mentions(f, "node-4 likely")));
        }
        finally
        {
            await fx.DeleteDiagnosisAsync("e2e-three");
        }
    }

    [Fact]
    public async Task Kubectl_get_and_describe_read_as_a_triage_report()
    {
        await using var lab = await fx.StartLabAsync("ipForward:node-3");
        await fx.DiagnoseAsync("e2e-describe");
        try
        {
            var get = fx.ControlPlane.Kubectl("get", "nd", "e2e-describe").EnsureSuccess("kubectl get nd").StdOut;
            var header = get.Split('\n')[0];
            foreach (var column in new[] { "PHASE", "CRITICAL", "WARNING", "NODES" }) Assert.Contains(column, header);
            Assert.Matches(@"e2e-describe\s+Completed\s+1\s+0\s+4", get);

            var describe = fx.ControlPlane.Kubectl("describe", "nd", "e2e-describe").EnsureSuccess("kubectl describe nd").StdOut;
            // the finding, with its node, evidence and the exact fix
            Assert.Contains("Findings:", describe);
            Assert.Contains("ipForward", describe);
            Assert.Contains("node-3", describe);
            Assert.Contains("99-zz-hardening.conf", describe);
            Assert.Contains("sysctl -w net.ipv4.ip_forward=1", describe);
            // then what the operator recorded, as Events on the object
            var events = describe[describe.IndexOf("Events:", StringComparison.Ordinal)..];
            Assert.Contains("FindingDetected", events);
            Assert.Contains("RunCompleted", events);
            Assert.Contains("netdiag-operator", events);
        }
        finally
        {
            await fx.DeleteDiagnosisAsync("e2e-describe");
        }
    }

    private static k8s.Models.V1Condition? Condition(V1alpha1NetworkDiagnosis nd, string type) =>
        nd.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary>Whether a finding is about <paramref name="node"/>: in its node list, or named by its cause or message.</summary>
    private static bool Names(DiagnosisFinding f, string node) =>
        f.Nodes?.Contains(node) == true || Mentions(f, node);

    private static bool Mentions(DiagnosisFinding f, string text) =>
        (f.Cause?.Contains(text) ?? false) || f.Message.Contains(text)
        || (f.Objects?.Any(o => o.Contains(text)) ?? false) || (f.Evidence?.Any(e => e.Contains(text)) ?? false);

    /// <summary>The findings as text, for assertion messages.</summary>
    private static string Describe(V1alpha1NetworkDiagnosis nd)
    {
        var sb = new StringBuilder($"nd/{nd.Metadata.Name}: phase {nd.Status?.Phase}, {nd.Status?.Message}\n");
        foreach (var f in nd.Status?.Findings ?? [])
        {
            sb.Append($"  {f.Severity} {f.Check} [{f.Cause}] nodes={string.Join(",", f.Nodes ?? [])} objects={string.Join(",", f.Objects ?? [])}: {f.Message}\n");
            foreach (var e in (f.Evidence ?? []).Take(4)) sb.Append($"      evidence: {e}\n");
            sb.Append($"      remediation: {f.Remediation}\n");
        }
        return sb.ToString();
    }
}
