using System.Diagnostics;
using System.Text;

namespace NetDiag.EndToEnd.Tests;

/// <summary>
/// The operator as users run it: <c>dotnet netdiag-operator.dll</c> with a kubeconfig, in its own
/// process. Its output is kept for failure messages; dispose stops it with SIGTERM (then SIGKILL).
/// </summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private OperatorProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the operator wrote.</summary>
    public string Tail(int lines = 60)
    {
        lock (_output)
        {
            var all = _output.ToString().Split('\n');
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
    }

    public static OperatorProcess Start(string operatorDll, string kubeconfig, string @namespace, params string[] extraArgs)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(operatorDll);
        foreach (var a in new[]
                 {
                     "--Operator:LeaderElection=false", $"--Operator:Namespace={@namespace}", "--Operator:MetricsPort=0",
                     $"--Operator:Kubeconfig={kubeconfig}",
                 }.Concat(extraArgs))
            psi.ArgumentList.Add(a);
        psi.Environment["KUBECONFIG"] = kubeconfig;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        var process = new Process { StartInfo = psi };
        var op = new OperatorProcess(process);
        process.OutputDataReceived += (_, e) => op.Append(e.Data);
        process.ErrorDataReceived += (_, e) => op.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return op;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            // keep the tail only: a long run must not grow without bound
            if (_output.Length > 2_000_000) _output.Remove(0, 1_000_000);
            _output.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM: the operator's host shuts down cleanly (releases its lease, stops watches)
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }
}
