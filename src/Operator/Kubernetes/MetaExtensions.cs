namespace NetDiag.Operator.Kubernetes;

/// <summary>Null-safe reads of labels and annotations (client models use IDictionary, which has no GetValueOrDefault).</summary>
public static class MetaExtensions
{
    public static string? Value(this IDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var v) ? v : null;
}
