using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace NetDiag.Operator.Remediation;

/// <summary>
/// Rewrites CoreDNS's <c>forward . /etc/resolv.conf</c> to real upstreams, pure (seed 001 §7,
/// seed 002): when the node's resolv.conf names a loopback resolver (127.0.0.53 under
/// systemd-resolved), CoreDNS forwards to itself and its <c>loop</c> plugin kills it.
/// <list type="bullet">
/// <item>Every <c>forward .</c> line whose destinations include <c>/etc/resolv.conf</c> or a loopback
/// address is rewritten to <c>forward . &lt;upstreams&gt;</c>; its options block (<c>{ max_concurrent
/// 1000 }</c>), indentation and line endings are kept.</item>
/// <item>Upstreams must be IP addresses (optionally <c>ip:port</c> or <c>[v6]:port</c>), never
/// loopback or unspecified: anything else is refused, so no text can be injected into the Corefile.</item>
/// <item>Idempotent: a Corefile that forwards nowhere local is left alone.</item>
/// </list>
/// </summary>
public static partial class CorefileForwardPatch
{
    /// <summary>Annotation on the <c>coredns</c> ConfigMap holding the Corefile before the patch.</summary>
    public const string PreviousAnnotation = "netdiag.io/previous-Corefile";
    public const string DataKey = "Corefile";

    /// <summary>CoreDNS's forward plugin takes at most 15 destinations.</summary>
    public const int MaxUpstreams = 15;

    // forward FROM TO... [{ options }]: FROM "." (the root zone), destinations up to '{' or end of line.
    [GeneratedRegex(@"^(?<indent>[ \t]*)forward(?<sep>[ \t]+)\.(?<dests>(?:[ \t]+[^\s{]+)+)(?<rest>[ \t]*(?:\{.*)?)$", RegexOptions.Multiline)]
    private static partial Regex ForwardLine();

    /// <summary>Replaces local forward destinations in <paramref name="corefile"/> by <paramref name="upstreams"/>.</summary>
    public static ConfigPatch Apply(string corefile, IReadOnlyList<string> upstreams)
    {
        var problem = ValidateUpstreams(upstreams, out var clean);
        if (problem is not null)
            return ConfigPatch.Failed(corefile, problem);

        var replaced = new List<string>();
        var text = ForwardLine().Replace(corefile, m =>
        {
            var dests = m.Groups["dests"].Value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (!dests.Any(IsLocalDestination))
                return m.Value;
            replaced.Add($"forward .{m.Groups["dests"].Value}".TrimEnd('\r'));
            // '\r' of a CRLF line sits in 'rest' (. matches it): keep it.
            return $"{m.Groups["indent"].Value}forward{m.Groups["sep"].Value}. {string.Join(' ', clean)}{m.Groups["rest"].Value}";
        });

        if (replaced.Count == 0)
        {
            var existing = ForwardLine().Match(corefile);
            var summary = existing.Success
                ? $"the Corefile already forwards to {existing.Groups["dests"].Value.Trim()}"
                : "the Corefile has no forward . line";
            return new ConfigPatch(false, corefile, corefile, summary, null);
        }

        var newDests = string.Join(' ', clean);
        return new ConfigPatch(true, text, corefile, $"{string.Join("; ", replaced.Distinct())} → forward . {newDests}", null);
    }

    /// <summary>Whether a forward destination is the node's resolv.conf or a loopback resolver.</summary>
    public static bool IsLocalDestination(string destination)
    {
        if (destination.Contains("resolv.conf", StringComparison.Ordinal))
            return true;
        var host = HostOf(destination);
        return host is not null && IPAddress.TryParse(host, out var ip) && (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));
    }

    /// <summary>Null when every upstream is a usable non-loopback address; the cleaned list comes out.</summary>
    public static string? ValidateUpstreams(IReadOnlyList<string> upstreams, out List<string> clean)
    {
        clean = [];
        if (upstreams.Count == 0)
            return "no upstream DNS server is known: set spec.dnsUpstreams, or let the probe find a non-loopback nameserver";
        foreach (var raw in upstreams)
        {
            var u = raw.Trim();
            var host = HostOf(u);
            if (host is null || !IPAddress.TryParse(host, out var ip))
                return $"upstream \"{raw}\" is not an IP address (or ip:port)";
            if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
                return $"upstream {u} is a loopback or unspecified address: CoreDNS would forward to itself again";
            if (!clean.Contains(u, StringComparer.Ordinal))
                clean.Add(u);
        }

        if (clean.Count > MaxUpstreams)
            return $"{clean.Count} upstreams given; CoreDNS's forward plugin takes at most {MaxUpstreams}";
        return null;
    }

    /// <summary>The address part of <c>ip</c>, <c>ip:port</c>, <c>[v6]:port</c> or <c>dns://ip:port</c>; null if none.</summary>
    private static string? HostOf(string destination)
    {
        var d = destination;
        var scheme = d.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
            d = d[(scheme + 3)..];
        if (d.StartsWith('['))
        {
            var close = d.IndexOf(']');
            return close > 1 ? d[1..close] : null;
        }

        // More than one ':' is a bare IPv6 address; exactly one separates a port.
        var colons = d.Count(c => c == ':');
        if (colons == 1)
        {
            var parts = d.Split(':');
            return int.TryParse(parts[1], out var port) && port is > 0 and < 65536 ? parts[0] : null;
        }

        return d.Length > 0 ? d : null;
    }
}
