using k8s;
using k8s.Models;
using NetDiag.Testing;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>A client on the test control plane and names unique to one test.</summary>
internal static class ClusterHelpers
{
    public static IKubernetes Client(ControlPlaneFixture cp) =>
        new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cp.KubeconfigPath));

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    public static V1Node NodeObject(string name, string testLabel) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["netdiag-test"] = testLabel } },
    };

    /// <summary>The server's (name, resourceVersion) pairs for nodes with the test label.</summary>
    public static async Task<string[]> ServerNodes(IKubernetes client, string testLabel) =>
        (await client.CoreV1.ListNodeAsync(labelSelector: $"netdiag-test={testLabel}")).Items
        .Select(n => $"{n.Metadata.Name}@{n.Metadata.ResourceVersion}").Order().ToArray();

    public static string[] CachedNodes<T>(IReadOnlyList<T> items) where T : IKubernetesObject<V1ObjectMeta> =>
        items.Select(n => $"{n.Metadata.Name}@{n.Metadata.ResourceVersion}").Order().ToArray();

    /// <summary>Waits until the informer's cache equals the server's list (names and versions).</summary>
    public static async Task CacheMatchesServer(IKubernetes client, NetDiag.Operator.Runtime.Informer<V1Node> informer, string testLabel)
    {
        string[] server = [], cached = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            server = await ServerNodes(client, testLabel);
            cached = CachedNodes(informer.Store.List());
            if (server.SequenceEqual(cached)) return;
            await Task.Delay(100);
        }
        Assert.Fail($"cache never matched the server:\n server: {string.Join(", ", server)}\n cached: {string.Join(", ", cached)}");
    }

    public static async Task DeleteNodes(IKubernetes client, string testLabel)
    {
        try
        {
            await client.CoreV1.DeleteCollectionNodeAsync(labelSelector: $"netdiag-test={testLabel}");
        }
        catch (Exception)
        {
            // best effort: the control plane is thrown away after the run anyway
        }
    }
}
