using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Remediation;

namespace NetDiag.Operator.Tests.Remediation;

public class NodeRemediationJobTests
{
    private static NodeJobRequest Request(string action = ActionNames.EnableIpForward, string node = "worker-1", long? target = null) =>
        new(action, node, target, "0", "flannel-cluster", "uid-1", "g3-202503090700", "netdiag-system", "netdiag-probe:dev", "netdiag-probe");

    [Fact]
    public void The_job_is_pinned_to_its_node_in_the_host_network_and_labelled_with_its_run()
    {
        var job = NodeRemediationJob.Build(Request(), owner: null)!;
        var pod = job.Spec.Template.Spec;

        Assert.Equal("worker-1", pod.NodeName);
        Assert.True(pod.HostNetwork);
        Assert.NotEqual(true, pod.HostPID);
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.Equal("Exists", Assert.Single(pod.Tolerations).OperatorProperty);
        Assert.Equal("Never", pod.RestartPolicy);
        Assert.Equal("/", Assert.Single(pod.Volumes).HostPath.Path);
        var container = Assert.Single(pod.Containers);
        Assert.True(container.SecurityContext.Privileged);
        Assert.Equal("/host", Assert.Single(container.VolumeMounts).MountPath);
        Assert.Equal(["/bin/sh", "-c"], container.Command.Take(2));
        Assert.Contains("99-zz-netdiag-ip_forward.conf", container.Command[2]);

        Assert.Equal("g3-202503090700", job.Metadata.Labels[WellKnown.LabelRun]);
        Assert.Equal(WellKnown.ComponentRemediation, job.Metadata.Labels[WellKnown.LabelComponent]);
        Assert.Equal("0", job.Metadata.Annotations["netdiag.io/previous-net.ipv4.ip_forward"]);
        Assert.Equal("netdiag-system", job.Metadata.NamespaceProperty);
    }

    [Fact]
    public void Job_names_are_deterministic_valid_and_distinct_per_node_action_and_run()
    {
        var a = NodeRemediationJob.JobName(Request());
        Assert.Equal(a, NodeRemediationJob.JobName(Request()));
        Assert.StartsWith("nd-fix-ipfwd-worker-1-", a);
        Assert.NotEqual(a, NodeRemediationJob.JobName(Request(node: "worker-2")));
        Assert.NotEqual(a, NodeRemediationJob.JobName(Request(action: ActionNames.EnableBridgeNetfilter)));
        Assert.NotEqual(a, NodeRemediationJob.JobName(Request() with { RunId = "g4" }));

        var longName = NodeRemediationJob.JobName(Request(node: new string('n', 200) + ".example.internal"));
        Assert.True(longName.Length <= 63, longName);
        Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", longName);
    }

    [Fact]
    public void Conntrack_needs_its_target_and_cluster_actions_are_not_node_jobs()
    {
        Assert.Null(NodeRemediationJob.Build(Request(ActionNames.RaiseConntrackMax), null));
        Assert.Contains("want=524288", NodeRemediationJob.Build(Request(ActionNames.RaiseConntrackMax, target: 524288), null)!.Spec.Template.Spec.Containers[0].Command[2]);
        Assert.Null(NodeRemediationJob.Build(Request(ActionNames.RestartCoreDns), null));
    }
}
