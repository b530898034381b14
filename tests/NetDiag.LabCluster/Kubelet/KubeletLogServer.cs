using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace NetDiag.LabCluster.Kubelet;

/// <summary>
/// The part of the kubelet's HTTPS API (port 10250 on a real node) that the API server proxies
/// <c>kubectl logs</c> and <c>pods/log</c> to: <c>GET /containerLogs/{namespace}/{pod}/{container}</c>
/// with <c>previous</c>, <c>tailLines</c> and <c>limitBytes</c>. Listens on 127.0.0.1 with a
/// self-signed certificate (kube-apiserver does not verify kubelet certificates unless
/// --kubelet-certificate-authority is set). One server serves every lab node: the path names the
/// pod, and each Node advertises this port as its kubelet endpoint.
/// </summary>
public sealed class KubeletLogServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KubeletLogServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Starts the server on 127.0.0.1 (<paramref name="port"/> 0: any free port).</summary>
    public static async Task<KubeletLogServer> StartAsync(ContainerLogStore logs, int port = 0, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var certificate = SelfSignedCertificate();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        app.MapGet("/healthz", () => "ok");
        app.MapGet("/containerLogs/{ns}/{pod}/{container}", (string ns, string pod, string container, HttpRequest request) =>
        {
            var previous = request.Query["previous"].ToString() is "true" or "1";
            var log = logs.Get(ns, pod, container, previous);
            if (log is null)
            {
                var what = previous ? "previous terminated container" : "container";
                return Results.Text($"{what} \"{container}\" in pod \"{pod}\" not found", "text/plain", statusCode: 404);
            }
            int? tail = int.TryParse(request.Query["tailLines"], out var t) ? t : null;
            long? limit = long.TryParse(request.Query["limitBytes"], out var l) ? l : null;
            return Results.Text(ContainerLogStore.Select(log, tail, limit), "text/plain; charset=utf-8");
        });
        await app.StartAsync(ct);
        var actual = app.Urls.Select(u => new Uri(u).Port).FirstOrDefault(port);
        return new KubeletLogServer(app, actual);
    }

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=netdiag-lab-kubelet", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        // Kestrel needs the private key in a form it can use on Linux: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
