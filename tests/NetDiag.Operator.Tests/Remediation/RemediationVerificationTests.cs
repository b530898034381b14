using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Remediation;

namespace NetDiag.Operator.Tests.Remediation;

public class RemediationVerificationTests
{
    private static DiagnosisFinding F(string check, string cause, string severity, params string[] nodes) =>
        new() { Check = check, Cause = cause, Severity = severity, Nodes = nodes.Length > 0 ? nodes.ToList() : null, Message = $"{check} {cause}" };

    private static RemediationRecord Applied(string action, string target) =>
        new() { Action = action, Target = target, Result = RemediationResults.Applied, Recheck = RemediationResults.RecheckPending, Message = "did it", Run = "g1" };

    [Fact]
    public void A_fix_confirmed_by_the_recheck_resolves_its_finding()
    {
        var result = RemediationVerification.Apply(
            [Applied(ActionNames.PatchFlannelBackend, "kube-flannel/configmap/kube-flannel-cfg")],
            [F(CheckNames.FlannelPort, "udp/8472 dropped", "Critical", "n1", "n2"), F(CheckNames.Mtu, "too big", "Warning", "n1")],
            recheckFindings: [],
            recheckedChecks: [CheckNames.FlannelPort]);

        Assert.Equal(RemediationResults.RecheckPassed, result.Records[0].Recheck);
        var resolved = Assert.Single(result.Resolved);
        Assert.True(resolved.Verified);
        Assert.Equal(CheckNames.Mtu, Assert.Single(result.Findings).Check); // untouched, not re-checked
        Assert.Null(result.Findings[0].Verified);
    }

    [Fact]
    public void A_fix_whose_recheck_still_fails_stays_a_finding_marked_unverified()
    {
        var original = F(CheckNames.IpForward, "ip_forward=0", "Critical", "n1", "n2");
        var result = RemediationVerification.Apply(
            [Applied(ActionNames.EnableIpForward, "node/n1"), Applied(ActionNames.EnableIpForward, "node/n2")],
            [original],
            recheckFindings: [F(CheckNames.IpForward, "ip_forward=0", "Critical", "n2")],
            recheckedChecks: [CheckNames.IpForward]);

        Assert.Equal(RemediationResults.RecheckPassed, result.Records[0].Recheck);
        Assert.Equal(RemediationResults.RecheckStillFailing, result.Records[1].Recheck);
        Assert.Contains("Re-check: still failing", result.Records[1].Message);
        var finding = Assert.Single(result.Findings);
        Assert.False(finding.Verified);
        Assert.Empty(result.Resolved);
        Assert.Null(original.Verified); // inputs are not modified
    }

    [Fact]
    public void A_recheck_that_could_not_run_is_not_a_pass()
    {
        var result = RemediationVerification.Apply(
            [Applied(ActionNames.RestartCoreDns, "kube-system/deployment/coredns")],
            [F(CheckNames.CoreDnsHealth, "crash-looping", "Critical")],
            recheckFindings: [F(CheckNames.CoreDnsHealth, "no CoreDNS", "Unknown")],
            recheckedChecks: [CheckNames.CoreDnsHealth]);
        Assert.Equal(RemediationResults.RecheckStillFailing, result.Records[0].Recheck);
        Assert.Contains("could not verify", result.Records[0].Message);
        Assert.False(Assert.Single(result.Findings).Verified);
    }

    [Fact]
    public void Skipped_and_planned_records_are_not_rechecked()
    {
        var skipped = new RemediationRecord { Action = ActionNames.EnableIpForward, Target = "node/n1", Result = RemediationResults.Skipped };
        var result = RemediationVerification.Apply([skipped], [F(CheckNames.IpForward, "ip_forward=0", "Critical", "n1")], [], [CheckNames.IpForward]);
        Assert.Null(result.Records[0].Recheck);
        Assert.Null(Assert.Single(result.Findings).Verified);
    }
}
