using System.Text.Json;
using NetDiag.Entities.Reports;

namespace NetDiag.Probes.Collectors;

/// <summary>
/// The security-software signatures: a built-in list (an embedded JSON resource, from seed 000),
/// extended by the plan and by a file given with <c>--security-list</c>, so new products are data,
/// not a rebuild.
/// </summary>
public static class SecuritySoftwareList
{
    private const string ResourceName = "NetDiag.Probes.security-software.json";

    public static IReadOnlyList<SecuritySoftwareSignature> BuiltIn()
    {
        using var stream = typeof(SecuritySoftwareList).Assembly.GetManifestResourceStream(ResourceName);
        if (stream is null) return [];
        return JsonSerializer.Deserialize(stream, ReportJsonContext.Default.ListSecuritySoftwareSignature) ?? [];
    }

    /// <summary>Reads an extra list: a JSON array of {process, vendor, note}. Never throws.</summary>
    public static Gathered<List<SecuritySoftwareSignature>> FromFile(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            var list = JsonSerializer.Deserialize(text, ReportJsonContext.Default.ListSecuritySoftwareSignature);
            if (list is null) return Gathered<List<SecuritySoftwareSignature>>.Fail($"{path}: not a JSON array");
            var bad = list.FirstOrDefault(s => string.IsNullOrWhiteSpace(s.Process));
            if (bad is not null) return Gathered<List<SecuritySoftwareSignature>>.Fail($"{path}: an entry has no \"process\"");
            return Gathered<List<SecuritySoftwareSignature>>.Of(list);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return Gathered<List<SecuritySoftwareSignature>>.Fail($"{path}: {e.Message}");
        }
    }

    /// <summary>Later lists override earlier entries with the same process name.</summary>
    public static List<SecuritySoftwareSignature> Merge(params IEnumerable<SecuritySoftwareSignature>[] lists)
    {
        var byName = new Dictionary<string, SecuritySoftwareSignature>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();
        foreach (var list in lists)
            foreach (var s in list)
            {
                if (string.IsNullOrWhiteSpace(s.Process)) continue;
                if (!byName.ContainsKey(s.Process)) order.Add(s.Process);
                byName[s.Process] = s;
            }
        return order.Select(n => byName[n]).ToList();
    }
}
