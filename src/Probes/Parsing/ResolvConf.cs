using System.Net;

namespace NetDiag.Probes.Parsing;

/// <summary>A <c>nameserver</c> line.</summary>
public sealed record Nameserver(string Address, int Line, string Text)
{
    /// <summary>127.0.0.0/8 or ::1: a resolver on the node itself, which CoreDNS would forward to itself.</summary>
    public bool IsLoopback => IPAddress.TryParse(Address, out var ip) && IPAddress.IsLoopback(ip);
}

public sealed record ResolvConf(List<Nameserver> Nameservers, List<string> Search, List<string> Warnings);

/// <summary>Parses resolv.conf(5). Garbage lines become warnings, never exceptions.</summary>
public static class ResolvConfParser
{
    public static ResolvConf Parse(string? text)
    {
        var servers = new List<Nameserver>();
        var search = new List<string>();
        var warnings = new List<string>();
        if (text is null) return new(servers, search, warnings);
        var lineNo = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            lineNo++;
            var line = raw.Trim();
            if (line.IsEmpty || line[0] is '#' or ';') continue;
            var hash = line.IndexOfAny('#', ';');
            if (hash > 0) line = line[..hash].TrimEnd();
            var parts = line.ToString().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            switch (parts[0])
            {
                case "nameserver":
                    if (parts.Length < 2) { warnings.Add($"line {lineNo}: nameserver without an address"); break; }
                    // glibc accepts a zone id on IPv6 (fe80::1%eth0); IPAddress does too.
                    if (!IPAddress.TryParse(parts[1], out _)) { warnings.Add($"line {lineNo}: nameserver '{Cut(parts[1])}' is not an IP address"); break; }
                    servers.Add(new Nameserver(parts[1], lineNo, line.ToString()));
                    break;
                case "search":
                case "domain":
                    search.AddRange(parts.Skip(1));
                    break;
                case "options":
                case "sortlist":
                    break;
                default:
                    if (warnings.Count < 20) warnings.Add($"line {lineNo}: not understood: {Cut(line.ToString())}");
                    break;
            }
        }
        return new(servers, search, warnings);
    }

    private static string Cut(string s) => s.Length <= 60 ? s : s[..59] + "…";
}

/// <summary>Where kubelet takes the resolv.conf that it hands to pods with dnsPolicy Default (CoreDNS).</summary>
public sealed record KubeletResolvConf(string Path, string Source);

/// <summary>
/// Reads kubelet's <c>resolvConf</c>: the <c>--resolv-conf</c> flag (kubeadm-flags.env or the
/// systemd drop-in) wins over <c>resolvConf:</c> in config.yaml; the default is /etc/resolv.conf.
/// A line scan is enough: the key is top level and its value a plain path.
/// </summary>
public static class KubeletConfigParser
{
    public const string DefaultResolvConf = "/etc/resolv.conf";

    /// <returns>The path, or null when the text does not set it.</returns>
    public static (string Path, int Line)? ResolvConfFromConfigYaml(string? yaml)
    {
        if (yaml is null) return null;
        var lineNo = 0;
        foreach (var raw in yaml.AsSpan().EnumerateLines())
        {
            lineNo++;
            if (raw.IsEmpty || raw[0] is ' ' or '\t' or '#') continue; // only top-level keys
            var line = raw.TrimEnd();
            if (!line.StartsWith("resolvConf:")) continue;
            var value = StripYamlScalar(line["resolvConf:".Length..]);
            if (value.Length > 0) return (value, lineNo);
        }
        return null;
    }

    /// <summary>Finds <c>--resolv-conf=PATH</c> (or <c>--resolv-conf PATH</c>) in a flags file.</summary>
    public static (string Path, int Line)? ResolvConfFromFlags(string? flags)
    {
        if (flags is null) return null;
        var lineNo = 0;
        foreach (var raw in flags.AsSpan().EnumerateLines())
        {
            lineNo++;
            var line = raw.ToString();
            var at = line.IndexOf("--resolv-conf", StringComparison.Ordinal);
            if (at < 0) continue;
            var rest = line[(at + "--resolv-conf".Length)..].TrimStart('=', ' ');
            var end = rest.IndexOfAny([' ', '"', '\'', '\t']);
            var value = end < 0 ? rest : rest[..end];
            if (value.Length > 0) return (value, lineNo);
        }
        return null;
    }

    private static string StripYamlScalar(ReadOnlySpan<char> s)
    {
        s = s.Trim();
        var hash = s.IndexOf(" #");
        if (hash >= 0) s = s[..hash].TrimEnd();
        if (s.Length >= 2 && (s[0] == '"' && s[^1] == '"' || s[0] == '\'' && s[^1] == '\'')) s = s[1..^1];
        return s.ToString();
    }
}
