using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetDiag.Testing;

/// <summary>The outcome of a command: exit code and the captured output.</summary>
public readonly record struct CommandResult(int ExitCode, string StdOut, string StdErr)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws with the command's output when it failed; returns this otherwise.</summary>
    public CommandResult EnsureSuccess(string what)
    {
        if (ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{what} failed with exit code {ExitCode}.\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}");
        }
        return this;
    }
}

/// <summary>Thrown when the control plane cannot be built, started or controlled.</summary>
public sealed class ControlPlaneException(string message) : Exception(message);

/// <summary>Where and how to run the control plane. Unset members get safe defaults.</summary>
public sealed record ControlPlaneOptions
{
    /// <summary>
    /// State directory (PKI, etcd data, logs, PIDs, kubeconfig). Default: a directory per test
    /// process under the temp folder, so test assemblies running in parallel never share (or
    /// stop) each other's control plane.
    /// </summary>
    public string? StateDir { get; init; }

    /// <summary>
    /// Ports on 127.0.0.1. 0 (the default) = a free port chosen at random below the kernel's
    /// ephemeral range (so parallel test processes do not collide and restarts can always rebind).
    /// </summary>
    public int ApiServerPort { get; init; }
    public int EtcdPort { get; init; }
    public int EtcdPeerPort { get; init; }
    public int ControllerManagerPort { get; init; }

    /// <summary>Budget for <c>build</c> (about 4-5 minutes the first time on 2 cores; seconds when cached).</summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Budget for <c>up</c>, <c>down</c> and the apiserver commands.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Progress lines of the script (build heartbeat, readiness). Also written to stderr.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// A real Kubernetes 1.20 control plane (etcd, kube-apiserver, kube-controller-manager; no
/// kubelet) on 127.0.0.1, driven through <c>hack/controlplane/controlplane.sh</c>.
/// Jobs get Pods (they stay Pending), garbage collection, CRDs and RBAC work as in a cluster.
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    private const string StateDirPrefix = "netdiag-cp-test-";
    private readonly ControlPlaneOptions _options;
    private readonly Dictionary<string, string> _env;
    private int _disposed;

    private ControlPlane(string repoRoot, string stateDir, Dictionary<string, string> env, ControlPlaneOptions options)
    {
        RepoRoot = repoRoot;
        StateDir = stateDir;
        _env = env;
        _options = options;
        ScriptPath = Path.Combine(repoRoot, "hack", "controlplane", "controlplane.sh");
        KubeconfigPath = Path.Combine(stateDir, "kubeconfig");
        ApiServerPort = int.Parse(env["NETDIAG_APISERVER_PORT"]);
    }

    /// <summary>The repository root (holds NetDiag.Operator.sln or .git).</summary>
    public string RepoRoot { get; }

    public string ScriptPath { get; }

    public string StateDir { get; }

    /// <summary>An admin (system:masters) kubeconfig with embedded credentials.</summary>
    public string KubeconfigPath { get; }

    public int ApiServerPort { get; }

    public Uri ApiServerUrl => new($"https://127.0.0.1:{ApiServerPort}");

