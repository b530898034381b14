using System.Text.Json.Nodes;
using NetDiag.Entities.Tests.Support;

namespace NetDiag.Entities.Tests.Manifests;

/// <summary>
/// Least privilege, as a reviewer would check config/rbac by eye: no wildcards, cluster
/// configuration writable only through the opt-in remediation role, that role bound only per
/// namespace, probes without an API token.
/// </summary>
public class RbacTests
{
    private const string RemediationRole = "netdiag-remediation";

    private static readonly string[] WriteVerbs = ["create", "update", "patch", "delete", "deletecollection"];

    private static readonly IReadOnlyList<(string File, JsonObject Doc)> Documents =
        Directory.GetFiles(RepoPaths.Combine("config/rbac"), "*.yaml", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .Order(StringComparer.Ordinal)
            .SelectMany(f => YamlDocuments.Load(f).Select(d => (Path.GetRelativePath(RepoPaths.Root, f), d)))
            .ToArray();

    private static IEnumerable<(string Role, string Kind, JsonObject Rule)> Rules =>
        Documents.Where(d => Kind(d.Doc) is "Role" or "ClusterRole")
            .SelectMany(d => d.Doc["rules"]!.AsArray().Select(r => (Name(d.Doc), Kind(d.Doc), (JsonObject)r!)));

    [Fact]
    public void Finds_the_roles_it_judges()
    {
        var roles = Documents.Where(d => Kind(d.Doc) is "Role" or "ClusterRole").Select(d => $"{Kind(d.Doc)}/{Name(d.Doc)}").ToArray();
        Assert.Contains("ClusterRole/netdiag-operator", roles);
        Assert.Contains("Role/netdiag-operator", roles);
        Assert.Contains("ClusterRole/netdiag-remediation", roles);
    }

    [Fact]
    public void No_wildcards_anywhere()
    {
        var wildcards = Rules
            .SelectMany(r => new[] { "verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs" }
                .Where(k => Strings(r.Rule[k]).Any(v => v.Contains('*')))
                .Select(k => $"{r.Kind}/{r.Role} {k}"))
            .ToArray();

        Assert.Empty(wildcards);
    }

    [Fact]
    public void Cluster_configuration_is_writable_only_through_the_remediation_role()
    {
        string[] guarded = ["configmaps", "deployments", "daemonsets", "nodes", "services", "endpoints"];

        var offenders = Rules
            .Where(r => r.Role != RemediationRole)
            .Where(r => Strings(r.Rule["resources"]).Intersect(guarded).Any() && Strings(r.Rule["verbs"]).Intersect(WriteVerbs).Any())
            .Select(r => $"{r.Kind}/{r.Role}: {string.Join(",", Strings(r.Rule["verbs"]))} {string.Join(",", Strings(r.Rule["resources"]))}")
            .ToArray();

        Assert.Empty(offenders);
        Assert.Contains(Rules, r => r.Role == RemediationRole && Strings(r.Rule["resources"]).Contains("configmaps") && Strings(r.Rule["verbs"]).Contains("patch"));
    }

    [Fact]
    public void The_remediation_role_is_limited_to_named_objects_where_names_are_known()
    {
        var unnamed = Rules
            .Where(r => r.Role == RemediationRole && !Strings(r.Rule["resources"]).SequenceEqual(["pods"]))
            .Where(r => !Strings(r.Rule["resourceNames"]).Any())
            .ToArray();

        Assert.Empty(unnamed);
    }

    [Fact]
    public void The_remediation_role_is_only_ever_bound_per_namespace()
    {
        var bindings = Documents.Where(d => d.Doc["roleRef"]?["name"]?.GetValue<string>() == RemediationRole).ToArray();

        Assert.NotEmpty(bindings);
        Assert.All(bindings, b => Assert.Equal("RoleBinding", Kind(b.Doc)));
        Assert.Equal(["kube-flannel", "kube-system"], bindings.Select(b => b.Doc["metadata"]!["namespace"]!.GetValue<string>()).Order());
    }

    [Fact]
    public void The_default_install_does_not_include_remediation()
    {
        var resources = Strings(YamlDocuments.LoadSingle(RepoPaths.Combine("config/rbac/kustomization.yaml"))["resources"]);
        var defaults = Strings(YamlDocuments.LoadSingle(RepoPaths.Combine("config/default/kustomization.yaml"))["resources"]);

        Assert.DoesNotContain(resources, r => r.Contains("remediation"));
        Assert.DoesNotContain(defaults, r => r.Contains("remediation"));
    }

    [Fact]
    public void Nothing_grants_secrets()
    {
        Assert.DoesNotContain(Rules, r => Strings(r.Rule["resources"]).Contains("secrets"));
    }

    [Fact]
    public void The_operator_can_do_what_its_reconcile_needs()
    {
        Assert.True(Grants("ClusterRole", "netdiag-operator", "netdiag.io", "networkdiagnoses/status", "patch"));
        Assert.True(Grants("ClusterRole", "netdiag-operator", "", "nodes", "watch"));
        Assert.True(Grants("ClusterRole", "netdiag-operator", "", "pods/log", "get"));
        Assert.True(Grants("ClusterRole", "netdiag-operator", "", "events", "create"));
        Assert.True(Grants("Role", "netdiag-operator", "batch", "jobs", "create"));
        Assert.True(Grants("Role", "netdiag-operator", "coordination.k8s.io", "leases", "update"));
        Assert.False(Grants("ClusterRole", "netdiag-operator", "batch", "jobs", "create"), "Jobs belong in netdiag-system only");
    }

    [Fact]
    public void Probe_pods_get_no_api_token()
    {
        var probe = Assert.Single(Documents, d => Kind(d.Doc) == "ServiceAccount" && Name(d.Doc) == "netdiag-probe");
        Assert.False(probe.Doc["automountServiceAccountToken"]!.GetValue<bool>());
        Assert.DoesNotContain(Documents, d => d.Doc["subjects"]?.AsArray().Any(s => s!["name"]!.GetValue<string>() == "netdiag-probe") == true);
    }

    [Fact]
    public void Every_binding_points_at_a_role_and_a_service_account_defined_here()
    {
        var roles = Documents.Where(d => Kind(d.Doc) is "Role" or "ClusterRole").Select(d => $"{Kind(d.Doc)}/{Name(d.Doc)}").ToHashSet();
        var accounts = Documents.Where(d => Kind(d.Doc) == "ServiceAccount").Select(d => $"{d.Doc["metadata"]!["namespace"]}/{Name(d.Doc)}").ToHashSet();

        foreach (var (file, binding) in Documents.Where(d => Kind(d.Doc) is "RoleBinding" or "ClusterRoleBinding"))
        {
            var roleRef = binding["roleRef"]!;
            Assert.True(roles.Contains($"{roleRef["kind"]}/{roleRef["name"]}"), $"{file}: {Name(binding)} refers to a role not defined in config/rbac");
            foreach (var subject in binding["subjects"]!.AsArray())
                Assert.True(accounts.Contains($"{subject!["namespace"]}/{subject["name"]}"), $"{file}: unknown subject {subject.ToJsonString()}");
        }
    }

    [Fact]
    public void Every_rbac_file_is_listed_in_a_kustomization()
    {
        var listed = Directory.GetFiles(RepoPaths.Combine("config/rbac"), "kustomization.yaml", SearchOption.AllDirectories)
            .SelectMany(k => Strings(YamlDocuments.LoadSingle(k)["resources"]).Select(r => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(k)!, r))))
            .ToHashSet();

        Assert.All(Documents.Select(d => d.File).Distinct(), f => Assert.Contains(RepoPaths.Combine(f), listed));
    }

    private bool Grants(string kind, string role, string group, string resource, string verb) =>
        Rules.Any(r => r.Kind == kind && r.Role == role &&
                       Strings(r.Rule["apiGroups"]).Contains(group) &&
                       Strings(r.Rule["resources"]).Contains(resource) &&
                       Strings(r.Rule["verbs"]).Contains(verb));

    private static string Kind(JsonObject doc) => doc["kind"]!.GetValue<string>();

    private static string Name(JsonObject doc) => doc["metadata"]!["name"]!.GetValue<string>();

    private static string[] Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(n => n?.GetValue<string>() ?? "").ToArray() : [];
}
