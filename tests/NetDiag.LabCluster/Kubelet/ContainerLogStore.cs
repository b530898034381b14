using System.Collections.Concurrent;
using System.Text;

namespace NetDiag.LabCluster.Kubelet;

/// <summary>
/// Container logs as a kubelet keeps them: the current (or last) run of each container and the
/// run before it (<c>kubectl logs --previous</c>). Keyed by namespace, pod and container, which is
/// what the API server asks the kubelet for.
/// </summary>
public sealed class ContainerLogStore
{
    private readonly ConcurrentDictionary<(string Ns, string Pod, string Container), Entry> _logs = new();

    private sealed class Entry
    {
        public StringBuilder Current { get; } = new();
        public string? Previous { get; set; }
    }

    /// <summary>Appends to the current run's log.</summary>
    public void Append(string ns, string pod, string container, string text)
    {
        var e = _logs.GetOrAdd((ns, pod, container), _ => new Entry());
        lock (e) e.Current.Append(text);
    }

    /// <summary>A new run starts: the current log becomes the previous one.</summary>
    public void Restart(string ns, string pod, string container)
    {
        var e = _logs.GetOrAdd((ns, pod, container), _ => new Entry());
        lock (e)
        {
            e.Previous = e.Current.ToString();
            e.Current.Clear();
        }
    }

    /// <summary>The log, or null when the kubelet never ran that container (or has no previous run).</summary>
    public string? Get(string ns, string pod, string container, bool previous)
    {
        if (!_logs.TryGetValue((ns, pod, container), out var e)) return null;
        lock (e) return previous ? e.Previous : e.Current.ToString();
    }

    /// <summary>The pod is gone: forget its logs.</summary>
    public void Remove(string ns, string pod)
    {
        foreach (var key in _logs.Keys.Where(k => k.Ns == ns && k.Pod == pod)) _logs.TryRemove(key, out _);
    }

    /// <summary>
    /// Applies the kubelet's log options: <c>tailLines</c> keeps the last N lines,
    /// <c>limitBytes</c> cuts the result to at most N bytes. Pure.
    /// </summary>
    public static string Select(string log, int? tailLines, long? limitBytes)
    {
        var result = log;
        if (tailLines is >= 0)
        {
            var lines = log.Split('\n');
            var hasTrailingNewline = log.EndsWith('\n');
            var body = hasTrailingNewline ? lines[..^1] : lines;
            var kept = body.Skip(Math.Max(0, body.Length - tailLines.Value));
            result = string.Join('\n', kept) + (hasTrailingNewline && tailLines > 0 ? "\n" : "");
        }
        if (limitBytes is > 0)
        {
            var bytes = Encoding.UTF8.GetBytes(result);
            if (bytes.Length > limitBytes) result = Encoding.UTF8.GetString(bytes, 0, (int)limitBytes.Value);
        }
        return result;
    }
}
