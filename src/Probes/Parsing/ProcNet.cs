using System.Globalization;
using System.Net;

namespace NetDiag.Probes.Parsing;

/// <summary>Interface counters from /proc/net/dev.</summary>
public sealed record DeviceCounters(string Device, long RxBytes, long RxPackets, long RxDropped, long TxBytes, long TxPackets, long TxDropped);

/// <summary>Parses /proc/net/dev (per network namespace: the reader's).</summary>
public static class ProcNetDevParser
{
    public static Dictionary<string, DeviceCounters> Parse(string? text, List<string>? warnings = null)
    {
        var result = new Dictionary<string, DeviceCounters>(StringComparer.Ordinal);
        if (text is null) return result;
        var lineNo = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            lineNo++;
            var colon = raw.IndexOf(':');
            if (colon <= 0) continue; // the two header lines and blank lines
            var name = raw[..colon].Trim().ToString();
            if (name.Contains('|') || name.Length == 0) continue;
            var f = raw[(colon + 1)..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // rx: bytes packets errs drop fifo frame compressed multicast | tx: bytes packets errs drop ...
            if (f.Length < 12 || !All(f, out var n))
            {
                warnings?.Add($"line {lineNo}: malformed counters for {name}");
                continue;
            }
            result[name] = new DeviceCounters(name, n[0], n[1], n[3], n[8], n[9], n[11]);
        }
        return result;
    }

    private static bool All(string[] f, out long[] n)
    {
        n = new long[f.Length];
        for (var i = 0; i < f.Length; i++)
            if (!long.TryParse(f[i], NumberStyles.None, CultureInfo.InvariantCulture, out n[i])) return false;
        return true;
    }
}

/// <summary>A listening TCP socket.</summary>
public sealed record TcpListener(string Address, int Port)
{
    public bool IsWildcard => Address is "0.0.0.0" or "::";
    public override string ToString() => Address.Contains(':') ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}

/// <summary>Parses /proc/net/tcp and /proc/net/tcp6 for sockets in LISTEN (state 0A).</summary>
public static class ProcNetTcpParser
{
    public static List<TcpListener> ParseListeners(string? text)
    {
        var result = new List<TcpListener>();
        if (text is null) return result;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var parts = raw.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // sl local_address rem_address st ...
            if (parts.Length < 4 || !parts[0].EndsWith(':')) continue;
            if (parts[3] != "0A") continue;
            var local = parts[1].Split(':');
            if (local.Length != 2) continue;
            if (!int.TryParse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var port)) continue;
            var address = DecodeAddress(local[0]);
            if (address is null) continue;
            result.Add(new TcpListener(address, port));
        }
        return result;
    }

    /// <summary>
    /// The kernel prints the address as 32-bit words in host byte order (little-endian on x86 and arm64).
    /// </summary>
    internal static string? DecodeAddress(string hex)
    {
        if (hex.Length is not (8 or 32)) return null;
        var bytes = new byte[hex.Length / 2];
        for (var word = 0; word < hex.Length / 8; word++)
        {
            if (!uint.TryParse(hex.AsSpan(word * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v)) return null;
            if (!BitConverter.IsLittleEndian) v = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
            // v was parsed as the printed big-endian number; the memory order is its little-endian bytes.
            bytes[word * 4] = (byte)v;
            bytes[word * 4 + 1] = (byte)(v >> 8);
            bytes[word * 4 + 2] = (byte)(v >> 16);
            bytes[word * 4 + 3] = (byte)(v >> 24);
        }
        var ip = new IPAddress(bytes);
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        return ip.ToString();
    }
}

/// <summary>An IPVS virtual service from /proc/net/ip_vs.</summary>
public sealed record IpvsService(string Protocol, string Address, int Port, int RealServers);

/// <summary>Parses /proc/net/ip_vs (addresses printed as big-endian hex).</summary>
public static class ProcIpVsParser
{
    public static List<IpvsService> Parse(string? text)
    {
        var result = new List<IpvsService>();
        if (text is null) return result;
        IpvsService? current = null;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var parts = raw.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2) continue;
            if (parts[0] is "TCP" or "UDP" or "SCTP")
            {
                if (current is not null) result.Add(current);
                current = null;
                var ap = parts[1].Split(':');
                if (ap.Length != 2 || ap[0].Length != 8) continue; // FWM and IPv6 services are not used for kube-dns
                if (!uint.TryParse(ap[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var a)) continue;
                if (!int.TryParse(ap[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var port)) continue;
                var ip = new IPAddress([(byte)(a >> 24), (byte)(a >> 16), (byte)(a >> 8), (byte)a]);
                current = new IpvsService(parts[0], ip.ToString(), port, 0);
            }
            else if (parts[0] == "->" && current is not null && parts[1] != "RemoteAddress:Port")
            {
                current = current with { RealServers = current.RealServers + 1 };
            }
        }
        if (current is not null) result.Add(current);
        return result;
    }
}

/// <summary>Small helpers for IPv4 CIDRs (pod CIDRs, rule selectors).</summary>
public static class Cidr
{
    /// <summary>Parses <c>a.b.c.d/len</c> (or a bare address as /32).</summary>
    public static bool TryParse(string? text, out uint network, out int prefix)
    {
        network = 0; prefix = 32;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var slash = text.IndexOf('/');
        var addr = slash < 0 ? text : text[..slash];
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..], out prefix) || prefix is < 0 or > 32)) return false;
        if (!IPAddress.TryParse(addr, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork) return false;
        var b = ip.GetAddressBytes();
        var v = (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        network = v & Mask(prefix);
        return true;
    }

    public static uint Mask(int prefix) => prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);

    /// <summary>The CIDR's network address plus <paramref name="offset"/>: .0 is flannel.1's address, .1 the cni0 gateway.</summary>
    public static string? HostAt(string? cidr, uint offset)
    {
        if (!TryParse(cidr, out var net, out _)) return null;
        var v = net + offset;
        return $"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}";
    }

    public static bool Overlaps(string? a, string? b)
    {
        if (!TryParse(a, out var na, out var pa) || !TryParse(b, out var nb, out var pb)) return false;
        var p = Math.Min(pa, pb);
        return (na & Mask(p)) == (nb & Mask(p));
    }
}
