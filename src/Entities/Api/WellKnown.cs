namespace NetDiag.Entities.Api;

/// <summary>Labels, annotations, condition types, reasons and Event reasons, spelled once.</summary>
public static class WellKnown
{
    public const string LabelDiagnosis = "netdiag.io/diagnosis";
    public const string LabelRun = "netdiag.io/run";
    public const string LabelNode = "netdiag.io/node";
    public const string LabelComponent = "app.kubernetes.io/component";
    public const string LabelManagedBy = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "netdiag-operator";
    public const string ComponentProbe = "probe";
    public const string ComponentRemediation = "remediation";

    /// <summary>Annotation holding the previous value of a patched config, for rollback.</summary>
    public const string AnnotationPreviousPrefix = "netdiag.io/previous-";

    public const string FieldManager = "netdiag-operator";
}

public static class ConditionTypes
{
    public const string Ready = "Ready";
    public const string Healthy = "Healthy";
    public const string Remediated = "Remediated";
}

public static class Reasons
{
    public const string InvalidSpec = "InvalidSpec";
    public const string RunCompleted = "RunCompleted";
    public const string Running = "Running";
    public const string FindingDetected = "FindingDetected";
    public const string ProbeFailed = "ProbeFailed";
    public const string NoFindings = "NoFindings";
    public const string FindingsPresent = "FindingsPresent";
    public const string RemediationApplied = "RemediationApplied";
    public const string RemediationFailed = "RemediationFailed";
    public const string Suspended = "Suspended";
}