    /// <summary>
    /// Builds (or takes from the cache) kube-apiserver/kube-controller-manager and starts the
    /// control plane. Throws <see cref="ControlPlaneException"/> with the script output and the
    /// components' log tails if anything fails: never silently skips.
    /// </summary>
    public static async Task<ControlPlane> StartAsync(ControlPlaneOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ControlPlaneOptions();
        var repoRoot = FindRepoRoot();
        var stateDir = options.StateDir
            ?? Path.Combine(Path.GetTempPath(), StateDirPrefix + Environment.ProcessId);

        var env = new Dictionary<string, string>
        {
            ["NETDIAG_CP_DIR"] = stateDir,
            ["NETDIAG_APISERVER_PORT"] = PortOrFree(options.ApiServerPort).ToString(),
            ["NETDIAG_ETCD_PORT"] = PortOrFree(options.EtcdPort).ToString(),
            ["NETDIAG_ETCD_PEER_PORT"] = PortOrFree(options.EtcdPeerPort).ToString(),
            ["NETDIAG_KCM_PORT"] = PortOrFree(options.ControllerManagerPort).ToString(),
        };
        var cp = new ControlPlane(repoRoot, stateDir, env, options);
        if (!File.Exists(cp.ScriptPath))
        {
            throw new ControlPlaneException($"{cp.ScriptPath} not found (repository root {repoRoot}).");
        }

        await CleanUpStaleStateDirsAsync(cp, cancellationToken).ConfigureAwait(false);

        var sw = Stopwatch.StartNew();
        await cp.RunScriptAsync("build", options.BuildTimeout, cancellationToken).ConfigureAwait(false);
        var built = sw.Elapsed;
        try
        {
            await cp.RunScriptAsync("up", options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // do not leave half a control plane behind; the exception already carries the logs
            await cp.TryDownAsync().ConfigureAwait(false);
            throw;
        }
        cp.Log($"control plane ready at {cp.ApiServerUrl} (build {built.TotalSeconds:F0}s, up {(sw.Elapsed - built).TotalSeconds:F0}s); KUBECONFIG={cp.KubeconfigPath}");
        return cp;
    }

    /// <summary>Stops kube-apiserver and starts it again with the same arguments; waits for /readyz.</summary>
    public Task RestartApiServerAsync(CancellationToken cancellationToken = default)
        => RunScriptAsync("restart-apiserver", _options.CommandTimeout, cancellationToken);

    /// <summary>Stops kube-apiserver only (etcd and the controller-manager keep running).</summary>
    public Task StopApiServerAsync(CancellationToken cancellationToken = default)
        => RunScriptAsync("stop-apiserver", _options.CommandTimeout, cancellationToken);

    /// <summary>Starts kube-apiserver again after <see cref="StopApiServerAsync"/>; waits for /readyz.</summary>
    public Task StartApiServerAsync(CancellationToken cancellationToken = default)
        => RunScriptAsync("start-apiserver", _options.CommandTimeout, cancellationToken);

    /// <summary>Runs <c>kubectl --kubeconfig KubeconfigPath args...</c>.</summary>
    public CommandResult Kubectl(params string[] args)
        => KubectlAsync(args).GetAwaiter().GetResult();

    /// <summary>
    /// Runs kubectl against this control plane, optionally feeding <paramref name="stdin"/> (e.g.
    /// for <c>apply -f -</c>). Killed after 5 minutes as a hang guard; pass kubectl's own
    /// <c>--request-timeout</c> / <c>--timeout</c> for tighter limits.
    /// </summary>
    public Task<CommandResult> KubectlAsync(IEnumerable<string> args, string? stdin = null, CancellationToken cancellationToken = default)
    {
        var all = new List<string> { "--kubeconfig", KubeconfigPath };
        all.AddRange(args);
        return RunAsync("kubectl", all, new Dictionary<string, string>(), stdin, TimeSpan.FromMinutes(5), null, cancellationToken);
    }

    /// <summary>The last lines of a component's log: etcd, kube-apiserver or kube-controller-manager.</summary>
    public string LogTail(string component, int lines = 40)
    {
        var path = Path.Combine(StateDir, "logs", component + ".log");
        if (!File.Exists(path))
        {
            return $"({path} does not exist)";
        }
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException e)
        {
            return $"({path}: {e.Message})";
        }
    }

    /// <summary>Stops every process (by recorded PID) and deletes the state directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await RunScriptAsync("down", _options.CommandTimeout, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task TryDownAsync()
    {
        try
        {
            await RunScriptAsync("down", _options.CommandTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log($"down after a failed start also failed: {e.Message}");
        }
    }

    private async Task RunScriptAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await RunAsync("bash", [ScriptPath, command], _env, null, timeout, Log, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            var sb = new StringBuilder();
            sb.Append($"controlplane.sh {command} failed with exit code {result.ExitCode} (state dir {StateDir}).\n");
            sb.Append("--- script output ---\n").Append(result.StdErr).Append(result.StdOut);
            foreach (var component in new[] { "etcd", "kube-apiserver", "kube-controller-manager" })
            {
                sb.Append($"\n--- {component} log (tail) ---\n").Append(LogTail(component, 25));
            }
            throw new ControlPlaneException(sb.ToString());
        }
    }

    private void Log(string line)
    {
        _options.Log?.Invoke(line);
        Console.Error.WriteLine(line);
    }

