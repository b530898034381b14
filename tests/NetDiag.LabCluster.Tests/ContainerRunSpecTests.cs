using k8s.Models;
using NetDiag.Entities.Reports;
using NetDiag.LabCluster.Kubelet;

namespace NetDiag.LabCluster.Tests;

public sealed class ContainerRunSpecTests
{
    private static readonly LabNodeInfo Node = new("node-2", "172.28.0.12", ["10.244.2.0/24"], "/tmp/lab/nodes/node-2/root");
    private static readonly ProbeProgram Probe = ProbeProgram.FromPath("/opt/probe/netdiag-probe.dll");

    /// <summary>A pod shaped like the operator's probe Job pod.</summary>
    private static V1Pod ProbePod(string? command = "/usr/local/bin/netdiag-probe", string plan = """{"node":"node-2","hostRoot":"/host"}""") => new()
    {
        Metadata = new V1ObjectMeta { Name = "nd-x-1", NamespaceProperty = "netdiag-system", Uid = "u1" },
        Spec = new V1PodSpec
        {
            NodeName = "node-2",
            Containers =
            [
                new V1Container
                {
                    Name = "probe",
                    Image = "registry.example/netdiag-probe:dev",
                    Command = command is null ? null : [command, "--output", "json", "--termination-log", "/dev/termination-log"],
                    Env =
                    [
                        new V1EnvVar { Name = ProbePlan.EnvironmentVariable, Value = plan },
                        new V1EnvVar { Name = "NODE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "spec.nodeName" } } },
                        new V1EnvVar { Name = "ROOT", Value = "/host" },
                    ],
                    TerminationMessagePath = "/dev/termination-log",
                    TerminationMessagePolicy = "FallbackToLogsOnError",
                    VolumeMounts = [new V1VolumeMount { Name = "host-root", MountPath = "/host", ReadOnlyProperty = true }],
                },
            ],
            Volumes = [new V1Volume { Name = "host-root", HostPath = new V1HostPathVolumeSource { Path = "/" } }],
        },
    };

    [Fact]
    public void Runs_the_local_probe_with_the_containers_args_and_a_host_termination_file()
    {
        var pod = ProbePod();
        Assert.True(ContainerRunSpecs.TryBuild(pod, pod.Spec.Containers[0], Node, Probe, "/tmp/t.log", out var spec, out _, out var message), message);
        Assert.Equal("dotnet", spec!.FileName);
        Assert.Equal(["/opt/probe/netdiag-probe.dll", "--output", "json", "--termination-log", "/tmp/t.log"], spec.Args);
        Assert.True(spec.FallbackToLogsOnError);
        Assert.Equal("node-2", spec.Environment["NODE"]);
    }

    [Fact]
    public void Maps_the_host_root_mount_to_the_nodes_folder_in_the_plan_and_env()
    {
        var pod = ProbePod();
        ContainerRunSpecs.TryBuild(pod, pod.Spec.Containers[0], Node, Probe, "/tmp/t.log", out var spec, out _, out _);
        Assert.True(ProbeReportCodec.TryParsePlan(spec!.Environment[ProbePlan.EnvironmentVariable], out var plan, out var error), error);
        Assert.Equal(Node.HostRoot, plan!.HostRoot);
        Assert.Equal("node-2", plan.Node);
        Assert.Equal(Node.HostRoot, spec.Environment["ROOT"]);
    }

    [Fact]
    public void A_plan_that_does_not_parse_is_passed_on_for_the_probe_to_report()
    {
        var pod = ProbePod(plan: "{not json");
        ContainerRunSpecs.TryBuild(pod, pod.Spec.Containers[0], Node, Probe, "/tmp/t.log", out var spec, out _, out _);
        Assert.Equal("{not json", spec!.Environment[ProbePlan.EnvironmentVariable]);
    }

    [Fact]
    public void Without_a_command_the_probe_images_entrypoint_runs()
    {
        var pod = ProbePod(command: null);
        Assert.True(ContainerRunSpecs.TryBuild(pod, pod.Spec.Containers[0], Node, Probe, "/tmp/t.log", out var spec, out _, out _));
        Assert.Equal(["/opt/probe/netdiag-probe.dll"], spec!.Args);
    }

    [Fact]
    public void A_shell_in_the_probe_image_runs_as_written()
    {
        var pod = ProbePod(command: "/bin/sh");
        pod.Spec.Containers[0].Command = ["/bin/sh", "-c", "echo $(ROOT)"];
        Assert.True(ContainerRunSpecs.TryBuild(pod, pod.Spec.Containers[0], Node, Probe, "/tmp/t.log", out var spec, out _, out _));
        Assert.Equal("/bin/sh", spec!.FileName);
        Assert.Equal(["-c", $"echo {Node.HostRoot}"], spec.Args);
    }

    [Fact]
    public void Another_image_cannot_run_and_says_why()
    {
        var pod = ProbePod();
        pod.Spec.Containers[0].Image = "nginx:1.25";
        pod.Spec.Containers[0].Command = ["nginx"];
        Assert.False(ContainerRunSpecs.TryBuild(pod, pod.Spec.Containers[0], Node, Probe, "/tmp/t.log", out _, out var reason, out var message));
        Assert.Equal("ContainerCannotRun", reason);
        Assert.Contains("nginx:1.25", message);
    }

    [Theory]
    [InlineData("$(NODE)-x", "node-2-x")]
    [InlineData("$$(NODE)", "$(NODE)")]
    [InlineData("$(MISSING)", "$(MISSING)")]
    public void Expands_variable_references_as_kubernetes_does(string text, string expected) =>
        Assert.Equal(expected, ContainerRunSpecs.Expand(text, new Dictionary<string, string> { ["NODE"] = "node-2" }));
}
