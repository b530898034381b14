using System.Text.RegularExpressions;
using k8s.Models;
using NetDiag.Entities.Reports;

namespace NetDiag.LabCluster.Kubelet;

/// <summary>How the lab starts the probe program on this machine: a NativeAOT binary, or <c>dotnet x.dll</c>.</summary>
/// <param name="FileName">The executable.</param>
/// <param name="PrefixArgs">Arguments before the container's own (e.g. the dll path for <c>dotnet</c>).</param>
public sealed record ProbeProgram(string FileName, IReadOnlyList<string> PrefixArgs)
{
    /// <summary>A path to <c>netdiag-probe.dll</c> (run with dotnet) or a native <c>netdiag-probe</c> binary.</summary>
    public static ProbeProgram FromPath(string path) =>
        path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new ProbeProgram("dotnet", [Path.GetFullPath(path)])
            : new ProbeProgram(Path.GetFullPath(path), []);

    public override string ToString() => string.Join(' ', new[] { FileName }.Concat(PrefixArgs));
}

/// <summary>A container process the lab kubelet will start inside a node's namespaces.</summary>
/// <param name="TerminationMessageFile">The host file standing for the container's terminationMessagePath.</param>
public sealed record ContainerRunSpec(
    string Container,
    string FileName,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Environment,
    string TerminationMessageFile,
    bool FallbackToLogsOnError)
{
    /// <summary>The command line as a person would type it (for logs and events).</summary>
    public string CommandLine => string.Join(' ', new[] { FileName }.Concat(Args).Select(a => a.Contains(' ') ? $"'{a}'" : a));
}

/// <summary>
/// Turns a probe pod's container into a process on this machine, as a container runtime would
/// run it: the image's program (the locally built probe), the container's args and env with
/// <c>$(VAR)</c> expanded and downward-API fields filled, the terminationMessagePath mapped to a
/// host file, and the hostPath volume of <c>/</c> mapped to the node's host-root folder (in the
/// lab that folder is the node's <c>/</c>). Pure: no I/O.
/// </summary>
public static partial class ContainerRunSpecs
{
    /// <summary>The program name the probe image runs (OperatorOptions.ProbeCommand's file name).</summary>
    public const string ProbeProgramName = "netdiag-probe";

    public const string DefaultTerminationMessagePath = "/dev/termination-log";

    /// <summary>Whether the container runs the probe program: its command does or, without one, its image's entrypoint does.</summary>
    public static bool IsProbeContainer(V1Container container)
    {
        if (container.Command is { Count: > 0 } command)
            return Path.GetFileName(command[0]) == ProbeProgramName;
        return IsProbeImage(container.Image);
    }

    /// <summary>Whether the image is the probe image (the probe, plus the shell tools remediation Jobs use).</summary>
    public static bool IsProbeImage(string? image) => ImageRepository(image).EndsWith(ProbeProgramName, StringComparison.Ordinal);

    /// <summary>
    /// Whether the lab can run this container: the probe program, or any command in the probe
    /// image (remediation Jobs run <c>/bin/sh -c</c> in it), which the lab runs with the node's tools.
    /// </summary>
    public static bool CanRun(V1Container container) => IsProbeContainer(container) || IsProbeImage(container.Image);

    /// <summary>The image name without registry tag or digest: <c>ghcr.io/x/netdiag-probe:dev</c> → <c>ghcr.io/x/netdiag-probe</c>.</summary>
    public static string ImageRepository(string? image)
    {
        if (string.IsNullOrEmpty(image)) return "";
        var at = image.IndexOf('@');
        if (at >= 0) image = image[..at];
        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? image[..colon] : image;
    }

