using System.Net;
using System.Net.Sockets;

namespace NetDiag.Probes.Collectors;

/// <summary>Whether a UDP datagram to a port of a peer reached the peer's kernel.</summary>
public sealed record UdpPortResult(string Target, int Port, bool Passed, string Detail);

/// <summary>
/// Tests whether a candidate VXLAN port would pass between two nodes without anything listening
/// there: a datagram to a closed port that reaches the peer's kernel comes back as ICMP "port
/// unreachable", which a connected UDP socket reports as ECONNREFUSED; a firewall that drops the
/// port leaves only silence. (A REJECT rule answering port-unreachable would look like a pass, so
/// only ports nobody rejects by name are proposed.)
/// </summary>
public static class UdpPortProbe
{
    public static async Task<UdpPortResult> TestAsync(string target, int port, TimeSpan timeout)
    {
        if (!IPAddress.TryParse(target, out var ip)) return new(target, port, false, "not an IP address");
        try
        {
            using var socket = new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            await socket.ConnectAsync(new IPEndPoint(ip, port)).ConfigureAwait(false);
            using var cts = new CancellationTokenSource(timeout);
            var buffer = new byte[64];
            var payload = "netdiag port test"u8.ToArray();
            // Two datagrams, as ICMP errors are rate limited and one may be lost.
            for (var attempt = 0; attempt < 2; attempt++)
            {
                await socket.SendAsync(payload, SocketFlags.None, cts.Token).ConfigureAwait(false);
                try
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                    wait.CancelAfter(timeout / 2);
                    await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token).ConfigureAwait(false);
                    return new(target, port, true, "answered");
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    return new(target, port, true, "port unreachable from the peer's kernel: the datagram got through");
                }
                catch (OperationCanceledException) when (!cts.IsCancellationRequested)
                {
                    // no answer yet: try once more
                }
            }
            return new(target, port, false, $"no answer within {timeout.TotalMilliseconds:0} ms (dropped on the way)");
        }
        catch (OperationCanceledException)
        {
            return new(target, port, false, $"no answer within {timeout.TotalMilliseconds:0} ms (dropped on the way)");
        }
        catch (SocketException e)
        {
            return new(target, port, false, e.Message);
        }
    }
}
