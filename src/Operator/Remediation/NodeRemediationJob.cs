using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Planning;

namespace NetDiag.Operator.Remediation;

/// <summary>What a node remediation Job is for.</summary>
/// <param name="Action">enableIpForward, enableBridgeNetfilter or raiseConntrackMax.</param>
/// <param name="Node">The node it is pinned to.</param>
/// <param name="ConntrackTarget">For raiseConntrackMax: the new minimum.</param>
/// <param name="PreviousValue">The value the probe saw, recorded as an annotation on the Job.</param>
public sealed record NodeJobRequest(
    string Action,
    string Node,
    long? ConntrackTarget,
    string? PreviousValue,
    string DiagnosisName,
    string DiagnosisUid,
    string RunId,
    string Namespace,
    string Image,
    string? ServiceAccount);

/// <summary>
/// Builds the short Job that fixes one node, pure.
/// <code>
///   nd-fix-&lt;action&gt;-&lt;node, ≤40&gt;-&lt;hash(uid/run/action/node), 8&gt;     ≤ 63 chars, deterministic
/// </code>
/// Deterministic names make creation idempotent (409 AlreadyExists = already started for this run).
/// The pod is pinned with <c>nodeName</c> (no scheduler, tolerates every taint: the broken node may
/// be tainted NotReady), runs in the host network namespace (the sysctls are per network
/// namespace), and is privileged: an unprivileged container sees <c>/proc/sys</c> read-only and may
/// not load modules, and NET_ADMIN/SYS_ADMIN alone do not lift the read-only mount. The host root is
/// mounted read-write at <c>/host</c> only to write the drop-in files. No hostPID (nothing needs
/// the host's processes), no service-account token, two attempts, two minutes at most.
/// </summary>
public static class NodeRemediationJob
{
    public const string AnnotationAction = "netdiag.io/action";
    public const string AnnotationNode = "netdiag.io/target-node";
    public const int ActiveDeadlineSeconds = 120;

    public static string JobName(NodeJobRequest r)
    {
        var hash = Names.Hash($"{r.DiagnosisUid}/{r.RunId}/{r.Action}/{r.Node}", 8);
        var node = Names.Sanitize(r.Node, 40);
        return node.Length == 0 ? $"nd-fix-{Short(r.Action)}-{hash}" : $"nd-fix-{Short(r.Action)}-{node}-{hash}";
    }

    /// <summary>The Job, or null when <paramref name="r"/> is not a node action (or lacks its target value).</summary>
    public static V1Job? Build(NodeJobRequest r, V1OwnerReference? owner)
    {
        var script = NodeRemediationScripts.For(r.Action, r.ConntrackTarget);
        if (script is null)
            return null;

        var labels = new Dictionary<string, string>
        {
            [WellKnown.LabelDiagnosis] = Names.LabelValue(r.DiagnosisName),
            [WellKnown.LabelRun] = Names.LabelValue(r.RunId),
            [WellKnown.LabelNode] = Names.LabelValue(r.Node),
            [WellKnown.LabelComponent] = WellKnown.ComponentRemediation,
            [WellKnown.LabelManagedBy] = WellKnown.ManagedByValue,
        };
        var annotations = new Dictionary<string, string>
        {
            [AnnotationAction] = r.Action,
            [AnnotationNode] = r.Node,
        };
        if (r.PreviousValue is { Length: > 0 } previous && NodeRemediationScripts.SysctlOf(r.Action) is { } sysctl)
            annotations[WellKnown.AnnotationPreviousPrefix + sysctl] = previous;

        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta
            {
                Name = JobName(r),
                NamespaceProperty = r.Namespace,
                Labels = labels,
                Annotations = annotations,
                OwnerReferences = owner is null ? null : [owner],
            },
            Spec = new V1JobSpec
            {
                BackoffLimit = 1,
                ActiveDeadlineSeconds = ActiveDeadlineSeconds,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels), Annotations = new Dictionary<string, string>(annotations) },
                    Spec = new V1PodSpec
                    {
                        NodeName = r.Node,
                        HostNetwork = true,
                        DnsPolicy = "ClusterFirstWithHostNet",
                        RestartPolicy = "Never",
                        ServiceAccountName = r.ServiceAccount,
                        AutomountServiceAccountToken = false,
                        Tolerations = [new V1Toleration { OperatorProperty = "Exists" }],
                        TerminationGracePeriodSeconds = 5,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "remediate",
                                Image = r.Image,
                                Command = ["/bin/sh", "-c", script],
                                Env = [new V1EnvVar { Name = NodeRemediationScripts.HostRootVariable, Value = NodeRemediationScripts.DefaultHostRoot }],
                                SecurityContext = new V1SecurityContext { Privileged = true },
                                VolumeMounts = [new V1VolumeMount { Name = "host-root", MountPath = NodeRemediationScripts.DefaultHostRoot }],
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("16Mi") },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi") },
                                },
                                TerminationMessagePolicy = "FallbackToLogsOnError",
                            },
                        ],
                        Volumes = [new V1Volume { Name = "host-root", HostPath = new V1HostPathVolumeSource { Path = "/", Type = "Directory" } }],
                    },
                },
            },
        };
    }

    private static string Short(string action) => action switch
    {
        ActionNames.EnableIpForward => "ipfwd",
        ActionNames.EnableBridgeNetfilter => "brnf",
        ActionNames.RaiseConntrackMax => "ctmax",
        _ => Names.Sanitize(action, 8),
    };
}
