using System.Net;

namespace NetDiag.LabCluster.Faults;

/// <summary>
/// The podCidrOverlap fault: the faulty node's Node object claims a podCIDR that also covers
/// another node's. The claim is the smallest supernet of the node's real podCIDR that reaches a
/// neighbour's, so the claim still contains the node's own cni0 and flannel.1 addresses and
/// every probe ping the plan derives from it (.0 and .1 of the claimed range land on a real
/// neighbour) still passes: the overlap is a configuration fault, found by reading the API.
/// </summary>
public static class PodCidrOverlapFault
{
    /// <summary>The overlapping claim for <paramref name="node"/>, and the nodes whose podCIDR it covers.</summary>
    public static (string Claim, IReadOnlyList<string> Overlapped) Claim(string node, IReadOnlyDictionary<string, string> realPodCidrs)
    {
        if (!realPodCidrs.TryGetValue(node, out var own) || !TryParse(own, out var ownNet, out var ownLen))
            throw new ArgumentException($"node {node} has no IPv4 podCIDR to widen");
        for (var len = ownLen - 1; len >= 8; len--)
        {
            var net = ownNet & Mask(len);
            var covered = realPodCidrs
                .Where(kv => kv.Key != node && TryParse(kv.Value, out var n, out var l) && l >= len && (n & Mask(len)) == net)
                .Select(kv => kv.Key)
                .OrderBy(n => n, StringComparer.Ordinal)
                .ToList();
            if (covered.Count > 0) return ($"{Format(net)}/{len}", covered);
        }
        throw new ArgumentException($"no supernet of {own} (down to /8) covers another node's podCIDR");
    }

    /// <summary>Whether two IPv4 CIDRs share any address.</summary>
    public static bool Overlap(string a, string b)
    {
        if (!TryParse(a, out var na, out var la) || !TryParse(b, out var nb, out var lb)) return false;
        var len = Math.Min(la, lb);
        return (na & Mask(len)) == (nb & Mask(len));
    }

    public static bool TryParse(string cidr, out uint network, out int prefix)
    {
        network = 0;
        prefix = 0;
        var parts = cidr.Split('/');
        if (parts.Length != 2 || !IPAddress.TryParse(parts[0], out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
            || !int.TryParse(parts[1], out prefix) || prefix is < 0 or > 32)
            return false;
        var b = ip.GetAddressBytes();
        network = ((uint)b[0] << 24 | (uint)b[1] << 16 | (uint)b[2] << 8 | b[3]) & Mask(prefix);
        return true;
    }

    private static uint Mask(int len) => len == 0 ? 0 : uint.MaxValue << (32 - len);

    private static string Format(uint a) => $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}";
}
