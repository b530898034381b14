using System.Text.Json;

namespace NetDiag.Operator.Kubernetes;

/// <summary>
/// A Calico <c>IPPool</c> (<c>crd.projectcalico.org/v1</c>, cluster-scoped): the pod address range
/// calico-ipam hands out. Only what podCidrOverlap needs; read as JSON because the C# client has no
/// typed model for third-party CRDs.
/// </summary>
/// <param name="Cidr">spec.cidr as written (may be malformed: the check reports it, never crashes).</param>
/// <param name="Disabled">spec.disabled: no new addresses come from it, but pods may still hold some.</param>
public sealed record CalicoIpPool(string Name, string? Cidr, bool Disabled)
{
    public const string Group = "crd.projectcalico.org";
    public const string Version = "v1";
    public const string Plural = "ippools";

    /// <summary>The key under which a failed read is kept in <see cref="ClusterFacts.GatherErrors"/>.</summary>
    public const string Source = Plural + "." + Group;

    /// <summary>Items of an <c>IPPoolList</c>; anything that is not the expected shape is skipped, never thrown.</summary>
    public static IReadOnlyList<CalicoIpPool> ParseList(JsonElement list)
    {
        var pools = new List<CalicoIpPool>();
        if (list.ValueKind != JsonValueKind.Object || !list.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array) return pools;
        foreach (var item in items.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) continue;
            var name = item.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object && m.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                ? n.GetString()! : "(unnamed)";
            string? cidr = null;
            var disabled = false;
            if (item.TryGetProperty("spec", out var spec) && spec.ValueKind == JsonValueKind.Object)
            {
                if (spec.TryGetProperty("cidr", out var c) && c.ValueKind == JsonValueKind.String) cidr = c.GetString();
                if (spec.TryGetProperty("disabled", out var d) && d.ValueKind == JsonValueKind.True) disabled = true;
            }
            pools.Add(new CalicoIpPool(name, cidr, disabled));
        }
        return pools.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
    }
}

/// <summary>The tail of one CNI pod's log, read once per run for cniHealth's evidence.</summary>
/// <param name="Previous">Whether the previous (crashed) container's log was read.</param>
/// <param name="Text">The log tail; null when the read failed.</param>
/// <param name="Error">Why the read failed (a note in the evidence, never fatal).</param>
public sealed record CniPodLog(string? Container, bool Previous, string? Text, string? Error);
