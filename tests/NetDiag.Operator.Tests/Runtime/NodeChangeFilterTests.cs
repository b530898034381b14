using k8s.Models;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Tests.Runtime;

public class NodeChangeFilterTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    internal static V1Node Node(string ready = "True", DateTime? heartbeat = null, string? podCidr = "10.244.1.0/24",
        string address = "192.0.2.10", Dictionary<string, string>? labels = null, List<V1Taint>? taints = null,
        bool? unschedulable = null, DateTime? deletion = null, string rv = "1") => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "n1", ResourceVersion = rv, Labels = labels ?? new() { ["kubernetes.io/os"] = "linux" },
            DeletionTimestamp = deletion,
        },
        Spec = new V1NodeSpec { PodCIDR = podCidr, PodCIDRs = podCidr is null ? null : [podCidr], Taints = taints, Unschedulable = unschedulable },
        Status = new V1NodeStatus
        {
            Conditions = [new V1NodeCondition { Type = "Ready", Status = ready, LastHeartbeatTime = heartbeat ?? T0, LastTransitionTime = T0 },
                new V1NodeCondition { Type = "MemoryPressure", Status = "False", LastHeartbeatTime = heartbeat ?? T0 }],
            Addresses = [new V1NodeAddress { Type = "InternalIP", Address = address }],
            Allocatable = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2") },
        },
    };

    [Fact]
    public void A_heartbeat_does_not_matter() =>
        Assert.False(NodeChangeFilter.Matters(Node(), Node(heartbeat: T0.AddSeconds(10), rv: "2")));

    public static TheoryData<string, V1Node> Changes => new()
    {
        { "Ready flips", Node(ready: "False") },
        { "Ready unknown", Node(ready: "Unknown") },
        { "pod CIDR assigned", Node(podCidr: "10.244.9.0/24") },
        { "pod CIDR removed", Node(podCidr: null) },
        { "address changed", Node(address: "192.0.2.99") },
        { "label added", Node(labels: new() { ["kubernetes.io/os"] = "linux", ["role"] = "edge" }) },
        { "label changed", Node(labels: new() { ["kubernetes.io/os"] = "windows" }) },
        { "taint added", Node(taints: [new V1Taint { Key = "k", Effect = "NoSchedule" }]) },
        { "cordoned", Node(unschedulable: true) },
        { "being deleted", Node(deletion: T0) },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Changes_that_can_change_a_diagnosis_matter(string what, V1Node changed) =>
        Assert.True(NodeChangeFilter.Matters(Node(), changed), what);

    [Fact]
    public void A_new_node_matters() => Assert.True(NodeChangeFilter.Matters(null, Node()));
}
