using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetDiag.Testing;
using Xunit.Abstractions;
using static NetDiag.Operator.Tests.Runtime.ClusterHelpers;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>
/// The operator program itself (Program.cs composition) as a user runs it: bad settings, then a
/// real run against the API server with leader election, probes of /healthz /readyz /metrics, and
/// a SIGTERM that ends it cleanly and frees the Lease.
/// </summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class OperatorProcessTests(ControlPlaneFixture cp, ITestOutputHelper output)
{
    private static string OperatorDll => Path.Combine(AppContext.BaseDirectory, "netdiag-operator.dll");

    private sealed class OperatorProcess : IAsyncDisposable
    {
        private readonly StringBuilder _out = new();
        public Process Process { get; }
        public string Output { get { lock (_out) return _out.ToString(); } }

        public OperatorProcess(IEnumerable<string> args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(OperatorDll);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment.Remove("KUBECONFIG");
            Process = Process.Start(psi)!;
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public void Terminate() => Process.Start("kill", ["-TERM", Process.Id.ToString()])!.WaitForExit();

        public async Task<int> WaitForExitAsync(TimeSpan within)
        {
            await Process.WaitForExitAsync().WaitAsync(within);
            Process.WaitForExit(); // flush the output readers
            return Process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }
            Process.Dispose();
        }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public async Task A_bad_setting_stops_the_operator_with_a_clear_message_and_a_non_zero_exit()
    {
        await using var p = new OperatorProcess(["--Operator:Workers=0", "--Operator:Namespace=Not_A_Namespace", $"--Operator:Kubeconfig={cp.KubeconfigPath}"]);
        var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine(p.Output);
        Assert.Equal(2, code);
        Assert.Contains("invalid settings", p.Output);
        Assert.Contains("Workers", p.Output);
        Assert.Contains("Namespace must be a DNS label", p.Output);
    }

    [Fact]
    public async Task The_operator_leads_serves_health_and_metrics_and_shuts_down_cleanly_on_sigterm()
    {
        var crd = File.ReadAllText(Path.Combine(cp.ControlPlane.RepoRoot, "config", "crd", "netdiag.io_networkdiagnoses.yaml"));
        (await cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], crd)).EnsureSuccess("install the CRD");
        (await cp.ControlPlane.KubectlAsync(["wait", "--for=condition=Established", "crd/networkdiagnoses.netdiag.io", "--timeout=60s"])).EnsureSuccess("CRD established");
        var ns = Unique("op");
        cp.Kubectl("create", "namespace", ns).EnsureSuccess("create the operator namespace");
        var port = FreePort();
        var lease = Unique("lease");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        await using var p = new OperatorProcess([
            $"--Operator:Kubeconfig={cp.KubeconfigPath}", $"--Operator:Namespace={ns}", $"--Operator:LeaseName={lease}",
            "--Operator:Identity=op-under-test", $"--Operator:MetricsPort={port}", "--Operator:MetricsBindAddress=127.0.0.1",
            "--Operator:LeaseDuration=00:00:06", "--Operator:RenewDeadline=00:00:04", "--Operator:RetryPeriod=00:00:01"]);
        try
        {
            // ready as a standby first perhaps, then as the leader with synced caches
            await Eventually.True(() => Get(http, "/readyz") is (200, var body) && body.StartsWith("ok: leader") || p.Process.HasExited,
                "ready as the leader", TimeSpan.FromSeconds(90));
            Assert.False(p.Process.HasExited, p.Output);
            Assert.Equal(200, Get(http, "/healthz").Status);
            Assert.Equal("op-under-test",
                cp.Kubectl("get", "lease", lease, "-n", ns, "-o", "jsonpath={.spec.holderIdentity}").EnsureSuccess("lease").StdOut.Trim());

            // a diagnosis change reaches the reconcile loop
            var name = Unique("nd");
            (await cp.ControlPlane.KubectlAsync(["apply", "-f", "-"], $"apiVersion: netdiag.io/v1alpha1\nkind: NetworkDiagnosis\nmetadata: {{name: {name}}}\nspec: {{checks: [dnsLoop]}}\n"))
                .EnsureSuccess("create a diagnosis");
            await Eventually.True(() => Get(http, "/metrics").Body.Contains("netdiag_reconcile_total{controller=\"networkdiagnosis\""), "a reconcile", TimeSpan.FromSeconds(60));
            var metrics = Get(http, "/metrics").Body;
            output.WriteLine(metrics);
            Assert.Contains("netdiag_leader 1", metrics);
            Assert.Contains("netdiag_reconcile_duration_seconds_count{controller=\"networkdiagnosis\"}", metrics);
            Assert.Contains("netdiag_workqueue_depth{name=\"networkdiagnosis\"}", metrics);
            foreach (var resource in new[] { "networkdiagnoses", "nodes", "jobs", "pods" })
                Assert.Contains($"netdiag_informer_lists_total{{resource=\"{resource}\"}} 1\n", metrics); // one LIST each, no resync
            Assert.Equal(404, Get(http, "/nope").Status);
            cp.Kubectl("delete", "networkdiagnoses.netdiag.io", name, "--wait=false");

            p.Terminate();
            var code = await p.WaitForExitAsync(TimeSpan.FromSeconds(60));
            output.WriteLine(p.Output);
            Assert.Equal(0, code);
            Assert.Equal("", cp.Kubectl("get", "lease", lease, "-n", ns, "-o", "jsonpath={.spec.holderIdentity}").StdOut.Trim());
            // JSON console logs with the source-generated messages
            Assert.Contains("\"Message\":\"Leader election: op-under-test became leader of", p.Output);
            Assert.Contains("released the lease", p.Output);
        }
        finally
        {
            output.WriteLine(p.Output);
            cp.Kubectl("delete", "namespace", ns, "--wait=false");
        }
    }

    private static (int Status, string Body) Get(HttpClient http, string path)
    {
        try
        {
            using var r = http.GetAsync(path).GetAwaiter().GetResult();
            return ((int)r.StatusCode, r.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        }
        catch (HttpRequestException e)
        {
            return (0, e.Message);
        }
    }
}
