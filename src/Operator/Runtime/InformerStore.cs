using k8s;
using k8s.Models;

namespace NetDiag.Operator.Runtime;

public enum DeltaType { Added, Updated, Deleted }

/// <summary>A change the store applied: what handlers see. <see cref="Old"/> is null for Added.</summary>
public readonly record struct Delta<T>(DeltaType Type, T? Old, T Object) where T : class;

/// <summary>
/// An informer's thread-safe store: the last state of each object seen by LIST and WATCH, keyed by
/// namespace/name, plus the resourceVersion to resume watching from. Applying a list or an event
/// returns the changes it made, so the dispatch to handlers is a pure consequence of the input.
/// </summary>
public sealed class InformerStore<T> : IResourceCache<T> where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly object _gate = new();
    private Dictionary<ObjectKey, T> _items = new();
    private volatile bool _synced;
    private string? _resourceVersion;

    public bool HasSynced => _synced;

    /// <summary>The resourceVersion of the last list, event or bookmark: where a watch resumes.</summary>
    public string? LastResourceVersion { get { lock (_gate) return _resourceVersion; } }

    public int Count { get { lock (_gate) return _items.Count; } }

    public T? Get(ObjectKey key)
    {
        lock (_gate) return _items.GetValueOrDefault(key);
    }

    public IReadOnlyList<T> List()
    {
        lock (_gate) return _items.Values.ToArray();
    }

    /// <summary>
    /// Replaces the content with a fresh LIST (first sync or relist after 410). Objects that vanished
    /// while we were not watching become Deleted, changed ones Updated, new ones Added, so no
    /// change is lost across a relist.
    /// </summary>
    public IReadOnlyList<Delta<T>> Replace(ListResult<T> list)
    {
        var deltas = new List<Delta<T>>();
        lock (_gate)
        {
            var next = new Dictionary<ObjectKey, T>(list.Items.Count);
            foreach (var item in list.Items)
            {
                if (item?.Metadata?.Name is null) continue;
                var key = ObjectKey.Of(item);
                next[key] = item;
                if (!_items.TryGetValue(key, out var old)) deltas.Add(new(DeltaType.Added, null, item));
                else if (old.Metadata.ResourceVersion != item.Metadata.ResourceVersion) deltas.Add(new(DeltaType.Updated, old, item));
            }
            foreach (var (key, old) in _items)
            {
                if (!next.ContainsKey(key)) deltas.Add(new(DeltaType.Deleted, old, old));
            }
            _items = next;
            _resourceVersion = list.ResourceVersion;
            _synced = true;
        }
        return deltas;
    }

    /// <summary>
    /// Applies one watch event. Returns null when nothing changed: a bookmark, or a replayed event
    /// for a version the store already holds (a resumed watch may repeat the last event).
    /// </summary>
    public Delta<T>? Apply(WatchEvent<T> e)
    {
        lock (_gate)
        {
            var rv = e.Object?.Metadata?.ResourceVersion;
            if (e.Type == WatchEventType.Bookmark)
            {
                if (!string.IsNullOrEmpty(rv)) _resourceVersion = rv;
                return null;
            }
            if (e.Object?.Metadata?.Name is null) return null;
            if (!string.IsNullOrEmpty(rv)) _resourceVersion = rv;
            var key = ObjectKey.Of(e.Object);
            switch (e.Type)
            {
                case WatchEventType.Added:
                case WatchEventType.Modified:
                    _items.TryGetValue(key, out var old);
                    _items[key] = e.Object;
                    if (old is null) return new Delta<T>(DeltaType.Added, null, e.Object);
                    if (old.Metadata.ResourceVersion == rv) return null;
                    return new Delta<T>(DeltaType.Updated, old, e.Object);
                case WatchEventType.Deleted:
                    _items.Remove(key, out var gone);
                    return new Delta<T>(DeltaType.Deleted, gone, e.Object);
                default:
                    return null;
            }
        }
    }
}
