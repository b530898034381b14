using System.Text.Json.Nodes;
using NetDiag.Testing;

namespace NetDiag.Api.Tests;

/// <summary>
/// kubectl against the test control plane, with repository paths, as a user types it. Every
/// step is idempotent (apply, not create), so tests in any order each bring what they need.
/// </summary>
public sealed class Cluster(ControlPlaneFixture fixture)
{
    public const string Crd = "config/crd/netdiag.io_networkdiagnoses.yaml";
    public const string OperatorAccount = "system:serviceaccount:netdiag-system:netdiag-operator";

    public string Repo => fixture.ControlPlane.RepoRoot;

    public string PathOf(string relative) => Path.Combine(Repo, relative);

    public CommandResult Kubectl(params string[] args) => fixture.Kubectl(args);

    public CommandResult MustKubectl(params string[] args) => Kubectl(args).EnsureSuccess("kubectl " + string.Join(' ', args));

    public Task<CommandResult> KubectlWithInputAsync(string stdin, params string[] args) =>
        fixture.ControlPlane.KubectlAsync(args, stdin);

    /// <summary><c>make install</c>, then wait until the API serves the new resource.</summary>
    public void InstallCrd()
    {
        MustKubectl("apply", "-f", PathOf(Crd));
        MustKubectl("wait", "--for=condition=Established", "crd/networkdiagnoses.netdiag.io", "--timeout=60s");
        // Established means the handler is registered; discovery (which kubectl's "nd" resolves
        // through) may lag a moment behind it.
        for (var i = 0; i < 50 && !Kubectl("get", "nd").Succeeded; i++)
            Thread.Sleep(200);
    }

    public JsonObject GetJson(params string[] args) =>
        (JsonObject)JsonNode.Parse(MustKubectl([.. args, "-o", "json"]).StdOut)!;

    /// <summary>
    /// Asserts the API server's authorizer answers <paramref name="expected"/> for the operator's
    /// service account. RBAC changes reach the authorizer through its watch a moment after the
    /// apply returns, so the answer is polled (up to 15 s) until it settles on the expected one.
    /// </summary>
    public void AssertOperatorCan(bool expected, params string[] args)
    {
        var answer = !expected;
        for (var i = 0; i < 75 && (answer = OperatorCan(args)) != expected; i++)
            Thread.Sleep(200);
        Assert.True(answer == expected, $"kubectl auth can-i {string.Join(' ', args)} --as {OperatorAccount}: expected {(expected ? "yes" : "no")}");
    }

    /// <summary>
    /// A SelfSubjectAccessReview as the operator's service account, as the operator itself asks
    /// before an auto action. Used for virtual resources (nodeactions.netdiag.io), for which
    /// <c>kubectl auth can-i</c> answers "no" after failing to find them in discovery.
    /// </summary>
    public async Task AssertOperatorReviewAsync(bool expected, string verb, string group, string resource)
    {
        var review = new JsonObject
        {
            ["apiVersion"] = "authorization.k8s.io/v1",
            ["kind"] = "SelfSubjectAccessReview",
            ["spec"] = new JsonObject { ["resourceAttributes"] = new JsonObject { ["verb"] = verb, ["group"] = group, ["resource"] = resource } },
        }.ToJsonString();
        var allowed = "";
        for (var i = 0; i < 75; i++)
        {
            var result = await KubectlWithInputAsync(review, "create", "-f", "-", "--as", OperatorAccount, "-o", "jsonpath={.status.allowed}");
            allowed = result.EnsureSuccess("SelfSubjectAccessReview").StdOut.Trim();
            if (allowed == (expected ? "true" : "false") || (!expected && allowed == ""))
                return;
            await Task.Delay(200);
        }

        Assert.Fail($"SelfSubjectAccessReview {verb} {resource}.{group} as {OperatorAccount}: expected allowed={expected}, got '{allowed}'");
    }

    /// <summary><c>kubectl auth can-i</c> as the operator's service account: "yes" or "no".</summary>
    public bool OperatorCan(params string[] args)
    {
        var result = Kubectl(["auth", "can-i", "--as", OperatorAccount, .. args]);
        return result.StdOut.Trim() switch
        {
            "yes" => true,
            "no" => false,
            _ => throw new InvalidOperationException($"kubectl auth can-i {string.Join(' ', args)}: {result.StdOut} {result.StdErr}"),
        };
    }
}
