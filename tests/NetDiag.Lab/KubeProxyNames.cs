using System.Security.Cryptography;
using System.Text;

namespace NetDiag.Lab;

/// <summary>
/// kube-proxy's iptables chain names (pkg/proxy/iptables: servicePortChainName and
/// servicePortEndpointChainName), so the lab's rules look exactly like a cluster's:
/// "KUBE-SVC-" + first 16 chars of base32(sha256(servicePortName + protocol)).
/// </summary>
public static class KubeProxyNames
{
    public static string ServiceChain(string servicePortName, string protocol)
        => "KUBE-SVC-" + Hash(servicePortName + protocol);

    public static string EndpointChain(string servicePortName, string protocol, string endpoint)
        => "KUBE-SEP-" + Hash(servicePortName + protocol + endpoint);

    private static string Hash(string s) => Base32(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..16];

    private static string Base32(byte[] data)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var sb = new StringBuilder();
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0) sb.Append(alphabet[(buffer << (5 - bits)) & 31]);
        return sb.ToString();
    }
}
