using k8s.Models;

namespace NetDiag.LabCluster.Kubelet;

/// <summary>How one container ended (or is crash-looping).</summary>
public sealed record ContainerOutcome(string Name, int ExitCode, string? Message, DateTime StartedAt, DateTime FinishedAt, string? Reason = null);

/// <summary>
/// Pod statuses as a kubelet writes them (pods/status). Pure: every timestamp and IP comes in.
/// Semantics mirrored from the kubelet: a container that exits 0 is terminated/Completed, any other
/// exit code terminated/Error; with restartPolicy Never a pod whose containers all ended is
/// Succeeded when every exit code was 0 and Failed otherwise (the Job controller then counts a
/// failure). A container that could not start at all is terminated/ContainerCannotRun, exit 128.
/// </summary>
public static class PodStatuses
{
    public const string RuntimeScheme = "netdiag-lab://";

    /// <summary>All containers started and ready.</summary>
    public static V1PodStatus Running(V1Pod pod, LabNodeInfo node, string podIp, DateTime startedAt, bool ready = true) => new()
    {
        Phase = "Running",
        HostIP = node.NodeIp,
        PodIP = podIp,
        PodIPs = [new V1PodIP { Ip = podIp }],
        StartTime = startedAt,
        QosClass = QosClass(pod),
        Conditions = Conditions(startedAt, ready, ready ? null : "ContainersNotReady", ready ? null : NotReadyMessage(pod)),
        ContainerStatuses = Containers(pod).Select(c => new V1ContainerStatus
        {
            Name = c.Name,
            Image = c.Image,
            ImageID = ImageId(c.Image),
            ContainerID = ContainerId(pod, c.Name, 0),
            Ready = ready,
            Started = true,
            RestartCount = 0,
            State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = startedAt } },
        }).ToList(),
    };

    /// <summary>
    /// Every container ended: phase Succeeded when all exited 0, else Failed (restartPolicy Never
    /// or OnFailure-after-giving-up semantics are the caller's choice).
    /// </summary>
    public static V1PodStatus Terminated(V1Pod pod, LabNodeInfo node, string podIp, DateTime startedAt, IReadOnlyList<ContainerOutcome> outcomes)
    {
        var succeeded = outcomes.All(o => o.ExitCode == 0);
        var byName = outcomes.ToDictionary(o => o.Name, StringComparer.Ordinal);
        return new V1PodStatus
        {
            Phase = succeeded ? "Succeeded" : "Failed",
            HostIP = node.NodeIp,
            PodIP = podIp,
            PodIPs = [new V1PodIP { Ip = podIp }],
            StartTime = startedAt,
            QosClass = QosClass(pod),
            Conditions = Conditions(startedAt, ready: false, succeeded ? "PodCompleted" : "ContainersNotReady",
                succeeded ? null : NotReadyMessage(pod)),
            ContainerStatuses = Containers(pod).Select(c =>
            {
                var o = byName.GetValueOrDefault(c.Name)
                        ?? new ContainerOutcome(c.Name, 137, "the container did not run", startedAt, startedAt, "Error");
                return new V1ContainerStatus
                {
                    Name = c.Name,
                    Image = c.Image,
                    ImageID = ImageId(c.Image),
                    ContainerID = ContainerId(pod, c.Name, 0),
                    Ready = false,
                    Started = false,
                    RestartCount = 0,
                    State = new V1ContainerState { Terminated = TerminatedState(pod, o, 0) },
                };
            }).ToList(),
        };
    }

    /// <summary>
    /// A container that keeps exiting and is held back by the kubelet's restart back-off: phase
    /// Running, not ready, waiting/CrashLoopBackOff with the previous run as lastState.
    /// </summary>
    public static V1PodStatus CrashLoop(V1Pod pod, LabNodeInfo node, string podIp, DateTime startedAt, string container, int restartCount, ContainerOutcome last)
    {
        var status = Running(pod, node, podIp, startedAt, ready: false);
        foreach (var cs in status.ContainerStatuses.Where(c => c.Name == container))
        {
            cs.Ready = false;
            cs.Started = false;
            cs.RestartCount = restartCount;
            cs.ContainerID = ContainerId(pod, container, restartCount);
            cs.State = new V1ContainerState
            {
                Waiting = new V1ContainerStateWaiting
                {
                    Reason = "CrashLoopBackOff",
                    Message = $"back-off 5m0s restarting failed container={container} pod={pod.Metadata.Name}_{pod.Metadata.NamespaceProperty}({pod.Metadata.Uid})",
                },
            };
            cs.LastState = new V1ContainerState { Terminated = TerminatedState(pod, last, restartCount - 1) };
        }
        return status;
    }

    /// <summary>The pod could not run in the lab: Failed with the runtime's reason, as a kubelet reports a container that cannot start.</summary>
    public static V1PodStatus CannotRun(V1Pod pod, LabNodeInfo node, DateTime now, string reason, string message)
    {
        var outcomes = Containers(pod).Select(c => new ContainerOutcome(c.Name, 128, message, now, now, reason)).ToList();
        var status = Terminated(pod, node, node.NodeIp, now, outcomes);
        status.Reason = reason;
        status.Message = message;
        return status;
    }

    private static V1ContainerStateTerminated TerminatedState(V1Pod pod, ContainerOutcome o, int attempt) => new()
    {
        ExitCode = o.ExitCode,
        Reason = o.Reason ?? (o.ExitCode == 0 ? "Completed" : "Error"),
        Message = string.IsNullOrEmpty(o.Message) ? null : o.Message,
        StartedAt = o.StartedAt,
        FinishedAt = o.FinishedAt,
        ContainerID = ContainerId(pod, o.Name, attempt),
    };

    private static List<V1PodCondition> Conditions(DateTime since, bool ready, string? reason, string? message) =>
    [
        new() { Type = "Initialized", Status = "True", LastTransitionTime = since },
        new() { Type = "Ready", Status = ready ? "True" : "False", Reason = reason, Message = message, LastTransitionTime = since },
        new() { Type = "ContainersReady", Status = ready ? "True" : "False", Reason = reason, Message = message, LastTransitionTime = since },
        new() { Type = "PodScheduled", Status = "True", LastTransitionTime = since },
    ];

    private static string NotReadyMessage(V1Pod pod) =>
        $"containers with unready status: [{string.Join(' ', Containers(pod).Select(c => c.Name))}]";

    private static IEnumerable<V1Container> Containers(V1Pod pod) => pod.Spec?.Containers ?? [];

    /// <summary>Guaranteed when every container's requests equal its limits, BestEffort with none, else Burstable.</summary>
    private static string QosClass(V1Pod pod)
    {
        var containers = Containers(pod).ToList();
        if (containers.All(c => (c.Resources?.Requests?.Count ?? 0) == 0 && (c.Resources?.Limits?.Count ?? 0) == 0)) return "BestEffort";
        var guaranteed = containers.All(c =>
            c.Resources?.Limits is { } l && l.ContainsKey("cpu") && l.ContainsKey("memory")
            && (c.Resources.Requests is null || c.Resources.Requests.All(r => l.TryGetValue(r.Key, out var v) && v.ToString() == r.Value.ToString())));
        return guaranteed ? "Guaranteed" : "Burstable";
    }

    private static string ImageId(string? image) => $"{RuntimeScheme}image/{image}";

    private static string ContainerId(V1Pod pod, string container, int attempt) =>
        $"{RuntimeScheme}{pod.Metadata?.Uid}/{container}/{attempt}";
}
