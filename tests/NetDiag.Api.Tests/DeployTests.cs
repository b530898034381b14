using System.Text.Json.Nodes;
using NetDiag.Testing;

namespace NetDiag.Api.Tests;

/// <summary>
/// <c>make deploy</c>: <c>kubectl apply -k config/default</c> against the real API server. No
/// kubelet runs here, so the operator Pods stay Pending; what is checked is that every object is
/// accepted and says what the operator needs (replicas, service account, probes, hardening).
/// </summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class DeployTests(ControlPlaneFixture fixture)
{
    private readonly Cluster _cluster = new(fixture);

    [Fact]
    public void Kustomize_builds_the_default_and_remediation_installs()
    {
        var defaults = _cluster.MustKubectl("kustomize", _cluster.PathOf("config/default")).StdOut;
        var remediation = _cluster.MustKubectl("kustomize", _cluster.PathOf("config/remediation")).StdOut;

        foreach (var kind in new[] { "Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment" })
            Assert.Contains($"kind: {kind}\n", defaults);
        Assert.DoesNotContain("netdiag-remediation", defaults);
        Assert.Contains("--Operator:EnableRemediation=false", defaults);

        Assert.Contains("name: netdiag-remediation\n", remediation);
        Assert.Contains("--Operator:EnableRemediation=true", remediation);
        Assert.DoesNotContain("--Operator:EnableRemediation=false", remediation);
    }

    [Fact]
    public void Make_deploy_is_accepted_and_the_deployment_is_hardened()
    {
        _cluster.MustKubectl("apply", "-k", _cluster.PathOf("config/default"));

        var deployment = _cluster.GetJson("get", "deployment", "netdiag-operator", "-n", "netdiag-system");
        var spec = deployment["spec"]!;
        var pod = spec["template"]!["spec"]!;
        var container = pod["containers"]![0]!;

        Assert.Equal(2, spec["replicas"]!.GetValue<int>());
        Assert.Equal("netdiag-operator", pod["serviceAccountName"]!.GetValue<string>());
        Assert.Equal("netdiag-operator:dev", container["image"]!.GetValue<string>());
        Assert.True(pod["securityContext"]!["runAsNonRoot"]!.GetValue<bool>());
        Assert.True(container["securityContext"]!["readOnlyRootFilesystem"]!.GetValue<bool>());
        Assert.False(container["securityContext"]!["allowPrivilegeEscalation"]!.GetValue<bool>());
        Assert.Equal("/healthz", container["livenessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("/readyz", container["readinessProbe"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal(8080, container["ports"]![0]!["containerPort"]!.GetValue<int>());
        Assert.Contains("--Operator:LeaderElection=true", container["args"]!.AsArray().Select(a => a!.GetValue<string>()));

        // The operator reads its namespace from the downward API: probe Jobs follow the install.
        var env = container["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e);
        Assert.Equal("metadata.namespace", env["NETDIAG_Operator__Namespace"]!["valueFrom"]!["fieldRef"]!["fieldPath"]!.GetValue<string>());

        // The controller-manager acts on it like in any cluster: a ReplicaSet asking for two Pods.
        Assert.True(WaitFor(() => _cluster.GetJson("get", "replicasets", "-n", "netdiag-system", "-l", "app.kubernetes.io/component=operator")["items"]!.AsArray()
            .Any(rs => rs!["spec"]!["replicas"]!.GetValue<int>() == 2)), "no ReplicaSet for the operator Deployment");
    }

    private static bool WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 100; i++)
        {
            if (condition())
                return true;
            Thread.Sleep(200);
        }

        return false;
    }
}
