using System.Net;
using System.Net.Sockets;

namespace NetDiag.Lab;

/// <summary>
/// Fills a node's conntrack table with real entries. nf_conntrack_max is global and read-only in a
/// child namespace (kernel 6.18: "Permission denied"), but the count it is compared with is per
/// namespace, so the node can be pushed over 90% without touching the host's table or its max.
/// Entries are UDP flows from one socket to distinct loopback addresses 127.a.b.c:9 inside the
/// node (traffic never leaves the namespace); the node's UDP timeout is raised first so they stay.
/// </summary>
internal static class ConntrackFiller
{
    /// <summary>Refuse to create more than this many entries (kernel memory ≈ 300 B each).</summary>
    public const long MaxEntries = 2_000_000;

    public sealed record Result(long Count, long Max);

    public static Task<Result> FillAsync(string netns, double ratio) => NetnsThread.RunAsync(netns, () =>
    {
        var max = ReadLong("/proc/sys/net/netfilter/nf_conntrack_max");
        var target = (long)Math.Ceiling(max * ratio);
        if (target > MaxEntries)
            throw new LabException($"nf_conntrack_max is {max}: filling {target} entries is more than the lab allows ({MaxEntries}).");

        // A listener on :9 (all of 127/8 is local) swallows the datagrams, so the kernel does not
        // build an ICMP port-unreachable for each of them; its tiny buffer simply overflows.
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4096 };
        sink.Bind(new IPEndPoint(IPAddress.Any, 9));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var payload = new byte[1];
        var count = ReadLong("/proc/sys/net/netfilter/nf_conntrack_count");
        // 127.1.0.1 .. 127.254.255.254: 16 M distinct destinations, far more than any target.
        for (var a = 1; a < 255 && count < target; a++)
        {
            for (var b = 0; b < 256 && count < target; b++)
            {
                for (var c = 1; c < 255; c++)
                {
                    try { socket.SendTo(payload, new IPEndPoint(new IPAddress([127, (byte)a, (byte)b, (byte)c]), 9)); }
                    catch (SocketException) { /* a queued ICMP error surfaces here; the entry exists anyway */ }
                }
                if (b % 16 == 15) count = ReadLong("/proc/sys/net/netfilter/nf_conntrack_count");
            }
        }
        count = ReadLong("/proc/sys/net/netfilter/nf_conntrack_count");
        return new Result(count, max);
    });

    private static long ReadLong(string path) => long.Parse(File.ReadAllText(path).Trim());
}
