using System.Text.RegularExpressions;

namespace NetDiag.Entities.Validation;

/// <summary>
/// Kubernetes label key and value syntax (apimachinery <c>IsQualifiedName</c> / <c>IsValidLabelValue</c>),
/// so a bad selector is refused with a message instead of failing later in a node LIST.
/// </summary>
public static partial class LabelSyntax
{
    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex NamePart();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    /// <summary>Whether <paramref name="name"/> is a DNS name a resolver can be asked for (RFC 1123, optional final dot).</summary>
    public static bool IsDnsName(string name)
    {
        var n = name.EndsWith('.') ? name[..^1] : name;
        return n.Length is > 0 and <= 253 && DnsSubdomain().IsMatch(n.ToLowerInvariant()) && n.Split('.').All(l => l.Length <= 63);
    }

    /// <summary>Null when <paramref name="key"/> is a valid label key, else why not.</summary>
    public static string? KeyProblem(string? key)
    {
        if (string.IsNullOrEmpty(key))
            return "must not be empty";
        var slash = key.IndexOf('/');
        var name = slash < 0 ? key : key[(slash + 1)..];
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (prefix.Length == 0 || prefix.Length > 253 || !DnsSubdomain().IsMatch(prefix))
                return $"\"{key}\" has an invalid prefix \"{prefix}\" (a lowercase DNS subdomain, at most 253 characters)";
        }

        if (name.Length == 0 || name.Length > 63 || !NamePart().IsMatch(name))
            return $"\"{key}\" is not a valid label key (name part: at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)";
        return null;
    }

    /// <summary>Null when <paramref name="value"/> is a valid label value (empty is valid), else why not.</summary>
    public static string? ValueProblem(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (value.Length > 63 || !NamePart().IsMatch(value))
            return $"\"{value}\" is not a valid label value (at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric)";
        return null;
    }
}
