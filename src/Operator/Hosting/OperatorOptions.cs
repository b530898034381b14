using System.ComponentModel.DataAnnotations;

namespace NetDiag.Operator.Hosting;

/// <summary>
/// Operator settings (command line <c>--Operator:Name=value</c>, environment <c>NETDIAG_Operator__Name</c>).
/// Validated at start: a bad setting stops the process with a clear message instead of failing later.
/// </summary>
public sealed class OperatorOptions
{
    public const string Section = "Operator";

    /// <summary>Namespace the probe Jobs (and the leader-election Lease) live in.</summary>
    [Required] public string Namespace { get; set; } = "netdiag-system";

    /// <summary>Image of the probe program run by probe Jobs.</summary>
    [Required] public string ProbeImage { get; set; } = "netdiag-probe:dev";

    /// <summary>Command that runs the probe inside its image.</summary>
    public string ProbeCommand { get; set; } = "/usr/local/bin/netdiag-probe";

    /// <summary>Service account of the probe Jobs (no token is mounted).</summary>
    public string ProbeServiceAccount { get; set; } = "netdiag-probe";

    /// <summary>Auto-remediation master switch: off by default, whatever the diagnoses say.</summary>
    public bool EnableRemediation { get; set; }

    public bool LeaderElection { get; set; } = true;
    public string LeaseName { get; set; } = "netdiag-operator";

    /// <summary>Identity in the Lease; defaults to the host name plus a random suffix.</summary>
    public string? Identity { get; set; }

    /// <summary>Port for /healthz, /readyz and /metrics (0 disables).</summary>
    [Range(0, 65535)] public int MetricsPort { get; set; } = 8080;
    public string MetricsBindAddress { get; set; } = "0.0.0.0";

    /// <summary>Reconcile workers.</summary>
    [Range(1, 64)] public int Workers { get; set; } = 2;

    /// <summary>How often a Running diagnosis is re-examined while its probes are out.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);
}
