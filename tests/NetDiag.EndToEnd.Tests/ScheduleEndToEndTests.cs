using NetDiag.Entities;
using NetDiag.Entities.Api;

namespace NetDiag.EndToEnd.Tests;

/// <summary>
/// A recurring diagnosis in the lab: every minute (cron's smallest step; the planner takes 5-field
/// cron only), a fault found by one run and gone by the next shows as resolved in history.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ScheduleEndToEndTests(EndToEndFixture fx)
{
    [Fact]
    public async Task A_scheduled_diagnosis_runs_again_and_history_shows_the_fault_resolved_between_runs()
    {
        await using var lab = await fx.StartLabAsync("ipForward:node-3");
        const string name = "e2e-schedule";
        await fx.ApplyAsync($"""
            apiVersion: netdiag.io/v1alpha1
            kind: NetworkDiagnosis
            metadata:
              name: {name}
            spec:
              schedule: "*/1 * * * *"
              timeout: 40s
              checks: [ipForward]
              historyLimit: 3
            """, name);
        try
        {
            var waiting = await fx.WaitForAsync(name, n => n.Status?.NextRunTime is not null, TimeSpan.FromSeconds(30), "nextRunTime shown");
            Assert.Null(waiting.Status!.History); // a new schedule waits for its first slot, as a CronJob does

            var first = await fx.WaitForAsync(name, n => n.Status?.History is { Count: >= 1 }, TimeSpan.FromMinutes(2), "first run in history");
            Assert.Contains(first.Status!.Findings!, f => f.Check == CheckNames.IpForward && f.Severity == "Critical");
            Assert.True(first.Status.NextRunTime > first.Status.LastRunTime, DiagnosisWaits.Describe(fx, first));

            // The fault goes away between runs.
            (await lab.Lab.Node("node-3").ExecAsync("sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")).EnsureSuccess("restore ip_forward");

            var second = await fx.WaitForAsync(name, n => n.Status?.History is { Count: >= 2 } && DiagnosisWaits.Finished(n),
                TimeSpan.FromMinutes(2), "second run in history");
            var report = DiagnosisWaits.Describe(fx, second);
            var latest = second.Status!.History![0];
            Assert.NotEqual(first.Status.History![0].Run, latest.Run);
            Assert.Contains(latest.Resolved ?? [], k => k.StartsWith("ipForward", StringComparison.Ordinal));
            Assert.Equal(0, latest.Critical);
            Assert.Equal(1, second.Status.History[1].Critical);
            Assert.DoesNotContain(second.Status.Findings ?? [], f => f.Check == CheckNames.IpForward && f.Severity == "Critical");
            Assert.True(second.Status.History.Count <= 3, report);
        }
        finally
        {
            await fx.DeleteDiagnosisAsync(name);
        }
    }
}
