using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NetDiag.Tools.CrdGen;

/// <summary>
/// A small, deterministic YAML writer for a JSON tree: keys in the tree's own order, block style,
/// two-space indents, sequences not indented under their key (the kubectl/kubebuilder look),
/// scalars plain only when YAML cannot misread them. Same input, same bytes: the drift test relies
/// on it. (YamlDotNet's serializer would do, but its quoting and ordering rules are not ours to pin.)
/// </summary>
public static partial class YamlWriter
{
    public static string Write(JsonNode root, string? headerComment = null)
    {
        var sb = new StringBuilder();
        if (headerComment is not null)
            foreach (var line in headerComment.Split('\n'))
                sb.Append("# ").Append(line).Append('\n');
        WriteMappingBody((JsonObject)root, 0, sb);
        return sb.ToString();
    }

    private static void WriteMappingBody(JsonObject obj, int indent, StringBuilder sb, bool firstLineAlreadyIndented = false)
    {
        var first = true;
        foreach (var (key, value) in obj)
        {
            if (!(first && firstLineAlreadyIndented))
                sb.Append(' ', indent);
            first = false;
            sb.Append(Scalar(key)).Append(':');
            WriteValueAfterKey(value, indent, sb);
        }
    }

    private static void WriteValueAfterKey(JsonNode? value, int indent, StringBuilder sb)
    {
        switch (value)
        {
            case JsonObject { Count: 0 }:
                sb.Append(" {}\n");
                break;
            case JsonObject obj:
                sb.Append('\n');
                WriteMappingBody(obj, indent + 2, sb);
                break;
            case JsonArray { Count: 0 }:
                sb.Append(" []\n");
                break;
            case JsonArray array:
                sb.Append('\n');
                WriteSequence(array, indent, sb);
                break;
            default:
                sb.Append(' ').Append(Scalar(value)).Append('\n');
                break;
        }
    }

    private static void WriteSequence(JsonArray array, int indent, StringBuilder sb)
    {
        foreach (var item in array)
        {
            sb.Append(' ', indent).Append("- ");
            switch (item)
            {
                case JsonObject { Count: > 0 } obj:
                    WriteMappingBody(obj, indent + 2, sb, firstLineAlreadyIndented: true);
                    break;
                case JsonObject:
                    sb.Append("{}\n");
                    break;
                case JsonArray { Count: 0 }:
                    sb.Append("[]\n");
                    break;
                case JsonArray:
                    throw new NotSupportedException("nested sequences are not used in a CRD");
                default:
                    sb.Append(Scalar(item)).Append('\n');
                    break;
            }
        }
    }

    private static string Scalar(JsonNode? node) => node switch
    {
        null => "null",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Scalar(v.GetValue<string>()),
        JsonValue v when v.GetValueKind() is JsonValueKind.True => "true",
        JsonValue v when v.GetValueKind() is JsonValueKind.False => "false",
        JsonValue v when v.GetValueKind() is JsonValueKind.Number => Number(v),
        _ => throw new NotSupportedException($"cannot write {node.GetValueKind()} as a YAML scalar"),
    };

    private static string Number(JsonValue v)
    {
        if (v.TryGetValue<int>(out var i)) return i.ToString(CultureInfo.InvariantCulture);
        if (v.TryGetValue<long>(out var l)) return l.ToString(CultureInfo.InvariantCulture);
        return v.GetValue<double>().ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Plain when the string is made of characters YAML never reads as syntax and is not a word
    /// YAML 1.1 reads as a boolean or null ("True" in a condition status enum must stay a string);
    /// single-quoted when it fits on a line; double-quoted with JSON escapes otherwise.
    /// </summary>
    public static string Scalar(string s)
    {
        if (PlainSafe().IsMatch(s) && !Reserved.Contains(s))
            return s;
        if (s.All(c => c >= ' ' && c != '\u007f'))
            return "'" + s.Replace("'", "''") + "'";
        return JsonSerializer.Serialize(s);
    }

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", ".inf", ".nan",
    };

    // Starts with a letter or '.', ends with neither space nor ':'; no ': ', ' #', quotes, or flow characters.
    [GeneratedRegex(@"^[A-Za-z.]([A-Za-z0-9 _./()-]*[A-Za-z0-9_./)])?$")]
    private static partial Regex PlainSafe();
}
