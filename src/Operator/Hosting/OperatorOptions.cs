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
    [Required, RegularExpression("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", ErrorMessage = "Namespace must be a DNS label (lowercase letters, digits, -)")]
    public string Namespace { get; set; } = "netdiag-system";

    /// <summary>Image of the probe program run by probe Jobs.</summary>
    [Required] public string ProbeImage { get; set; } = "netdiag-probe:dev";

    /// <summary>Command that runs the probe inside its image.</summary>
    public string ProbeCommand { get; set; } = "/usr/local/bin/netdiag-probe";

    /// <summary>Service account of the probe Jobs (no token is mounted).</summary>
    public string ProbeServiceAccount { get; set; } = "netdiag-probe";

    /// <summary>Auto-remediation master switch: off by default, whatever the diagnoses say.</summary>
    public bool EnableRemediation { get; set; }

    public bool LeaderElection { get; set; } = true;
    [Required, RegularExpression("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", ErrorMessage = "LeaseName must be a DNS subdomain name")]
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

    /// <summary>Kubeconfig file; unset: in-cluster config inside a pod, else $KUBECONFIG or ~/.kube/config.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>On SIGTERM, how long running reconciles may finish before they are cancelled.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Lease timings (client-go defaults): a standby takes over this long after the last renewal.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RenewDeadline { get; set; } = TimeSpan.FromSeconds(10);

    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan RetryPeriod { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Validates <see cref="OperatorOptions"/> from its DataAnnotations (source-generated, no reflection).</summary>
[Microsoft.Extensions.Options.OptionsValidator]
public sealed partial class OperatorOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<OperatorOptions>;
