using System.Net;
using System.Net.Sockets;

namespace NetDiag.Operator.Checks.Parsing;

/// <summary>
/// An IP range as first and last address (IPv4 and IPv6 kept apart by family), so overlap is two
/// comparisons. Host bits in the text are masked off: <c>10.244.1.5/24</c> is <c>10.244.1.0/24</c>.
/// </summary>
public readonly record struct Cidr(AddressFamily Family, UInt128 First, UInt128 Last, int PrefixLength, string Text)
{
    public static bool TryParse(string? text, out Cidr cidr)
    {
        cidr = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        var slash = s.IndexOf('/');
        if (slash <= 0) return false;
        if (!IPAddress.TryParse(s[..slash], out var ip)) return false;
        if (!int.TryParse(s[(slash + 1)..], out var prefix)) return false;
        var bits = ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefix < 0 || prefix > bits) return false;
        var value = ToNumber(ip);
        var hostBits = bits - prefix;
        var hostMask = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        var first = value & ~hostMask;
        cidr = new Cidr(ip.AddressFamily, first, first | hostMask, prefix, $"{FromNumber(first, ip.AddressFamily)}/{prefix}");
        return true;
    }

    public static Cidr? Parse(string? text) => TryParse(text, out var c) ? c : null;

    public bool Overlaps(Cidr other) => Family == other.Family && First <= other.Last && other.First <= Last;

    public bool Contains(IPAddress ip) => ip.AddressFamily == Family && ToNumber(ip) is var n && n >= First && n <= Last;

    /// <summary>Allocation-free form for hot loops: an address already converted with <see cref="ToNumber"/>.</summary>
    public bool Contains(AddressFamily family, UInt128 address) => family == Family && address >= First && address <= Last;

    public bool Contains(Cidr inner) => Family == inner.Family && inner.First >= First && inner.Last <= Last;

    public override string ToString() => Text;

    public static UInt128 ToNumber(IPAddress ip)
    {
        var bytes = ip.GetAddressBytes();
        UInt128 n = 0;
        foreach (var b in bytes) n = (n << 8) | b;
        return n;
    }

    internal static IPAddress FromNumber(UInt128 n, AddressFamily family)
    {
        var len = family == AddressFamily.InterNetwork ? 4 : 16;
        var bytes = new byte[len];
        for (var i = len - 1; i >= 0; i--) { bytes[i] = (byte)(n & 0xff); n >>= 8; }
        return new IPAddress(bytes);
    }
}
