using k8s.Models;
using NetDiag.LabCluster.Kubelet;

namespace NetDiag.LabCluster.Tests;

public sealed class PodStatusesTests
{
    private static readonly LabNodeInfo Node = new("node-1", "172.28.0.11", ["10.244.1.0/24"], "/tmp/root");
    private static readonly DateTime T0 = new(2026, 11, 30, 2, 0, 0, DateTimeKind.Utc);

    private static V1Pod Pod() => new()
    {
        Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = "ns", Uid = "u" },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "probe", Image = "netdiag-probe:dev" }] },
    };

    [Fact]
    public void Exit_zero_is_Succeeded_and_Completed()
    {
        var s = PodStatuses.Terminated(Pod(), Node, Node.NodeIp, T0, [new ContainerOutcome("probe", 0, "{}", T0, T0.AddSeconds(2))]);
        Assert.Equal("Succeeded", s.Phase);
        var t = s.ContainerStatuses.Single().State.Terminated;
        Assert.Equal(("Completed", 0, "{}"), (t.Reason, t.ExitCode, t.Message));
    }

    [Fact]
    public void A_findings_exit_code_is_Failed_with_Error_and_keeps_the_message()
    {
        var s = PodStatuses.Terminated(Pod(), Node, Node.NodeIp, T0, [new ContainerOutcome("probe", 3, "{report}", T0, T0.AddSeconds(2))]);
        Assert.Equal("Failed", s.Phase);
        var t = s.ContainerStatuses.Single().State.Terminated;
        Assert.Equal(("Error", 3, "{report}"), (t.Reason, t.ExitCode, t.Message));
        Assert.Equal(Node.NodeIp, s.HostIP);
    }

    [Fact]
    public void CannotRun_fails_the_pod_with_the_reason()
    {
        var s = PodStatuses.CannotRun(Pod(), Node, T0, "ContainerCannotRun", "no such image");
        Assert.Equal(("Failed", "ContainerCannotRun", "no such image"), (s.Phase, s.Reason, s.Message));
        Assert.Equal(128, s.ContainerStatuses.Single().State.Terminated.ExitCode);
    }

    [Fact]
    public void CrashLoop_is_Running_not_ready_waiting_with_the_last_run()
    {
        var s = PodStatuses.CrashLoop(Pod(), Node, "10.244.1.3", T0, "probe", 3, new ContainerOutcome("probe", 1, null, T0, T0.AddSeconds(1)));
        Assert.Equal("Running", s.Phase);
        var c = s.ContainerStatuses.Single();
        Assert.Equal(("CrashLoopBackOff", 3, false), (c.State.Waiting.Reason, c.RestartCount, c.Ready));
        Assert.Equal(1, c.LastState.Terminated.ExitCode);
        Assert.Equal("False", s.Conditions.Single(x => x.Type == "Ready").Status);
    }
}
