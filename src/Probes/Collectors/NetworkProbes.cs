using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using DnsClient;

namespace NetDiag.Probes.Collectors;

/// <summary>One ICMP reachability test.</summary>
public sealed record PingResult(string Target, bool Ok, double? RttMs, string Detail);

/// <summary>One DNS A query.</summary>
public sealed record DnsResult(string Server, string Name, IReadOnlyList<string> Answers, string? ResponseCode, string? Error)
{
    public bool Answered => Error is null && ResponseCode == "NoError";
}

/// <summary>One HTTP GET.</summary>
public sealed record HttpResult(string Url, int? StatusCode, string? Error)
{
    public bool Ok => StatusCode is >= 200 and < 300;
}

/// <summary>
/// Reachability tests toward a target, each bounded by its own timeout and never throwing for a
/// down target: N targets run concurrently and cost about one timeout together.
/// </summary>
public static class NetworkProbes
{
    /// <summary>
    /// ICMP echo (a raw socket as root). Two tries share the timeout, as seed 000's <c>ping -c2 -W1</c>,
    /// so one lost packet does not mark a peer down.
    /// </summary>
    public static async Task<PingResult> PingAsync(string target, TimeSpan timeout)
    {
        if (!IPAddress.TryParse(target, out var ip)) return new PingResult(target, false, null, $"'{target}' is not an IP address");
        var sw = Stopwatch.StartNew();
        string detail = "no reply";
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var left = timeout - sw.Elapsed;
            if (left <= TimeSpan.FromMilliseconds(10)) break;
            var wait = attempt == 0 ? TimeSpan.FromTicks(left.Ticks / 2) : left;
            try
            {
                using var ping = new Ping();
                var reply = await ping.SendPingAsync(ip, wait, new byte[32]).ConfigureAwait(false);
                if (reply.Status == IPStatus.Success)
                    return new PingResult(target, true, Math.Max(reply.RoundtripTime, 0), "reply");
                detail = reply.Status == IPStatus.TimedOut ? $"no reply within {timeout.TotalMilliseconds:0} ms" : reply.Status.ToString();
                // A fast "unreachable" answer will not change on a second try within a second.
                if (reply.Status != IPStatus.TimedOut) await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100, Math.Max(0, (timeout - sw.Elapsed).TotalMilliseconds / 2)))).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                detail = e.InnerException?.Message ?? e.Message;
            }
        }
        return new PingResult(target, false, null, detail);
    }

    /// <summary>An A query for <paramref name="name"/> sent to <paramref name="server"/>:53 over UDP, no retries.</summary>
    public static async Task<DnsResult> QueryAAsync(string server, string name, TimeSpan timeout)
    {
        if (!IPAddress.TryParse(server, out var ip)) return new DnsResult(server, name, [], null, $"'{server}' is not an IP address");
        try
        {
            var options = new LookupClientOptions(new NameServer(ip, 53))
            {
                UseCache = false,
                Timeout = timeout,
                Retries = 0,
                UseTcpFallback = false,
                ThrowDnsErrors = false,
                ContinueOnDnsError = false,
                ContinueOnEmptyResponse = false,
                UseRandomNameServer = false,
                Recursion = true,
            };
            var client = new LookupClient(options);
            using var cts = new CancellationTokenSource(timeout + TimeSpan.FromMilliseconds(200));
            var response = await client.QueryAsync(name, QueryType.A, QueryClass.IN, cts.Token).ConfigureAwait(false);
            var answers = response.Answers.ARecords().Select(a => a.Address.ToString()).ToList();
            var code = response.Header.ResponseCode.ToString();
            return new DnsResult(server, name, answers, code, null);
        }
        catch (DnsResponseException e)
        {
            var msg = e.Code == DnsResponseCode.ConnectionTimeout
                ? $"no answer within {timeout.TotalMilliseconds:0} ms"
                : e.InnerException?.Message ?? e.DnsError;
            return new DnsResult(server, name, [], null, msg);
        }
        catch (OperationCanceledException)
        {
            return new DnsResult(server, name, [], null, $"no answer within {timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception e)
        {
            return new DnsResult(server, name, [], null, e.InnerException?.Message ?? e.Message);
        }
    }

    private static readonly Lazy<HttpClient> Http = new(() => new HttpClient(new SocketsHttpHandler
    {
        // Never through a proxy: the question is whether this node reaches the target directly.
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(30),
        PooledConnectionLifetime = TimeSpan.FromSeconds(5),
    })
    { Timeout = Timeout.InfiniteTimeSpan });

    /// <summary>GET the URL, reading at most 64 KiB of the body (only the status matters).</summary>
    public static async Task<HttpResult> GetAsync(string url, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using var response = await Http.Value.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            return new HttpResult(url, (int)response.StatusCode, null);
        }
        catch (OperationCanceledException)
        {
            return new HttpResult(url, null, $"no answer within {timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException e)
        {
            return new HttpResult(url, null, e.InnerException?.Message ?? e.Message);
        }
        catch (Exception e)
        {
            return new HttpResult(url, null, e.Message);
        }
    }
}
