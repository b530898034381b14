using System.Text.Json;

namespace NetDiag.Probes.Parsing;

/// <summary>One network device from <c>ip -d -j addr show</c>.</summary>
public sealed record LinkInfo(string Name, int Index, int Mtu, string? Kind, IReadOnlyList<string> Addresses)
{
    /// <summary>For a vxlan device: its <c>local</c> address.</summary>
    public string? VxlanLocal { get; init; }
    /// <summary>For a vxlan device: the underlying device (<c>dev</c> when created).</summary>
    public string? VxlanLink { get; init; }
    public int? VxlanPort { get; init; }
    public int? VxlanId { get; init; }
    /// <summary>Addresses with their prefix length (<c>10.10.0.2/24</c>): the connected subnets.</summary>
    public IReadOnlyList<string> Prefixes { get; init; } = [];
}

/// <summary>
/// Parses iproute2's JSON. Reading it through netlink (the <c>ip</c> command) rather than /sys keeps
/// it right inside any network namespace, whatever sysfs the mount namespace shows.
/// </summary>
public static class IpLinkJsonParser
{
    public static (List<LinkInfo> Links, string? Error) Parse(string? json)
    {
        var links = new List<LinkInfo>();
        if (string.IsNullOrWhiteSpace(json)) return (links, "empty output from ip");
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return (links, "ip output is not a JSON array");
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object) continue;
                var name = Str(e, "ifname");
                if (name is null) continue;
                var addresses = new List<string>();
                var prefixes = new List<string>();
                if (e.TryGetProperty("addr_info", out var ai) && ai.ValueKind == JsonValueKind.Array)
                    foreach (var a in ai.EnumerateArray())
                        if (Str(a, "local") is { } local)
                        {
                            addresses.Add(local);
                            if (Int(a, "prefixlen") is { } len) prefixes.Add($"{local}/{len}");
                        }
                string? kind = null, vlocal = null, vlink = null;
                int? vport = null, vid = null;
                if (e.TryGetProperty("linkinfo", out var li) && li.ValueKind == JsonValueKind.Object)
                {
                    kind = Str(li, "info_kind");
                    if (li.TryGetProperty("info_data", out var data) && data.ValueKind == JsonValueKind.Object)
                    {
                        vlocal = Str(data, "local");
                        vlink = Str(data, "link");
                        vport = Int(data, "port");
                        vid = Int(data, "id");
                    }
                }
                links.Add(new LinkInfo(name, Int(e, "ifindex") ?? 0, Int(e, "mtu") ?? 0, kind, addresses)
                {
                    VxlanLocal = vlocal, VxlanLink = vlink, VxlanPort = vport, VxlanId = vid, Prefixes = prefixes,
                });
            }
            return (links, null);
        }
        catch (JsonException e)
        {
            return (links, $"ip output is not valid JSON: {e.Message}");
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
}

/// <summary>Finds the default-route device in /proc/net/route, the underlay's last-resort guess.</summary>
public static class ProcNetRouteParser
{
    public static string? DefaultRouteDevice(string? text)
    {
        if (text is null) return null;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var f = raw.ToString().Split('\t', ' ').Where(s => s.Length > 0).ToArray();
            if (f.Length >= 8 && f[1] == "00000000" && f[7] == "00000000") return f[0];
        }
        return null;
    }
}
