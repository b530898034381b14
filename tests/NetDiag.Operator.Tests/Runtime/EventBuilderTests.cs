using k8s.Models;
using NetDiag.Entities.Api;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Tests.Runtime;

public class EventBuilderTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void A_cluster_scoped_object_gets_its_event_in_default_with_an_empty_involved_namespace()
    {
        var nd = new V1alpha1NetworkDiagnosis { Metadata = new() { Name = "nd1", Uid = "u-1", ResourceVersion = "7" } };
        var ev = EventBuilder.Build(nd, EventTypes.Warning, Reasons.FindingDetected, "dnsLoop on 3 nodes", Now, "netdiag-operator", "pod-1", 0xab);
        Assert.Equal("default", ev.Metadata.NamespaceProperty);
        Assert.StartsWith("nd1.", ev.Metadata.Name);
        Assert.Null(ev.InvolvedObject.NamespaceProperty);
        Assert.Equal(("netdiag.io/v1alpha1", "NetworkDiagnosis", "nd1", "u-1", "7"),
            (ev.InvolvedObject.ApiVersion, ev.InvolvedObject.Kind, ev.InvolvedObject.Name, ev.InvolvedObject.Uid, ev.InvolvedObject.ResourceVersion));
        Assert.Equal(("Warning", "FindingDetected", 1), (ev.Type, ev.Reason, ev.Count));
        Assert.Equal("netdiag-operator", ev.Source.Component);
        Assert.Equal(Now, ev.FirstTimestamp);
    }

    [Fact]
    public void A_namespaced_object_gets_its_event_in_its_namespace()
    {
        var job = new V1Job { ApiVersion = "batch/v1", Kind = "Job", Metadata = new() { Name = "probe-a", NamespaceProperty = "netdiag-system" } };
        var ev = EventBuilder.Build(job, EventTypes.Normal, "Created", "m", Now, "c", null, 0);
        Assert.Equal("netdiag-system", ev.Metadata.NamespaceProperty);
        Assert.Equal("netdiag-system", ev.InvolvedObject.NamespaceProperty);
    }

    [Fact]
    public void The_aggregation_key_separates_type_reason_message_and_object()
    {
        var a = new V1alpha1NetworkDiagnosis { Metadata = new() { Name = "a", Uid = "1" } };
        var b = new V1alpha1NetworkDiagnosis { Metadata = new() { Name = "b", Uid = "2" } };
        var k = EventBuilder.AggregationKey(a, "Warning", "R", "m");
        Assert.Equal(k, EventBuilder.AggregationKey(a, "Warning", "R", "m"));
        Assert.NotEqual(k, EventBuilder.AggregationKey(b, "Warning", "R", "m"));
        Assert.NotEqual(k, EventBuilder.AggregationKey(a, "Normal", "R", "m"));
        Assert.NotEqual(k, EventBuilder.AggregationKey(a, "Warning", "R2", "m"));
        Assert.NotEqual(k, EventBuilder.AggregationKey(a, "Warning", "R", "m2"));
    }

    [Fact]
    public void Long_messages_are_cut_and_the_bump_patch_carries_count_and_time()
    {
        var nd = new V1alpha1NetworkDiagnosis { Metadata = new() { Name = "a" } };
        var ev = EventBuilder.Build(nd, "Normal", "R", new string('x', 5000), Now, "c", null, 0);
        Assert.Equal(EventBuilder.MaxMessageLength, ev.Message.Length);
        Assert.Equal("""{"count":3,"lastTimestamp":"2026-03-01T12:00:00Z"}""", EventBuilder.BumpPatch(3, Now));
    }

    [Fact]
    public void The_recent_event_cache_is_bounded_and_forgets_the_least_recently_used()
    {
        var c = new BoundedCache<string, int>(2);
        c.Set("a", 1);
        c.Set("b", 2);
        Assert.True(c.TryGet("a", out _)); // a is now more recent than b
        c.Set("c", 3);
        Assert.Equal(2, c.Count);
        Assert.False(c.TryGet("b", out _));
        Assert.True(c.TryGet("a", out var a) && a == 1);
        Assert.True(c.TryGet("c", out _));
    }
}
