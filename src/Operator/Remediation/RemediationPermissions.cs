using k8s;
using k8s.Models;
using NetDiag.Entities;

namespace NetDiag.Operator.Remediation;

/// <summary>One API permission, as RBAC and SelfSubjectAccessReview spell it.</summary>
public sealed record Permission(string Verb, string Group, string Resource, string? Namespace = null, string? Name = null)
{
    /// <summary>"patch configmaps kube-system/coredns", "create nodeactions.netdiag.io".</summary>
    public override string ToString()
    {
        var resource = Group.Length == 0 ? Resource : $"{Resource}.{Group}";
        var where = (Namespace, Name) switch
        {
            ({ } ns, { } n) => $" {ns}/{n}",
            ({ } ns, null) => $" in {ns}",
            (null, { } n) => $" {n}",
            _ => "",
        };
        return $"{Verb} {resource}{where}";
    }
}

/// <summary>
/// Which permissions each auto action needs (pure), and whether the operator holds them (I/O:
/// SelfSubjectAccessReview, authorization.k8s.io/v1, GA since Kubernetes 1.6, allowed to every
/// authenticated user by the built-in system:basic-user role, so checking needs no extra RBAC).
/// The write permissions live only in the separate <c>netdiag-remediation</c> ClusterRole
/// (config/rbac/remediation): bound, Auto may act; unbound, Auto reports what it would have done.
/// <para>Node actions need no API write beyond creating a Job, which the operator may do anyway
/// for probes; so that binding the remediation role is still what unlocks them, they also require
/// <c>create nodeactions.netdiag.io</c>: a virtual resource (no such API exists) that only the
/// remediation ClusterRole grants, checked like any other permission.</para>
/// </summary>
public static class RemediationPermissions
{
    public const string NodeActionsGroup = "netdiag.io";
    public const string NodeActionsResource = "nodeactions";
    public const string FlannelConfigMap = "kube-flannel-cfg";
    public const string FlannelDaemonSet = "kube-flannel-ds";

    /// <summary>The permissions <paramref name="action"/> needs.</summary>
    /// <param name="flannelNamespace">Where kube-flannel-cfg lives (kube-flannel or kube-system).</param>
    /// <param name="operatorNamespace">Where remediation Jobs are created.</param>
    public static IReadOnlyList<Permission> Required(PlannedAction action, string flannelNamespace, string operatorNamespace) => action.Action switch
    {
        ActionNames.PatchFlannelBackend =>
        [
            new("get", "", "configmaps", flannelNamespace, FlannelConfigMap),
            new("patch", "", "configmaps", flannelNamespace, FlannelConfigMap),
            new("get", "apps", "daemonsets", flannelNamespace, FlannelDaemonSet),
            new("patch", "apps", "daemonsets", flannelNamespace, FlannelDaemonSet),
            new("list", "", "pods", flannelNamespace),
            new("delete", "", "pods", flannelNamespace),
        ],
        ActionNames.PatchCorefileForward =>
        [
            new("get", "", "configmaps", "kube-system", "coredns"),
            new("patch", "", "configmaps", "kube-system", "coredns"),
        ],
        ActionNames.RestartCoreDns =>
        [
            new("get", "apps", "deployments", "kube-system", "coredns"),
            new("patch", "apps", "deployments", "kube-system", "coredns"),
        ],
        ActionNames.EnableIpForward or ActionNames.EnableBridgeNetfilter or ActionNames.RaiseConntrackMax =>
        [
            new("create", NodeActionsGroup, NodeActionsResource),
            new("create", "batch", "jobs", operatorNamespace),
        ],
        _ => [],
    };
}

/// <summary>Answers "may I?" for the operator's own identity.</summary>
public interface IAccessReviewer
{
    /// <summary>True when allowed; false when denied; throws only on cancellation.</summary>
    Task<AccessAnswer> CanAsync(Permission permission, CancellationToken cancellationToken);
}

/// <summary>An access review's answer; <see cref="Error"/> set when the review itself failed.</summary>
public sealed record AccessAnswer(bool Allowed, string? Error = null);

/// <summary>
/// <see cref="IAccessReviewer"/> over SelfSubjectAccessReview. Answers are cached for the life of
/// the instance (one reconcile's remediation), so an action list that repeats a permission asks once.
/// </summary>
public sealed class SelfSubjectAccessReviewer(IKubernetes client) : IAccessReviewer
{
    private readonly Dictionary<Permission, AccessAnswer> cache = new();

    public async Task<AccessAnswer> CanAsync(Permission permission, CancellationToken cancellationToken)
    {
        if (cache.TryGetValue(permission, out var cached))
            return cached;
        AccessAnswer answer;
        try
        {
            var review = await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(
                new V1SelfSubjectAccessReview
                {
                    ApiVersion = "authorization.k8s.io/v1",
                    Kind = "SelfSubjectAccessReview",
                    Spec = new V1SelfSubjectAccessReviewSpec
                    {
                        ResourceAttributes = new V1ResourceAttributes
                        {
                            Verb = permission.Verb,
                            Group = permission.Group,
                            Resource = permission.Resource,
                            NamespaceProperty = permission.Namespace,
                            Name = permission.Name,
                        },
                    },
                },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            answer = new AccessAnswer(review.Status?.Allowed == true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // Cannot tell: treat as not allowed (the safe side) and say why.
            answer = new AccessAnswer(false, e.Message);
        }

        cache[permission] = answer;
        return answer;
    }

    /// <summary>
    /// For each action, the permissions it lacks, as sentences ("patch configmaps kube-system/coredns",
    /// or "… (access review failed: …)"). Actions with nothing missing map to an empty list.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> MissingAsync(
        IAccessReviewer reviewer,
        IEnumerable<PlannedAction> actions,
        string flannelNamespace,
        string operatorNamespace,
        CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var action in actions)
        {
            if (result.ContainsKey(action.Action))
                continue;
            var missing = new List<string>();
            foreach (var p in RemediationPermissions.Required(action, action.FlannelNamespace ?? flannelNamespace, operatorNamespace))
            {
                var answer = await reviewer.CanAsync(p, cancellationToken).ConfigureAwait(false);
                if (!answer.Allowed)
                    missing.Add(answer.Error is null ? p.ToString() : $"{p} (access review failed: {answer.Error})");
            }

            result[action.Action] = missing;
        }

        return result;
    }
}
