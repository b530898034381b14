using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NetDiag.Operator.Remediation;

/// <summary>The outcome of computing a config patch: the new text, or why there is none.</summary>
/// <param name="Changed">False when the config is already at the target (idempotent no-op) or on error.</param>
/// <param name="NewText">The text to write (equals the input when unchanged).</param>
/// <param name="PreviousText">The input, for the <c>netdiag.io/previous-…</c> annotation.</param>
/// <param name="Summary">What changes, e.g. <c>Backend.Port 8472→8475</c>.</param>
/// <param name="Error">Why the patch cannot be computed (malformed input, unsupported backend); null on success.</param>
public sealed record ConfigPatch(bool Changed, string NewText, string PreviousText, string Summary, string? Error)
{
    public static ConfigPatch Failed(string input, string error) => new(false, input, input, "", error);
}

/// <summary>
/// Rewrites flannel's <c>net-conf.json</c> (ConfigMap <c>kube-flannel-cfg</c>), pure. Every other
/// field (Network, SubnetLen, EnableIPv6, Backend.VNI, …) is kept as it was. Seed 000: when UDP 8472
/// is dropped between nodes, move VXLAN to a port that passes; when every node shares one L2
/// segment, <c>host-gw</c> needs no encapsulation at all.
/// </summary>
public static class FlannelNetConfPatch
{
    /// <summary>Annotation on the ConfigMap holding the net-conf.json before the patch, for rollback.</summary>
    public const string PreviousAnnotation = "netdiag.io/previous-net-conf.json";
    public const string DataKey = "net-conf.json";
    public const string VxlanType = "vxlan";
    public const string HostGwType = "host-gw";
    public const int DefaultVxlanPort = 8472;

    private static readonly JsonSerializerOptions Write = new()
    {
        WriteIndented = true,
        // Keep '+', '<' and non-ASCII as written: the file is config, not HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Sets <c>Backend.Port</c> on a VXLAN backend (Type absent means vxlan, flannel's default).</summary>
    public static ConfigPatch SetVxlanPort(string netConfJson, int port)
    {
        if (port is < 1 or > 65535)
            return ConfigPatch.Failed(netConfJson, $"port {port} is not a UDP port");
        if (Parse(netConfJson, out var root, out var error) is false)
            return ConfigPatch.Failed(netConfJson, error!);

        var backend = BackendOf(root!, out error);
        if (backend is null)
            return ConfigPatch.Failed(netConfJson, error!);
        var type = TypeOf(backend);
        if (!string.Equals(type, VxlanType, StringComparison.OrdinalIgnoreCase))
            return ConfigPatch.Failed(netConfJson, $"Backend.Type is {type}: a port applies only to the vxlan backend");

        var current = PortOf(backend);
        if (current == port)
            return new ConfigPatch(false, netConfJson, netConfJson, $"Backend.Port is already {port}", null);

        backend["Port"] = port;
        return new ConfigPatch(true, root!.ToJsonString(Write), netConfJson, $"Backend.Port {current}→{port}", null);
    }

    /// <summary>Switches the backend to <c>host-gw</c> (other Backend fields stay; host-gw ignores them).</summary>
    public static ConfigPatch SetHostGw(string netConfJson)
    {
        if (Parse(netConfJson, out var root, out var error) is false)
            return ConfigPatch.Failed(netConfJson, error!);
        var backend = BackendOf(root!, out error);
        if (backend is null)
            return ConfigPatch.Failed(netConfJson, error!);
        var type = TypeOf(backend);
        if (string.Equals(type, HostGwType, StringComparison.OrdinalIgnoreCase))
            return new ConfigPatch(false, netConfJson, netConfJson, "Backend.Type is already host-gw", null);

        backend["Type"] = HostGwType;
        return new ConfigPatch(true, root!.ToJsonString(Write), netConfJson, $"Backend.Type {type}→{HostGwType}", null);
    }

    /// <summary>The backend port in a net-conf.json (default 8472), or null when it cannot be read.</summary>
    public static int? CurrentPort(string netConfJson) =>
        Parse(netConfJson, out var root, out _) && BackendOf(root!, out _) is { } backend ? PortOf(backend) : null;

    private static bool Parse(string text, out JsonObject? root, out string? error)
    {
        root = null;
        error = null;
        try
        {
            var node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (node is JsonObject obj)
            {
                root = obj;
                return true;
            }

            error = $"{DataKey} is not a JSON object";
        }
        catch (JsonException e)
        {
            error = $"{DataKey} is not valid JSON: {e.Message}";
        }

        return false;
    }

    /// <summary>The Backend object; created (empty, meaning vxlan) when absent, as flannel defaults it.</summary>
    private static JsonObject? BackendOf(JsonObject root, out string? error)
    {
        error = null;
        switch (root["Backend"])
        {
            case null:
                var created = new JsonObject();
                root["Backend"] = created;
                return created;
            case JsonObject backend:
                return backend;
            default:
                error = $"{DataKey} Backend is not an object";
                return null;
        }
    }

    private static string TypeOf(JsonObject backend) =>
        backend["Type"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : VxlanType;

    private static int PortOf(JsonObject backend) => backend["Port"] switch
    {
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        JsonValue v when v.TryGetValue<string>(out var s) && int.TryParse(s, out var i) => i,
        _ => DefaultVxlanPort,
    };
}