    /// <summary>
    /// Builds the run spec for <paramref name="container"/> of <paramref name="pod"/> on
    /// <paramref name="node"/>. False with a kubelet-style reason (CreateContainerConfigError,
    /// ContainerCannotRun) when the container cannot run in the lab.
    /// </summary>
    public static bool TryBuild(
        V1Pod pod,
        V1Container container,
        LabNodeInfo node,
        ProbeProgram probe,
        string terminationMessageFile,
        out ContainerRunSpec? spec,
        out string reason,
        out string message)
    {
        spec = null;
        reason = "";
        message = "";
        if (!CanRun(container))
        {
            reason = "ContainerCannotRun";
            message = $"image \"{container.Image}\" (command {string.Join(' ', container.Command ?? [])}) cannot run in the NetDiag lab: only the {ProbeProgramName} program and the kube-system stand-ins run here";
            return false;
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in container.Env ?? [])
        {
            if (e.ValueFrom is null)
            {
                env[e.Name] = Expand(e.Value ?? "", env);
                continue;
            }
            var value = DownwardValue(pod, node, e.ValueFrom.FieldRef?.FieldPath);
            if (value is null)
            {
                reason = "CreateContainerConfigError";
                message = $"env {e.Name}: only fieldRef metadata.name, metadata.namespace, metadata.uid, spec.nodeName, spec.serviceAccountName, status.hostIP and status.podIP are supported in the lab";
                return false;
            }
            env[e.Name] = value;
        }

        var hostRootMount = HostRootMountPath(pod, container);
        if (hostRootMount is not null)
        {
            foreach (var (k, v) in env.ToList())
                if (MapUnder(v, hostRootMount, node.HostRoot) is { } mapped) env[k] = mapped;
        }
        if (hostRootMount is not null && env.TryGetValue(ProbePlan.EnvironmentVariable, out var planText))
            env[ProbePlan.EnvironmentVariable] = RewritePlanHostRoot(planText, hostRootMount, node.HostRoot);

        var terminationPath = string.IsNullOrEmpty(container.TerminationMessagePath)
            ? DefaultTerminationMessagePath
            : container.TerminationMessagePath;

        // `command` replaces the image's ENTRYPOINT; without it the probe image's entrypoint is the probe.
        var runsProbe = IsProbeContainer(container);
        var rest = (container.Command is { Count: > 0 } cmd ? cmd.Skip(1) : [])
            .Concat(container.Args ?? [])
            .Select(a => Expand(a, env))
            .Select(a => MapPath(a, terminationPath, terminationMessageFile, hostRootMount, node.HostRoot))
            .ToList();

        spec = new ContainerRunSpec(
            container.Name,
            runsProbe ? probe.FileName : Expand(container.Command![0], env),
            runsProbe ? probe.PrefixArgs.Concat(rest).ToList() : rest,
            env,
            terminationMessageFile,
            container.TerminationMessagePolicy == "FallbackToLogsOnError");
        return true;
    }

    /// <summary>Where the container mounts a hostPath volume of <c>/</c> (the probe Job's <c>/host</c>), if it does.</summary>
    public static string? HostRootMountPath(V1Pod pod, V1Container container)
    {
        var rootVolumes = (pod.Spec?.Volumes ?? [])
            .Where(v => v.HostPath is { } hp && hp.Path.TrimEnd('/') == "")
            .Select(v => v.Name)
            .ToHashSet(StringComparer.Ordinal);
        return (container.VolumeMounts ?? [])
            .FirstOrDefault(m => rootVolumes.Contains(m.Name) && string.IsNullOrEmpty(m.SubPath))
            ?.MountPath.TrimEnd('/');
    }

    /// <summary>
    /// Rewrites the plan's hostRoot when it lies under the container's mount of the host's <c>/</c>.
    /// A plan that does not parse is passed on untouched: the probe reports that itself.
    /// </summary>
    public static string RewritePlanHostRoot(string planText, string mountPath, string nodeHostRoot)
    {
        if (!ProbeReportCodec.TryParsePlan(planText, out var plan, out _) || plan is null) return planText;
        var mapped = MapUnder(plan.HostRoot, mountPath, nodeHostRoot);
        return mapped is null ? planText : ProbeReportCodec.SerializePlan(plan with { HostRoot = mapped });
    }

    /// <summary>The downward-API value of a fieldRef, or null when the lab does not support it.</summary>
    public static string? DownwardValue(V1Pod pod, LabNodeInfo node, string? fieldPath) => fieldPath switch
    {
        "metadata.name" => pod.Metadata?.Name ?? "",
        "metadata.namespace" => pod.Metadata?.NamespaceProperty ?? "",
        "metadata.uid" => pod.Metadata?.Uid ?? "",
        "spec.nodeName" => node.Name,
        "spec.serviceAccountName" => pod.Spec?.ServiceAccountName ?? "default",
        "status.hostIP" or "status.podIP" => node.NodeIp,
        _ => null,
    };

    /// <summary>Kubernetes' <c>$(VAR)</c> expansion: defined variables are replaced, <c>$$</c> escapes, the rest stays.</summary>
    public static string Expand(string text, IReadOnlyDictionary<string, string> env) =>
        VarReference().Replace(text, m =>
            m.Value == "$$" ? "$" : env.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    [GeneratedRegex(@"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")]
    private static partial Regex VarReference();

    private static string MapPath(string arg, string terminationPath, string terminationFile, string? hostRootMount, string hostRoot)
    {
        if (arg == terminationPath) return terminationFile;
        var eq = arg.IndexOf('=');
        if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
        {
            var value = arg[(eq + 1)..];
            var mapped = value == terminationPath ? terminationFile
                : hostRootMount is null ? null : MapUnder(value, hostRootMount, hostRoot);
            return mapped is null ? arg : arg[..(eq + 1)] + mapped;
        }
        return hostRootMount is null ? arg : MapUnder(arg, hostRootMount, hostRoot) ?? arg;
    }

    /// <summary><paramref name="path"/> under <paramref name="mount"/> mapped under <paramref name="target"/>, else null.</summary>
    private static string? MapUnder(string path, string mount, string target)
    {
        if (path == mount || path == mount + "/") return target;
        if (mount.Length > 0 && path.StartsWith(mount + "/", StringComparison.Ordinal))
            return Path.Combine(target, path[(mount.Length + 1)..]);
        return null;
    }
}
