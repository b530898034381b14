using System.Runtime.InteropServices;
using NetDiag.LabCluster;
using NetDiag.LabCluster.Faults;

// Composition only: parse the command line, bring the lab cluster up, wait for a signal, tear down.
return await LabCli.RunAsync(args);

/// <summary>The <c>netdiag-lab</c> command line.</summary>
internal static class LabCli
{
    private const string Usage = """
        usage:
          netdiag-lab up --kubeconfig PATH --probe PATH [--nodes N] [--faults LIST] [--name NAME] [--ready-file PATH]
              Brings up a lab cluster against the control plane in PATH: N network-namespace nodes
              (default 4) registered as Nodes, kube-system as a flannel cluster has it, and the lab
              kubelet running their pods. Stays in the foreground; Ctrl-C or SIGTERM removes
              everything it created. --ready-file is written once the cluster is ready.
              --probe: netdiag-probe.dll (run with dotnet) or a native netdiag-probe binary.
          netdiag-lab faults
              Lists the fault names for --faults (name or name:node, comma-separated,
              e.g. flannelPort:node-2,ipForward:node-3).
          netdiag-lab cleanup [--name PREFIX]
              Removes the namespaces and processes of crashed labs whose name starts with PREFIX.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        if (!TryParseOptions(args.Skip(1).ToArray(), out var opts, out var error))
        {
            Console.Error.WriteLine($"netdiag-lab: {error}\n\n{Usage}");
            return 2;
        }
        switch (args[0])
        {
            case "faults":
                foreach (var f in FaultNames.All) Console.WriteLine(f);
                return 0;
            case "cleanup":
                await NetDiag.Lab.LabCluster.CleanupStaleAsync(opts.GetValueOrDefault("name", "demo"));
                return 0;
            case "up":
                return await UpAsync(opts);
            default:
                Console.Error.WriteLine($"netdiag-lab: unknown command '{args[0]}'\n\n{Usage}");
                return 2;
        }
    }

    private static bool TryParseOptions(string[] args, out Dictionary<string, string> opts, out string error)
    {
        opts = new Dictionary<string, string>(StringComparer.Ordinal);
        error = "";
        var known = new[] { "kubeconfig", "probe", "nodes", "faults", "name", "ready-file" };
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) { error = $"unexpected argument '{a}'"; return false; }
            var eq = a.IndexOf('=');
            var key = eq > 0 ? a[2..eq] : a[2..];
            if (!known.Contains(key)) { error = $"unknown option --{key}"; return false; }
            string value;
            if (eq > 0) value = a[(eq + 1)..];
            else if (i + 1 < args.Length) value = args[++i];
            else { error = $"--{key} needs a value"; return false; }
            opts[key] = value;
        }
        return true;
    }

    private static async Task<int> UpAsync(Dictionary<string, string> opts)
    {
        if (!opts.TryGetValue("kubeconfig", out var kubeconfig) && Environment.GetEnvironmentVariable("KUBECONFIG") is not { Length: > 0 } kubeconfigEnv)
        {
            Console.Error.WriteLine("netdiag-lab: --kubeconfig (or KUBECONFIG) is required");
            return 2;
        }
        kubeconfig ??= Environment.GetEnvironmentVariable("KUBECONFIG")!;
        if (!opts.TryGetValue("probe", out var probe))
        {
            Console.Error.WriteLine("netdiag-lab: --probe PATH (netdiag-probe.dll or binary) is required");
            return 2;
        }
        var nodes = 4;
        if (opts.TryGetValue("nodes", out var n) && (!int.TryParse(n, out nodes) || nodes is < 1 or > 100))
        {
            Console.Error.WriteLine($"netdiag-lab: --nodes must be 1..100, was '{n}'");
            return 2;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; stop.Cancel(); });

        LabClusterEnvironment? env = null;
        var readyFile = opts.GetValueOrDefault("ready-file");
        try
        {
            env = await LabClusterEnvironment.StartAsync(new LabClusterOptions
            {
                KubeconfigPath = kubeconfig,
                ProbePath = probe,
                NodeCount = nodes,
                Name = opts.GetValueOrDefault("name", "demo"),
                Faults = opts.GetValueOrDefault("faults"),
                Log = line => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {line}"),
            }, stop.Token);
            var faults = env.Faults.Count == 0 ? "none" : string.Join(", ", env.Faults);
            Console.WriteLine($"lab cluster ready: {env.Topology.Nodes.Count} nodes ({string.Join(", ", env.Topology.Nodes.Select(x => x.Name))}); faults: {faults}");
            if (readyFile is not null) await File.WriteAllTextAsync(readyFile, faults + "\n");
            try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
            Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} stopping: removing the lab cluster");
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"netdiag-lab: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine("netdiag-lab: interrupted while starting; removing what was created");
            return 130;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"netdiag-lab: {e.GetType().Name}: {e.Message}");
            return 1;
        }
        finally
        {
            if (env is not null) await env.DisposeAsync();
            if (readyFile is not null) File.Delete(readyFile);
        }
    }
}
