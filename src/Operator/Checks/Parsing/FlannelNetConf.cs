using System.Text.Json;
using k8s.Models;

namespace NetDiag.Operator.Checks.Parsing;

/// <summary>
/// flannel's <c>net-conf.json</c> from the <c>kube-flannel-cfg</c> ConfigMap:
/// <c>{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan", "Port": 8472}}</c>.
/// </summary>
public sealed record FlannelNetConf(string? Network, string BackendType, int Port, string? Error)
{
    public const string DataKey = "net-conf.json";

    /// <summary>The Linux kernel's IANA VXLAN port is 4789, but flannel defaults to the kernel's legacy 8472.</summary>
    public const int DefaultVxlanPort = 8472;

    /// <summary>Parses the ConfigMap; null when there is none. A malformed document gives defaults and an <see cref="Error"/>.</summary>
    public static FlannelNetConf? From(V1ConfigMap? configMap)
    {
        if (configMap is null) return null;
        if (configMap.Data is null || !configMap.Data.TryGetValue(DataKey, out var json))
            return new FlannelNetConf(null, "vxlan", DefaultVxlanPort, $"ConfigMap {configMap.Metadata?.Name} has no {DataKey}");
        return Parse(json);
    }

    public static FlannelNetConf Parse(string? json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json ?? "", new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return new(null, "vxlan", DefaultVxlanPort, $"{DataKey} is not a JSON object");
            string? network = root.TryGetProperty("Network", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            var type = "vxlan";
            var port = DefaultVxlanPort;
            if (root.TryGetProperty("Backend", out var backend) && backend.ValueKind == JsonValueKind.Object)
            {
                if (backend.TryGetProperty("Type", out var t) && t.ValueKind == JsonValueKind.String) type = t.GetString()!.ToLowerInvariant();
                if (backend.TryGetProperty("Port", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var pv) && pv is > 0 and < 65536) port = pv;
            }
            string? error = network is not null && !Cidr.TryParse(network, out _) ? $"{DataKey} Network '{network}' is not a CIDR" : null;
            return new(network, type, port, error);
        }
        catch (JsonException e)
        {
            return new(null, "vxlan", DefaultVxlanPort, $"{DataKey} is not valid JSON: {e.Message}");
        }
    }
}
