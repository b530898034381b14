using System.Diagnostics;
using System.Text;

namespace NetDiag.Lab;

/// <summary>
/// A long-lived program started inside a node (or a pod of it) through <c>nsenter</c>. The lab
/// kills it on dispose. <see cref="HostPid"/> is the program itself (not the nsenter parent) as
/// the test host sees it; <see cref="NodePid"/> is the PID the node's own process list shows.
/// </summary>
public sealed class LabProcess
{
    private readonly Process _launcher;
    private readonly StringBuilder _output = new();
    private int _stopped;

    private LabProcess(string description, Process launcher, int hostPid)
    {
        Description = description;
        _launcher = launcher;
        HostPid = hostPid;
        NodePid = ProcFs.InnermostPid(hostPid) ?? hostPid;
    }

    /// <summary>The command line, for messages.</summary>
    public string Description { get; }

    /// <summary>PID of the program in the test host's PID namespace.</summary>
    public int HostPid { get; }

    /// <summary>PID of the program inside its node's PID namespace.</summary>
    public int NodePid { get; }

    /// <summary>True while the program runs.</summary>
    public bool IsRunning => !_launcher.HasExited && ProcFs.IsAlive(HostPid);

    /// <summary>What the program wrote so far (stdout and stderr interleaved, capped at 64 KiB).</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>
    /// Starts <paramref name="file"/> (nsenter, or ip for the node holders), which forks once to
    /// enter a PID namespace; waits until that child's command name satisfies
    /// <paramref name="ready"/> (it has been exec'd), so callers can rely on the process being there.
    /// </summary>
    internal static async Task<LabProcess> StartAsync(
        string description, string file, IReadOnlyList<string> args, Func<string, bool> ready, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var launcher = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var early = new StringBuilder();
        launcher.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (early) early.AppendLine(e.Data); };
        launcher.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (early) early.AppendLine(e.Data); };
        launcher.Start();
        launcher.BeginOutputReadLine();
        launcher.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (launcher.HasExited)
            {
                await launcher.WaitForExitAsync(CancellationToken.None);
                string text;
                lock (early) text = early.ToString();
                throw new LabException($"{description} exited at once (exit {launcher.ExitCode}): {text}");
            }
            var child = ProcFs.Children(launcher.Id).FirstOrDefault();
            if (child > 0 && ProcFs.Comm(child) is { } comm && ready(comm))
            {
                var p = new LabProcess(description, launcher, child);
                lock (early) p._output.Append(early);
                launcher.OutputDataReceived += (_, e) => p.Append(e.Data);
                launcher.ErrorDataReceived += (_, e) => p.Append(e.Data);
                return p;
            }
            if (DateTime.UtcNow > deadline)
            {
                try { launcher.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new LabException($"{description} did not start within 20 s.");
            }
            await Task.Delay(10, ct);
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            if (_output.Length < 64 * 1024) _output.AppendLine(line);
        }
    }

    /// <summary>Kills the program (SIGKILL) and waits until its nsenter parent has gone too.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        // While the launcher lives, HostPid is its unreaped child: the PID cannot have been reused.
        if (!_launcher.HasExited) ProcFs.Kill(HostPid);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _launcher.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { _launcher.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        _launcher.Dispose();
    }
}
