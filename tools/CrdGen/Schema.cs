using System.Text.Json.Nodes;

namespace NetDiag.Tools.CrdGen;

/// <summary>Terse construction of ordered JSON trees (insertion order is output order).</summary>
public static class Schema
{
    public static JsonObject Obj(params (string Key, JsonNode? Value)[] members)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in members)
            if (value is not null)
                obj[key] = value;
        return obj;
    }

    public static JsonArray Arr(params JsonNode?[] items) => new(items);

    public static JsonArray Arr(IEnumerable<string> items) => new(items.Select(i => (JsonNode?)i).ToArray());
}
