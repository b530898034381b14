using k8s.Models;
using NetDiag.LabCluster.Kubelet;

namespace NetDiag.LabCluster.Tests;

public sealed class BinderTests
{
    private static readonly IReadOnlyList<BindableNode> Nodes =
    [
        new("node-1", new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" }, 3),
        new("node-2", new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" }, 1),
        new("node-3", new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" }, 1),
    ];

    private static V1Pod Pod(Dictionary<string, string>? labels = null, V1Affinity? affinity = null, Dictionary<string, string>? selector = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = "kube-system", Labels = labels },
        Spec = new V1PodSpec { Affinity = affinity, NodeSelector = selector, Containers = [] },
        Status = new V1PodStatus { Phase = "Pending" },
    };

    /// <summary>What the 1.20 DaemonSet controller puts on each of its pods.</summary>
    private static V1Affinity DaemonSetAffinity(string node) => new()
    {
        NodeAffinity = new V1NodeAffinity
        {
            RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
            {
                NodeSelectorTerms = [new V1NodeSelectorTerm { MatchFields = [new V1NodeSelectorRequirement { Key = "metadata.name", OperatorProperty = "In", Values = [node] }] }],
            },
        },
    };

    [Fact]
    public void DaemonSet_pods_go_to_the_node_their_affinity_names()
    {
        var d = Binder.Decide(Pod(affinity: DaemonSetAffinity("node-3")), Nodes, [], new HashSet<string>());
        Assert.Equal("node-3", d.Node);
    }

    [Fact]
    public void A_pod_for_a_node_that_is_not_here_waits()
    {
        var d = Binder.Decide(Pod(affinity: DaemonSetAffinity("node-9")), Nodes, [], new HashSet<string>());
        Assert.Null(d.Node);
        Assert.Contains("0/3 nodes", d.Why);
    }

    [Fact]
    public void CoreDNS_replicas_go_to_free_DNS_nodes_one_each()
    {
        var coreDns = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" };
        Assert.Equal("node-1", Binder.Decide(Pod(coreDns), Nodes, ["node-1", "node-2"], new HashSet<string>()).Node);
        Assert.Equal("node-2", Binder.Decide(Pod(coreDns), Nodes, ["node-1", "node-2"], new HashSet<string> { "node-1" }).Node);
        Assert.Null(Binder.Decide(Pod(coreDns), Nodes, ["node-1", "node-2"], new HashSet<string> { "node-1", "node-2" }).Node);
    }

    [Fact]
    public void Other_pods_go_to_the_least_loaded_matching_node()
    {
        Assert.Equal("node-2", Binder.Decide(Pod(selector: new() { ["kubernetes.io/os"] = "linux" }), Nodes, [], new HashSet<string>()).Node);
        Assert.Null(Binder.Decide(Pod(selector: new() { ["kubernetes.io/os"] = "windows" }), Nodes, [], new HashSet<string>()).Node);
    }

    [Fact]
    public void Bound_terminating_or_foreign_scheduler_pods_are_not_for_the_binder()
    {
        var bound = Pod();
        bound.Spec.NodeName = "node-1";
        var other = Pod();
        other.Spec.SchedulerName = "my-scheduler";
        Assert.False(Binder.NeedsBinding(bound));
        Assert.False(Binder.NeedsBinding(other));
        Assert.True(Binder.NeedsBinding(Pod()));
    }
}
