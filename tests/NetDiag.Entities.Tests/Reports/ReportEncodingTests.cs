using NetDiag.Entities;
using NetDiag.Entities.Reports;

namespace NetDiag.Entities.Tests.Reports;

public class ReportEncodingTests
{
    [Fact]
    public void Shell_commands_in_a_report_stay_readable_and_round_trip()
    {
        var remediation = "iptables -D FORWARD -j REJECT --reject-with icmp-host-prohibited && echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/99-zz.conf";
        var report = new ProbeReport
        {
            Node = "node-1",
            Checks = [new CheckResult { Check = CheckNames.Firewall, Status = CheckStatus.Warning }],
            Findings = [new Finding { Check = CheckNames.Firewall, Severity = Severity.Warning, Cause = "reject", Message = "REJECT before ACCEPT in FORWARD", Remediation = remediation }],
        };

        var json = ProbeReportCodec.Serialize(report);

        Assert.Contains("'net.ipv4.ip_forward = 1' > /etc", json);
        Assert.DoesNotContain("\\u0027", json);
        Assert.True(ProbeReportCodec.TryParse(json, out var back, out var error), error);
        Assert.Equal(remediation, back!.Findings.Single().Remediation);
    }
}
