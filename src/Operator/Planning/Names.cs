using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace NetDiag.Operator.Planning;

/// <summary>
/// Deterministic names, so a retried or repeated reconcile creates the same Job (AlreadyExists is
/// success) and never a duplicate:
/// <code>
///   nd-&lt;diagnosis, ≤46&gt;-&lt;hash(uid/run), 6&gt;-&lt;hash(node), 6&gt;     ≤ 63 chars
/// </code>
/// 63 because the Job controller copies the Job name into the pods' <c>job-name</c> label, whose
/// values are capped at 63. The run hash includes the diagnosis UID, so a diagnosis deleted and
/// re-created under the same name never adopts its predecessor's Jobs.
/// </summary>
public static partial class Names
{
    public const int MaxLabelValue = 63;
    private const int HashChars = 6;

    public static string JobName(string diagnosis, string diagnosisUid, string runId, string node)
    {
        var runHash = Hash($"{diagnosisUid}/{runId}", HashChars);
        var nodeHash = Hash(node, HashChars);
        var budget = MaxLabelValue - "nd-".Length - 2 - 2 * HashChars;
        var stem = Sanitize(diagnosis, budget);
        return $"nd-{stem}-{runHash}-{nodeHash}";
    }

    /// <summary>A label value for any string: itself when valid, else a readable prefix plus a hash.</summary>
    public static string LabelValue(string value)
    {
        if (value.Length <= MaxLabelValue && ValidLabelValue().IsMatch(value)) return value;
        var hash = Hash(value, 10);
        var prefix = Sanitize(value, MaxLabelValue - hash.Length - 1);
        return prefix.Length == 0 ? hash : $"{prefix}-{hash}";
    }

    public static string Hash(string text, int chars) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..chars];

    /// <summary>Lower-case letters, digits and '-', at most <paramref name="max"/> chars, no '-' at either end.</summary>
    internal static string Sanitize(string text, int max)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text.ToLowerInvariant())
            sb.Append(ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? ch : '-');
        var s = sb.ToString();
        if (s.Length > max) s = s[..max];
        return s.Trim('-');
    }

    [GeneratedRegex(@"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex ValidLabelValue();
}
