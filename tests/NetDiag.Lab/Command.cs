using System.Diagnostics;

namespace NetDiag.Lab;

/// <summary>Runs host programs (ip, iptables, nsenter...) and captures their output.</summary>
internal static class Command
{
    /// <summary>Default budget of one command: generous, since 6 engineers share 2 cores.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task<LabExecResult> RunAsync(
        string file, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new LabExecResult(127, "", $"cannot start {file}: {e.Message}");
        }

        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program exited without reading its input; its exit code tells the story.
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync(CancellationToken.None);
            ct.ThrowIfCancellationRequested();
            return new LabExecResult(124, await stdout, (await stderr) + $"\n{file} timed out after {timeout ?? DefaultTimeout}");
        }
        return new LabExecResult(process.ExitCode, await stdout, await stderr);
    }

    public static Task<LabExecResult> RunAsync(string file, params string[] args) => RunAsync(file, (IEnumerable<string>)args);

    /// <summary>Runs and throws <see cref="LabException"/> on a non-zero exit.</summary>
    public static async Task<LabExecResult> MustAsync(
        string what, string file, IEnumerable<string> args, string? stdin = null, CancellationToken ct = default)
        => (await RunAsync(file, args, stdin, null, ct)).EnsureSuccess($"{what}: {file} {string.Join(' ', args)}");
}
