using NetDiag.Entities;

namespace NetDiag.Probes.Cli;

/// <summary>Command-line options. Parsing returns an error text instead of throwing.</summary>
public sealed record ProbeOptions
{
    public List<string>? Checks { get; init; }
    public string? HostRoot { get; init; }
    public string? PlanFile { get; init; }
    public string Output { get; init; } = "table";
    public string? TerminationLog { get; init; }
    public string? SecurityList { get; init; }
    public string? Node { get; init; }
    public string ProcRoot { get; init; } = "/proc";
    public string KmsgPath { get; init; } = "/dev/kmsg";
    public bool Help { get; init; }

    public const int UsageExitCode = 64;

    public const string Usage = """
        netdiag-probe: diagnose this node's network for Kubernetes (checks.md, node level).

        Usage:
          netdiag-probe [--checks a,b,...] [--host-root DIR] [--plan FILE] [--output table|json]
                        [--termination-log PATH] [--security-list FILE] [--node NAME]

        Options:
          --checks LIST           node checks to run (default: the plan's, else all):
                                  ipForward, bridgeNetfilter, flannelPort, podCidrReachability, dnsService,
                                  firewall, securitySoftware, conntrack, mtu, dnsLoop, kubeProxy
          --host-root DIR         where the host's files are (default "/" by hand, the plan's hostRoot with a plan)
          --plan FILE             probe plan JSON (else the NETDIAG_PROBE_PLAN environment variable);
                                  without a plan, checks that need peers or DNS targets report Unknown "no plan"
          --output table|json     table (default) for people; json prints the full report as one line
          --termination-log PATH  where to write the compact report (default /dev/termination-log when it exists)
          --security-list FILE    extra security-software signatures: [{"process":..,"vendor":..,"note":..}]
          --node NAME             node name for the report when there is no plan (default: hostname)
          --proc-root DIR         where /proc is (default /proc)
          -h, --help              this text

        Exit code: the worst check status: 0 Pass, 1 Warning, 2 Unknown, 3 Critical; 64 usage error.
        """;

    public static (ProbeOptions? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        var o = new ProbeOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string? inline = null;
            var eq = a.IndexOf('=');
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0) { inline = a[(eq + 1)..]; a = a[..eq]; }
            string? Value()
            {
                if (inline is not null) return inline;
                return i + 1 < args.Count ? args[++i] : null;
            }
            switch (a)
            {
                case "-h": case "--help": o = o with { Help = true }; break;
                case "--checks":
                {
                    var v = Value();
                    if (v is null) return (null, "--checks needs a comma-separated list");
                    var list = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
                    var unknown = list.Where(c => !CheckNames.NodeChecks.Contains(c)).ToList();
                    if (unknown.Count > 0)
                        return (null, $"not a node check: {string.Join(", ", unknown)} (valid: {string.Join(", ", CheckNames.NodeChecks)})");
                    o = o with { Checks = list };
                    break;
                }
                case "--host-root": o = o with { HostRoot = Value() ?? "" }; if (o.HostRoot!.Length == 0) return (null, "--host-root needs a directory"); break;
                case "--plan": o = o with { PlanFile = Value() ?? "" }; if (o.PlanFile!.Length == 0) return (null, "--plan needs a file"); break;
                case "--output":
                    var output = Value();
                    if (output is not ("table" or "json")) return (null, "--output must be table or json");
                    o = o with { Output = output };
                    break;
                case "--termination-log": o = o with { TerminationLog = Value() ?? "" }; if (o.TerminationLog!.Length == 0) return (null, "--termination-log needs a path"); break;
                case "--security-list": o = o with { SecurityList = Value() ?? "" }; if (o.SecurityList!.Length == 0) return (null, "--security-list needs a file"); break;
                case "--node": o = o with { Node = Value() ?? "" }; if (o.Node!.Length == 0) return (null, "--node needs a name"); break;
                case "--proc-root": o = o with { ProcRoot = Value() ?? "" }; if (o.ProcRoot.Length == 0) return (null, "--proc-root needs a directory"); break;
                case "--kmsg": o = o with { KmsgPath = Value() ?? "" }; break;
                default: return (null, $"unknown argument '{args[i]}'");
            }
        }
        return (o, null);
    }
}
