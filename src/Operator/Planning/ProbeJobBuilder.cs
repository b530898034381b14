using k8s.Models;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;

namespace NetDiag.Operator.Planning;

/// <summary>Operator-wide settings of probe Jobs (from OperatorOptions).</summary>
public sealed record ProbeJobSettings
{
    public string Namespace { get; init; } = "netdiag-system";
    public string Image { get; init; } = "netdiag-probe:dev";
    public string Command { get; init; } = "/usr/local/bin/netdiag-probe";
    public string ServiceAccount { get; init; } = "netdiag-probe";
    public string? PriorityClassName { get; init; }
    /// <summary>Finished Jobs are removed after this long (the kubelet keeps logs for describe/logs until then).</summary>
    public int TtlSecondsAfterFinished { get; init; } = 600;
}

/// <summary>One probe Job to build: which diagnosis, run and node, with which plan and deadline.</summary>
public sealed record ProbeJobRequest(V1alpha1NetworkDiagnosis Diagnosis, string RunId, string Node, ProbePlan Plan, long ActiveDeadlineSeconds);

/// <summary>
/// Builds the probe Job for one node (api.md, checks.md): pinned to the node by <c>nodeName</c>
/// (no scheduler, so it runs even where the scheduler would refuse), tolerating every taint, host
/// network and PID, the host root read-only at <c>/host</c>, only NET_RAW and NET_ADMIN, no
/// service-account token, a deadline and a TTL, owned by the diagnosis so deleting it removes the Jobs.
/// </summary>
public static class ProbeJobBuilder
{
    public const string ContainerName = "probe";
    public const string HostRootPath = "/host";
    public const string TerminationLogPath = "/dev/termination-log";

    public static IDictionary<string, string> Labels(V1alpha1NetworkDiagnosis diagnosis, string runId, string node) => new Dictionary<string, string>
    {
        [WellKnown.LabelDiagnosis] = Names.LabelValue(diagnosis.Metadata.Name),
        [WellKnown.LabelRun] = Names.LabelValue(runId),
        [WellKnown.LabelNode] = Names.LabelValue(node),
        [WellKnown.LabelManagedBy] = WellKnown.ManagedByValue,
        [WellKnown.LabelComponent] = WellKnown.ComponentProbe,
    };

    public static V1Job Build(ProbeJobRequest request, ProbeJobSettings settings)
    {
        var d = request.Diagnosis;
        var labels = Labels(d, request.RunId, request.Node);
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta
            {
                Name = Names.JobName(d.Metadata.Name, d.Metadata.Uid ?? "", request.RunId, request.Node),
                NamespaceProperty = settings.Namespace,
                Labels = labels,
                Annotations = new Dictionary<string, string> { ["netdiag.io/node-name"] = request.Node },
                // A cluster-scoped owner of a namespaced object is allowed; the garbage collector
                // deletes the Jobs when the diagnosis goes.
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = V1alpha1NetworkDiagnosis.GroupVersion,
                        Kind = V1alpha1NetworkDiagnosis.KubeKind,
                        Name = d.Metadata.Name,
                        Uid = d.Metadata.Uid,
                        Controller = true,
                        BlockOwnerDeletion = true,
                    },
                ],
            },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                ActiveDeadlineSeconds = Math.Max(1, request.ActiveDeadlineSeconds),
                TtlSecondsAfterFinished = settings.TtlSecondsAfterFinished,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels) },
                    Spec = PodSpec(request, settings),
                },
            },
        };
    }

    private static V1PodSpec PodSpec(ProbeJobRequest request, ProbeJobSettings settings) => new()
    {
        NodeName = request.Node,
        Tolerations = [new V1Toleration { OperatorProperty = "Exists" }],
        HostNetwork = true,
        HostPID = true,
        DnsPolicy = "ClusterFirstWithHostNet",
        RestartPolicy = "Never",
        AutomountServiceAccountToken = false,
        ServiceAccountName = settings.ServiceAccount,
        PriorityClassName = settings.PriorityClassName,
        TerminationGracePeriodSeconds = 5,
        Containers =
        [
            new V1Container
            {
                Name = ContainerName,
                Image = settings.Image,
                ImagePullPolicy = "IfNotPresent",
                Command = [settings.Command, "--output", "json", "--termination-log", TerminationLogPath],
                Env = [new V1EnvVar { Name = ProbePlan.EnvironmentVariable, Value = ProbeReportCodec.SerializePlan(request.Plan) }],
                TerminationMessagePath = TerminationLogPath,
                // The compact report is written to the termination log; if the probe dies before
                // writing it, the log tail is the next best thing.
                TerminationMessagePolicy = "FallbackToLogsOnError",
                SecurityContext = new V1SecurityContext
                {
                    Privileged = false,
                    AllowPrivilegeEscalation = false,
                    ReadOnlyRootFilesystem = true,
                    Capabilities = new V1Capabilities { Drop = ["ALL"], Add = ["NET_RAW", "NET_ADMIN"] },
                },
                VolumeMounts =
                [
                    new V1VolumeMount { Name = "host-root", MountPath = HostRootPath, ReadOnlyProperty = true, MountPropagation = "HostToContainer" },
                ],
                Resources = new V1ResourceRequirements
                {
                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("32Mi") },
                    Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("200m"), ["memory"] = new("128Mi") },
                },
            },
        ],
        Volumes = [new V1Volume { Name = "host-root", HostPath = new V1HostPathVolumeSource { Path = "/", Type = "Directory" } }],
    };
}
