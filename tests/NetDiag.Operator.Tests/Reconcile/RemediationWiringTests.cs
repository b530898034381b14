using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Planning;
using NetDiag.Operator.Remediation;
using NetDiag.Operator.Status;

namespace NetDiag.Operator.Tests.Reconcile;

/// <summary>The decisions the reconcile makes around auto-remediation: when to re-check, and how status reads.</summary>
public sealed class RemediationWiringTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 3, 0, 0, TimeSpan.Zero);

    private static RemediationRecord Rec(string action, string result, string? recheck = null, string run = "g1", int atSecond = 0, string target = "kube-flannel/configmap/kube-flannel-cfg") => new()
    {
        Action = action, Target = target, Result = result, Recheck = recheck, Run = run,
        Time = T0.AddSeconds(atSecond).UtcDateTime, Message = $"{action} {result}",
        DryRun = result == RemediationResults.Planned,
    };

    public static TheoryData<string, string, string?, int, int, string> RecheckCases => new()
    {
        // action, result, recheck, fix Jobs running, now (s after apply), expected
        { ActionNames.PatchFlannelBackend, RemediationResults.Applied, RemediationResults.RecheckPending, 0, 10, "Wait until +30s" },
        { ActionNames.PatchFlannelBackend, RemediationResults.Applied, RemediationResults.RecheckPending, 0, 30, "Run g1-recheck flannelPort from +30s" },
        { ActionNames.PatchFlannelBackend, RemediationResults.Applied, RemediationResults.RecheckPassed, 0, 30, "None" },
        { ActionNames.EnableIpForward, RemediationResults.Applied, RemediationResults.RecheckPending, 1, 300, "Wait for Jobs" },
        { ActionNames.EnableIpForward, RemediationResults.Applied, RemediationResults.RecheckPending, 0, 0, "Run g1-recheck ipForward from +0s" },
        { ActionNames.EnableIpForward, RemediationResults.Skipped, null, 0, 0, "None" },
        { ActionNames.EnableIpForward, RemediationResults.Planned, null, 0, 0, "None" },
        { ActionNames.EnableIpForward, RemediationResults.Failed, null, 0, 0, "None" },
    };

    [Theory]
    [MemberData(nameof(RecheckCases))]
    public void Recheck_is_owed_for_applied_fixes_once_their_Jobs_finished_and_the_delay_passed(
        string action, string result, string? recheck, int jobsRunning, int nowSecond, string expected)
    {
        var decision = RecheckPlanner.Decide("g1", [Rec(action, result, recheck)], jobsRunning, T0.AddSeconds(nowSecond));
        Assert.Equal(expected, decision switch
        {
            RecheckDecision.None => "None",
            RecheckDecision.Wait { Until: null } => "Wait for Jobs",
            RecheckDecision.Wait w => $"Wait until +{(w.Until!.Value - T0).TotalSeconds}s",
            RecheckDecision.Run r => $"Run {r.RunId} {string.Join(",", r.Checks)} from +{(r.Start - T0).TotalSeconds}s",
            _ => "?",
        });
    }

    [Fact]
    public void Recheck_of_a_corefile_fix_waits_for_the_longest_delay_and_covers_both_dns_checks()
    {
        var records = new[]
        {
            Rec(ActionNames.PatchCorefileForward, RemediationResults.Applied, RemediationResults.RecheckPending, target: "kube-system/configmap/coredns"),
            Rec(ActionNames.RestartCoreDns, RemediationResults.Applied, RemediationResults.RecheckPending, atSecond: 1, target: "kube-system/deployment/coredns"),
        };
        var run = Assert.IsType<RecheckDecision.Run>(RecheckPlanner.Decide("g1", records, 0, T0.AddMinutes(5)));
        Assert.Equal(T0.AddSeconds(90), run.Start);
        Assert.Equal([CheckNames.DnsLoop, CheckNames.CoreDnsHealth], run.Checks);
        Assert.IsType<RecheckDecision.None>(RecheckPlanner.Decide("g2", records, 0, T0.AddMinutes(5))); // another run's records
    }

    [Theory]
    [InlineData("g4-recheck", "g4")]
    [InlineData("g4-202611300300-recheck", "g4-202611300300")]
    [InlineData("g4", "g4")]
    public void Recheck_run_ids_map_back_to_their_run(string id, string run)
    {
        Assert.Equal(run, RecheckPlanner.BaseRunId(id));
        Assert.Equal(4, ScheduleRunIds.GenerationOf(id)); // a re-check of an old generation is superseded like its run
    }

    public static TheoryData<string, string[], string?, string?> VerdictCases => new()
    {
        // mode, records (action:result:recheck), expected status/reason (null: no condition)
        { RemediationModes.Suggest, ["patchFlannelBackend:Applied:Passed"], null, null },
        { RemediationModes.Auto, [], null, null },
        { RemediationModes.Auto, ["patchFlannelBackend:Applied:Passed"], "True", RemediationStatus.Verified },
        { RemediationModes.Auto, ["patchFlannelBackend:Applied:Pending"], "Unknown", RemediationStatus.Verifying },
        { RemediationModes.Auto, ["patchFlannelBackend:Applied:Passed", "enableIpForward:Applied:StillFailing"], "False", RemediationStatus.Unverified },
        { RemediationModes.Auto, ["patchCorefileForward:Failed:", "restartCoreDNS:Skipped:"], "False", Reasons.RemediationFailed },
        { RemediationModes.Auto, ["enableIpForward:Planned:"], "False", RemediationStatus.DryRun },
        { RemediationModes.Auto, ["enableIpForward:Skipped:"], "False", RemediationStatus.NotApplied },
    };

    [Theory]
    [MemberData(nameof(VerdictCases))]
    public void Remediated_condition_reads_from_the_current_runs_records(string mode, string[] records, string? status, string? reason)
    {
        var recs = records.Select(r => r.Split(':')).Select(p => Rec(p[0], p[1], p[2] == "" ? null : p[2])).ToList();
        recs.Add(Rec(ActionNames.EnableIpForward, RemediationResults.Failed, run: "g0")); // an older run's failure does not count
        var verdict = RemediationStatus.Verdict(mode, recs, "g1");
        Assert.Equal((status, reason), (verdict?.Status, verdict?.Reason));
    }

    [Fact]
    public void A_finding_Auto_did_not_act_on_says_why_in_its_remediation_text()
    {
        var finding = new DiagnosisFinding { Check = CheckNames.IpForward, Severity = "Critical", Cause = "ip_forward=0", Message = "off", Remediation = "sysctl -w net.ipv4.ip_forward=1" };
        var other = new DiagnosisFinding { Check = CheckNames.Mtu, Severity = "Warning", Cause = "mtu", Message = "mtu" };
        var skipped = Rec(ActionNames.EnableIpForward, RemediationResults.Skipped, target: "node/n1");
        skipped.Message = "Auto would set net.ipv4.ip_forward=1 on n1, but the operator runs without --Operator:EnableRemediation=true";
        var explained = RemediationStatus.Explain([finding, other], [skipped]);
        Assert.StartsWith("sysctl -w net.ipv4.ip_forward=1\nAuto-remediation (Skipped): ", explained[0].Remediation);
        Assert.Contains("--Operator:EnableRemediation=true", explained[0].Remediation);
        Assert.Null(explained[1].Remediation);
        Assert.Equal("sysctl -w net.ipv4.ip_forward=1", finding.Remediation); // input untouched
    }

    [Fact]
    public void A_passing_recheck_turns_the_finding_into_a_verified_fix_and_the_diagnosis_healthy()
    {
        var finding = new DiagnosisFinding { Check = CheckNames.FlannelPort, Severity = "Critical", Cause = "udp/8472 dropped", Message = "VXLAN dropped", AutoAction = ActionNames.PatchFlannelBackend };
        var status = new NetworkDiagnosisStatus
        {
            Phase = Phases.Completed, ObservedGeneration = 1, CurrentRun = "g1", Findings = [finding],
            Summary = new DiagnosisSummary { Critical = 1 },
            Remediations = [Rec(ActionNames.PatchFlannelBackend, RemediationResults.Applied, RemediationResults.RecheckPending)],
            History = [new RunRecord { Run = "g1", Phase = Phases.Completed, Critical = 1 }],
        };
        var result = RemediationVerification.Apply(status.Remediations, status.Findings, [], [CheckNames.FlannelPort]);
        var next = RemediationStatus.AfterRecheck(status, result, RemediationModes.Auto, T0.AddMinutes(1));

        var f = Assert.Single(next.Findings!);
        Assert.Equal((true, "Info"), (f.Verified, f.Severity));
        Assert.Equal(RemediationResults.RecheckPassed, next.Remediations![0].Recheck);
        Assert.Equal(0, next.Summary!.Critical);
        Assert.Equal(["flannelPort/udp/8472 dropped"], next.History![0].Resolved);
        Assert.Equal(0, next.History[0].Critical);
        Assert.Equal("True", next.Conditions!.Single(c => c.Type == ConditionTypes.Healthy).Status);
        var remediated = next.Conditions!.Single(c => c.Type == ConditionTypes.Remediated);
        Assert.Equal(("True", RemediationStatus.Verified), (remediated.Status, remediated.Reason));
    }

    [Fact]
    public void A_failing_recheck_keeps_the_finding_unverified_and_Remediated_False()
    {
        var finding = new DiagnosisFinding { Check = CheckNames.IpForward, Severity = "Critical", Cause = "ip_forward=0", Nodes = ["n1"], Message = "off" };
        var status = new NetworkDiagnosisStatus
        {
            Phase = Phases.Completed, ObservedGeneration = 1, CurrentRun = "g1", Findings = [finding],
            Remediations = [Rec(ActionNames.EnableIpForward, RemediationResults.Applied, RemediationResults.RecheckPending, target: "node/n1")],
        };
        var result = RemediationVerification.Apply(status.Remediations, status.Findings, [finding], [CheckNames.IpForward]);
        var next = RemediationStatus.AfterRecheck(status, result, RemediationModes.Auto, T0);
        Assert.Equal((false, "Critical"), (next.Findings![0].Verified, next.Findings[0].Severity));
        Assert.Equal("False", next.Conditions!.Single(c => c.Type == ConditionTypes.Healthy).Status);
        Assert.Equal(("False", RemediationStatus.Unverified), next.Conditions!.Where(c => c.Type == ConditionTypes.Remediated).Select(c => (c.Status, c.Reason)).Single());
    }

    [Fact]
    public void Records_of_runs_that_left_history_are_dropped_and_this_runs_replace_its_own()
    {
        var old = new[] { Rec("a", "Applied", run: "g1"), Rec("b", "Applied", run: "g2"), Rec("c", "Applied", run: "g3") };
        var merged = RemediationStatus.Merge(old, [Rec("d", "Applied", run: "g3")], "g3", ["g3", "g2"])!;
        Assert.Equal(["d", "b"], merged.Select(r => r.Action));
        Assert.Null(RemediationStatus.Merge(null, [], "g1", []));
    }
}
