using NetDiag.Testing;

namespace NetDiag.Api.Tests;

/// <summary>
/// config/rbac applied with kubectl and judged by the API server's own authorizer
/// (<c>kubectl auth can-i --as</c> the operator's service account): the operator may do its job,
/// and may change cluster configuration only after the opt-in remediation binding, only on the
/// named objects, only in the bound namespaces.
/// </summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class RbacTests(ControlPlaneFixture fixture)
{
    private readonly Cluster _cluster = new(fixture);

    [Fact]
    public async Task The_operator_may_do_its_job_and_nothing_more_until_remediation_is_opted_into()
    {
        _cluster.InstallCrd();
        _cluster.MustKubectl("apply", "-k", _cluster.PathOf("config/rbac"));
        _cluster.MustKubectl("delete", "-k", _cluster.PathOf("config/rbac/remediation"), "--ignore-not-found");

        _cluster.AssertOperatorCan(true, "watch", "networkdiagnoses.netdiag.io");
        _cluster.AssertOperatorCan(true, "patch", "networkdiagnoses.netdiag.io/status");
        _cluster.AssertOperatorCan(true, "list", "nodes");
        _cluster.AssertOperatorCan(true, "get", "pods/log", "-n", "kube-system");
        _cluster.AssertOperatorCan(true, "list", "endpointslices.discovery.k8s.io", "-n", "kube-system");
        _cluster.AssertOperatorCan(true, "create", "events", "-n", "default");
        _cluster.AssertOperatorCan(true, "create", "jobs.batch", "-n", "netdiag-system");
        _cluster.AssertOperatorCan(true, "update", "leases.coordination.k8s.io", "-n", "netdiag-system");

        _cluster.AssertOperatorCan(false, "create", "jobs.batch", "-n", "kube-system");
        _cluster.AssertOperatorCan(false, "get", "secrets", "-n", "kube-system");
        _cluster.AssertOperatorCan(false, "delete", "networkdiagnoses.netdiag.io");
        _cluster.AssertOperatorCan(false, "patch", "configmaps/coredns", "-n", "kube-system");
        _cluster.AssertOperatorCan(false, "patch", "deployments.apps/coredns", "-n", "kube-system");
        await _cluster.AssertOperatorReviewAsync(false, "create", "netdiag.io", "nodeactions");
    }

    [Fact]
    public async Task Remediation_grants_writes_on_the_named_objects_in_the_bound_namespaces_only()
    {
        _cluster.InstallCrd();
        _cluster.MustKubectl("apply", "-k", _cluster.PathOf("config/rbac"));
        // Where current flannel manifests install it; created idempotently.
        (await _cluster.KubectlWithInputAsync("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"kube-flannel\"}}", "apply", "-f", "-"))
            .EnsureSuccess("create namespace kube-flannel");
        try
        {
            _cluster.MustKubectl("apply", "-k", _cluster.PathOf("config/rbac/remediation-kube-flannel"));

            _cluster.AssertOperatorCan(true, "patch", "configmaps/coredns", "-n", "kube-system");
            _cluster.AssertOperatorCan(true, "patch", "deployments.apps/coredns", "-n", "kube-system");
            _cluster.AssertOperatorCan(true, "patch", "configmaps/kube-flannel-cfg", "-n", "kube-flannel");
            _cluster.AssertOperatorCan(true, "patch", "daemonsets.apps/kube-flannel-ds", "-n", "kube-flannel");
            _cluster.AssertOperatorCan(true, "delete", "pods", "-n", "kube-flannel");
            await _cluster.AssertOperatorReviewAsync(true, "create", "netdiag.io", "nodeactions");

            _cluster.AssertOperatorCan(false, "patch", "configmaps/kube-proxy", "-n", "kube-system");
            _cluster.AssertOperatorCan(false, "update", "configmaps/coredns", "-n", "kube-system");
            _cluster.AssertOperatorCan(false, "patch", "configmaps/coredns", "-n", "default");
            _cluster.AssertOperatorCan(false, "delete", "pods", "-n", "default");
            _cluster.AssertOperatorCan(false, "patch", "deployments.apps/coredns", "-n", "default");
        }
        finally
        {
            _cluster.MustKubectl("delete", "-k", _cluster.PathOf("config/rbac/remediation-kube-flannel"), "--ignore-not-found");
        }

        _cluster.AssertOperatorCan(false, "patch", "configmaps/coredns", "-n", "kube-system");
    }
}
