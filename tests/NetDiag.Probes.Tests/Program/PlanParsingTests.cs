using NetDiag.Entities.Reports;

namespace NetDiag.Probes.Tests.Program;

public class PlanParsingTests
{
    [Fact]
    public void A_sparse_plan_keeps_every_default()
    {
        Assert.True(ProbeReportCodec.TryParsePlan("""{"schemaVersion":"netdiag.io/probe-plan/v1","node":"n1","flannel":{"type":"vxlan"}}""", out var plan, out var error), error);
        Assert.Equal("n1", plan!.Node);
        Assert.Empty(plan.Checks);
        Assert.Empty(plan.Peers);
        Assert.Equal(8472, plan.Flannel.Port);
        Assert.Equal(1000, plan.Timeouts.PerTargetMs);
        Assert.Equal(90, plan.Thresholds.ConntrackWarningPercent);
        Assert.Equal("/host", plan.HostRoot);
        Assert.Equal("cluster.local", plan.ClusterDomain);
    }
}
