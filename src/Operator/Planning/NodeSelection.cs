using k8s.Models;

namespace NetDiag.Operator.Planning;

/// <summary>Matches nodes against <c>spec.nodeSelector</c> (a metav1.LabelSelector), as the API server would.</summary>
public static class NodeSelection
{
    public static readonly IReadOnlyList<string> Operators = ["In", "NotIn", "Exists", "DoesNotExist"];

    /// <summary>The matching nodes sorted by name; null selector means all nodes.</summary>
    public static IReadOnlyList<V1Node> Select(IEnumerable<V1Node> nodes, V1LabelSelector? selector) =>
        nodes.Where(n => Matches(n.Metadata?.Labels, selector))
             .OrderBy(n => n.Metadata.Name, StringComparer.Ordinal)
             .ToList();

    /// <summary>The first problem with the selector, as a field path and message, or null when valid.</summary>
    public static (string Field, string Message)? Validate(V1LabelSelector? selector)
    {
        var i = 0;
        foreach (var e in selector?.MatchExpressions ?? [])
        {
            var path = $"spec.nodeSelector.matchExpressions[{i++}]";
            if (string.IsNullOrWhiteSpace(e.Key)) return ($"{path}.key", "must not be empty");
            if (!Operators.Contains(e.OperatorProperty)) return ($"{path}.operator", $"'{e.OperatorProperty}' is not one of {string.Join(", ", Operators)}");
            if (e.OperatorProperty is "In" or "NotIn" && (e.Values is null || e.Values.Count == 0)) return ($"{path}.values", $"must not be empty for {e.OperatorProperty}");
            if (e.OperatorProperty is "Exists" or "DoesNotExist" && e.Values is { Count: > 0 }) return ($"{path}.values", $"must be empty for {e.OperatorProperty}");
        }
        return null;
    }

    public static bool Matches(IDictionary<string, string>? labels, V1LabelSelector? selector)
    {
        if (selector is null) return true;
        labels ??= new Dictionary<string, string>();
        foreach (var (k, v) in selector.MatchLabels ?? new Dictionary<string, string>())
            if (!labels.TryGetValue(k, out var have) || have != v) return false;
        foreach (var e in selector.MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(e.Key, out var value);
            var ok = e.OperatorProperty switch
            {
                "In" => has && (e.Values?.Contains(value!) ?? false),
                "NotIn" => !has || !(e.Values?.Contains(value!) ?? false),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false, // unreachable after Validate; match nothing rather than everything
            };
            if (!ok) return false;
        }
        return true;
    }
}
