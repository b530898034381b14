using System.Net;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Hosting;

/// <summary>
/// /healthz (the process serves requests), /readyz (caches synced, or a ready standby) and
/// /metrics (Prometheus text) on <see cref="OperatorOptions.MetricsPort"/>, with
/// <see cref="HttpListener"/> so the operator needs no web framework.
/// </summary>
public sealed class HealthServer(IOptions<OperatorOptions> options, OperatorState state, OperatorMetrics metrics,
    ILogger<HealthServer> logger) : BackgroundService
{
    /// <summary>The prefix actually listened on (set once started).</summary>
    public string? Prefix { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (o.MetricsPort == 0) return;
        var host = o.MetricsBindAddress is "0.0.0.0" or "" or "*" or "::" ? "*" : o.MetricsBindAddress;
        Prefix = $"http://{host}:{o.MetricsPort}/";
        using var listener = new HttpListener();
        listener.Prefixes.Add(Prefix);
        try
        {
            listener.Start();
        }
        catch (Exception ex)
        {
            logger.HealthServerFailed(ex);
            throw new InvalidOperationException($"cannot listen on {Prefix}: {ex.Message}", ex);
        }
        logger.Serving(Prefix);
        using var reg = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                logger.HealthServerFailed(ex);
                continue;
            }
            _ = Task.Run(() => Serve(ctx), CancellationToken.None);
        }
    }

    private void Serve(HttpListenerContext ctx)
    {
        try
        {
            var (status, contentType, body) = Respond(ctx.Request.Url?.AbsolutePath ?? "/");
            var bytes = Encoding.UTF8.GetBytes(body);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = contentType;
            ctx.Response.ContentLength64 = bytes.Length;
            ctx.Response.OutputStream.Write(bytes);
            ctx.Response.Close();
        }
        catch (Exception ex)
        {
            logger.HealthServerFailed(ex);
            try { ctx.Response.Abort(); } catch { /* the client is gone */ }
        }
    }

    /// <summary>Status, content type and body for a path (pure apart from reading the state).</summary>
    internal (int Status, string ContentType, string Body) Respond(string path) => path.TrimEnd('/') switch
    {
        "/healthz" or "/livez" => (200, "text/plain; charset=utf-8", "ok\n"),
        "/readyz" => state.IsReady
            ? (200, "text/plain; charset=utf-8", $"ok: {state.Describe()}\n")
            : (503, "text/plain; charset=utf-8", $"not ready: {state.Describe()}\n"),
        "/metrics" => (200, "text/plain; version=0.0.4; charset=utf-8", metrics.Registry.Export()),
        _ => (404, "text/plain; charset=utf-8", "not found: try /healthz, /readyz, /metrics\n"),
    };
}