    private static async Task<CommandResult> RunAsync(
        string fileName,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string> env,
        string? stdin,
        TimeSpan timeout,
        Action<string>? onStdErrLine,
        CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }

        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout) { stdout.AppendLine(e.Data); }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr) { stderr.AppendLine(e.Data); }
                onStdErrLine?.Invoke(e.Data);
            }
        };
        try
        {
            process.Start();
        }
        catch (Exception e)
        {
            throw new ControlPlaneException($"cannot start {fileName}: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // the process exited without reading its input; its exit code and output tell why
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            var why = cancellationToken.IsCancellationRequested ? "was cancelled" : $"timed out after {timeout}";
            string so, se;
            lock (stdout) { so = stdout.ToString(); }
            lock (stderr) { se = stderr.ToString(); }
            throw new ControlPlaneException($"{fileName} {string.Join(' ', psi.ArgumentList)} {why}.\n--- stdout ---\n{so}\n--- stderr ---\n{se}");
        }
        process.WaitForExit(); // flush the async output readers
        lock (stdout)
        lock (stderr)
        {
            return new CommandResult(process.ExitCode, stdout.ToString(), stderr.ToString());
        }
    }

    /// <summary>Walks up from the test binaries to the folder holding NetDiag.Operator.sln or .git.</summary>
    public static string FindRepoRoot()
    {
        var fromEnv = Environment.GetEnvironmentVariable("NETDIAG_REPO_ROOT");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NetDiag.Operator.sln"))
                || Directory.Exists(Path.Combine(dir.FullName, ".git"))
                || File.Exists(Path.Combine(dir.FullName, ".git")))
            {
                return dir.FullName;
            }
        }
        throw new ControlPlaneException(
            $"cannot find the repository root (NetDiag.Operator.sln or .git) above {AppContext.BaseDirectory}; set NETDIAG_REPO_ROOT.");
    }

    private static readonly HashSet<int> PortsHandedOut = [];

    /// <summary>
    /// A free loopback port BELOW the kernel's ephemeral range: a port inside it (what binding to
    /// port 0 returns) can be taken as the source port of any outgoing connection while
    /// kube-apiserver is down, and then its restart fails with "address already in use".
    /// </summary>
    private static int PortOrFree(int port)
    {
        if (port != 0)
        {
            return port;
        }
        var ephemeralLow = 32768;
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            ephemeralLow = int.Parse(range[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // keep Linux's default
        }
        // 20000.. stays clear of the script's defaults (16443, 16457, 23790, 23800 are below or
        // skipped) and of well-known Kubernetes ports (10250-10259, 2379-2380, 6443).
        const int low = 20000;
        var high = Math.Max(low + 1000, ephemeralLow - 1);
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var candidate = Random.Shared.Next(low, high);
            if (candidate is 23790 or 23800)
            {
                continue;
            }
            lock (PortsHandedOut)
            {
                if (PortsHandedOut.Contains(candidate))
                {
                    continue;
                }
            }
            try
            {
                var listener = new TcpListener(IPAddress.Loopback, candidate);
                listener.Start();
                listener.Stop();
            }
            catch (SocketException)
            {
                continue;
            }
            lock (PortsHandedOut)
            {
                PortsHandedOut.Add(candidate);
            }
            return candidate;
        }
        throw new ControlPlaneException($"no free loopback port found between {low} and {high}");
    }

    /// <summary>
    /// Control planes left behind by test processes that died without DisposeAsync (crash,
    /// kill): stop them (by their recorded PIDs, through the script) and delete their state.
    /// </summary>
    private static async Task CleanUpStaleStateDirsAsync(ControlPlane cp, CancellationToken cancellationToken)
    {
        string[] dirs;
        try
        {
            dirs = Directory.GetDirectories(Path.GetTempPath(), StateDirPrefix + "*");
        }
        catch (IOException)
        {
            return;
        }
        foreach (var dir in dirs)
        {
            if (!int.TryParse(Path.GetFileName(dir)[StateDirPrefix.Length..], out var owner)
                || owner == Environment.ProcessId
                || IsAlive(owner))
            {
                continue;
            }
            cp.Log($"stopping a control plane left behind by dead process {owner}: {dir}");
            // Best effort: a leftover whose daemons still hold its lock (started by a script
            // version that leaked the lock fd) would make `down` wait on flock for 2 x TIMEOUT;
            // a short TIMEOUT and a caught failure keep one stuck leftover from failing every
            // later test run's start.
            var env = new Dictionary<string, string> { ["NETDIAG_CP_DIR"] = dir, ["NETDIAG_CP_TIMEOUT"] = "10" };
            try
            {
                var result = await RunAsync("bash", [cp.ScriptPath, "down"], env, null, TimeSpan.FromSeconds(60), cp.Log, cancellationToken)
                    .ConfigureAwait(false);
                if (result.ExitCode != 0)
                {
                    cp.Log($"could not clean up {dir}: {result.StdErr}");
                }
            }
            catch (ControlPlaneException e) when (!cancellationToken.IsCancellationRequested)
            {
                cp.Log($"could not clean up {dir}: {e.Message}");
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
