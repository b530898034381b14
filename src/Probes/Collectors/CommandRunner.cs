using System.Diagnostics;

namespace NetDiag.Probes.Collectors;

/// <summary>What a command printed and how it ended.</summary>
public sealed record CommandOutput(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs a node tool (iptables-save, ip) with a timeout; a missing tool is a failure record.</summary>
public static class CommandRunner
{
    private static readonly string[] SearchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"];

    /// <summary>The tool's full path, or null when it is not installed.</summary>
    public static string? Locate(string file)
    {
        if (file.Contains('/')) return File.Exists(file) ? file : null;
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [];
        foreach (var dir in path.Concat(SearchPath))
        {
            var candidate = Path.Combine(dir, file);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public static async Task<Gathered<CommandOutput>> RunAsync(string file, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var exe = Locate(file);
        if (exe is null) return Gathered<CommandOutput>.Fail($"{file} not found (tool absent)");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Tools print in the C locale, which is what the parsers expect.
        psi.Environment["LC_ALL"] = "C";
        using var process = new Process { StartInfo = psi };
        try
        {
            if (!process.Start()) return Gathered<CommandOutput>.Fail($"{file} did not start");
        }
        catch (Exception e)
        {
            return Gathered<CommandOutput>.Fail($"{file}: {e.Message}");
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (Exception) { /* already gone */ }
            return Gathered<CommandOutput>.Fail($"{file} timed out after {timeout.TotalMilliseconds:0} ms");
        }
        return Gathered<CommandOutput>.Of(new CommandOutput(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false)));
    }
}
