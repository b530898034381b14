using k8s;
using k8s.Models;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Tests.Runtime;

public class InformerStoreTests
{
    internal static V1ConfigMap Cm(string name, string rv, string? ns = "ns1", string? value = null) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, ResourceVersion = rv },
        Data = value is null ? null : new Dictionary<string, string> { ["v"] = value },
    };

    [Fact]
    public void A_first_list_adds_everything_and_marks_synced()
    {
        var store = new InformerStore<V1ConfigMap>();
        Assert.False(store.HasSynced);
        var deltas = store.Replace(new ListResult<V1ConfigMap>([Cm("a", "1"), Cm("b", "2")], "10"));
        Assert.True(store.HasSynced);
        Assert.Equal("10", store.LastResourceVersion);
        Assert.All(deltas, d => Assert.Equal(DeltaType.Added, d.Type));
        Assert.Equal(["a", "b"], deltas.Select(d => d.Object.Metadata.Name).Order());
        Assert.Equal("2", store.Get(new ObjectKey("ns1", "b"))!.Metadata.ResourceVersion);
    }

    [Fact]
    public void A_relist_reports_what_changed_while_not_watching()
    {
        var store = new InformerStore<V1ConfigMap>();
        store.Replace(new([Cm("keep", "1"), Cm("change", "2"), Cm("gone", "3")], "10"));
        var deltas = store.Replace(new([Cm("keep", "1"), Cm("change", "7"), Cm("new", "8")], "20"));
        var byName = deltas.ToDictionary(d => d.Object.Metadata.Name);
        Assert.Equal(3, deltas.Count); // "keep" did not change
        Assert.Equal(DeltaType.Updated, byName["change"].Type);
        Assert.Equal("2", byName["change"].Old!.Metadata.ResourceVersion);
        Assert.Equal(DeltaType.Added, byName["new"].Type);
        Assert.Equal(DeltaType.Deleted, byName["gone"].Type);
        Assert.Null(store.Get(new ObjectKey("ns1", "gone")));
        Assert.Equal(["change", "keep", "new"], store.List().Select(c => c.Metadata.Name).Order());
        Assert.Equal("20", store.LastResourceVersion);
    }

    [Fact]
    public void Watch_events_add_update_and_delete()
    {
        var store = new InformerStore<V1ConfigMap>();
        store.Replace(new([], "1"));

        var added = store.Apply(new(WatchEventType.Added, Cm("a", "2", value: "x")));
        Assert.Equal(DeltaType.Added, added!.Value.Type);

        var updated = store.Apply(new(WatchEventType.Modified, Cm("a", "3", value: "y")));
        Assert.Equal(DeltaType.Updated, updated!.Value.Type);
        Assert.Equal("x", updated.Value.Old!.Data["v"]);
        Assert.Equal("y", store.Get(new("ns1", "a"))!.Data["v"]);

        var deleted = store.Apply(new(WatchEventType.Deleted, Cm("a", "4")));
        Assert.Equal(DeltaType.Deleted, deleted!.Value.Type);
        Assert.Empty(store.List());
        Assert.Equal("4", store.LastResourceVersion);
    }

    [Fact]
    public void A_replayed_event_of_a_version_already_held_changes_nothing()
    {
        var store = new InformerStore<V1ConfigMap>();
        store.Replace(new([Cm("a", "5")], "5"));
        Assert.Null(store.Apply(new(WatchEventType.Modified, Cm("a", "5"))));
        Assert.Null(store.Apply(new(WatchEventType.Added, Cm("a", "5"))));
    }

    [Fact]
    public void A_bookmark_moves_the_resume_point_only()
    {
        var store = new InformerStore<V1ConfigMap>();
        store.Replace(new([Cm("a", "5")], "5"));
        var bookmark = new V1ConfigMap { Metadata = new V1ObjectMeta { ResourceVersion = "99" } };
        Assert.Null(store.Apply(new(WatchEventType.Bookmark, bookmark)));
        Assert.Equal("99", store.LastResourceVersion);
        Assert.Single(store.List());
    }

    [Fact]
    public void Cluster_scoped_and_namespaced_objects_of_the_same_name_are_distinct_keys()
    {
        var store = new InformerStore<V1ConfigMap>();
        store.Replace(new([Cm("a", "1", ns: null), Cm("a", "2", ns: "x")], "2"));
        Assert.Equal("1", store.Get(new ObjectKey(null, "a"))!.Metadata.ResourceVersion);
        Assert.Equal("2", store.Get(new ObjectKey("x", "a"))!.Metadata.ResourceVersion);
    }
}
