using NetDiag.Entities;
using NetDiag.Entities.Api;

namespace NetDiag.Operator.Remediation;

/// <summary>Values of <c>RemediationRecord.Result</c> and <c>RemediationRecord.Recheck</c>.</summary>
public static class RemediationResults
{
    /// <summary>Dry run: what Auto would do; nothing changed.</summary>
    public const string Planned = "Planned";
    public const string Applied = "Applied";
    public const string Failed = "Failed";

    /// <summary>Auto would act but a guard rail (or a missing fact) stopped it; the message says which.</summary>
    public const string Skipped = "Skipped";

    public const string RecheckPending = "Pending";
    public const string RecheckPassed = "Passed";
    public const string RecheckStillFailing = "StillFailing";
}

/// <summary>The remediation settings of one reconcile: the diagnosis' policy plus the operator's switch.</summary>
public sealed record RemediationSettings(string Mode, IReadOnlyCollection<string> AllowedActions, bool DryRun, bool OperatorEnabled)
{
    public static RemediationSettings From(NetworkDiagnosisSpec spec, bool operatorEnabled) => new(
        RemediationPolicy.ModeOf(spec.Remediation),
        spec.Remediation?.Actions ?? [],
        spec.Remediation?.DryRun ?? false,
        operatorEnabled);
}

public enum RemediationVerdict
{
    /// <summary>Every guard rail holds: the executor applies it.</summary>
    Apply,

    /// <summary>Dry run: reported as what Auto would do.</summary>
    Planned,

    /// <summary>Not done; the message says exactly why.</summary>
    Skipped,
}

/// <summary>The guard rails' verdict on one planned action.</summary>
public sealed record PolicyDecision(PlannedAction Action, RemediationVerdict Verdict, string Message);

/// <summary>
/// The guard rails (api.md "Auto-remediation guard rails"), pure. Auto acts only when all hold:
/// <list type="number">
/// <item><c>spec.remediation.mode</c> is Auto (Off: no remediation text at all; Suggest, the
/// default: text only, no records);</item>
/// <item>the action can be done at all (the facts it needs were found);</item>
/// <item>the finding's check is not one Auto never touches (<see cref="NeverActChecks"/>);</item>
/// <item>the action is in <c>spec.remediation.actions</c>;</item>
/// <item>an action it follows (restartCoreDNS after patchCorefileForward) goes ahead too;</item>
/// <item>not <c>dryRun</c> (a dry run reports Planned, with what a real run would still lack);</item>
/// <item>the operator runs with <c>--Operator:EnableRemediation=true</c>;</item>
/// <item>the operator's service account holds the permissions the action needs, i.e. the separate
/// remediation ClusterRole is bound (checked at run time by SelfSubjectAccessReview).</item>
/// </list>
/// Anything short of all of them yields a Skipped record whose message names what Auto would have
/// done and the first rail that stopped it, so the user knows exactly what to change.
/// </summary>
public static class RemediationPolicy
{
    public const string OperatorFlag = "--Operator:EnableRemediation=true";
    public const string RemediationClusterRole = "netdiag-remediation";

    /// <summary>Checks whose findings are never acted on: no safe automatic fix exists (checks.md).</summary>
    public static readonly IReadOnlySet<string> NeverActChecks = new HashSet<string>(StringComparer.Ordinal)
    {
        CheckNames.Firewall, CheckNames.SecuritySoftware, CheckNames.PodCidrOverlap,
    };

    /// <summary>The effective mode: Suggest when unset or unrecognised (the API default).</summary>
    public static string ModeOf(RemediationSpec? spec) =>
        spec?.Mode is { } m && RemediationModes.All.Contains(m, StringComparer.Ordinal) ? m : RemediationModes.Suggest;

    /// <summary>Whether findings carry remediation text (everything but Off).</summary>
    public static bool ShowsRemediationText(RemediationSpec? spec) => ModeOf(spec) != RemediationModes.Off;

    /// <summary>Whether this diagnosis produces remediation records at all (Auto only).</summary>
    public static bool IsAuto(RemediationSpec? spec) => ModeOf(spec) == RemediationModes.Auto;

    /// <param name="plan">What would be done, from <see cref="RemediationPlanner"/>, in execution order.</param>
    /// <param name="settings">Mode, allowlist, dry run, operator switch.</param>
    /// <param name="missingPermissions">Per action, the permissions the operator lacks (empty: has all);
    /// an action absent from the map was not checked and is not held back for permissions.</param>
    public static IReadOnlyList<PolicyDecision> Decide(
        IReadOnlyList<PlannedAction> plan,
        RemediationSettings settings,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? missingPermissions = null)
    {
        if (settings.Mode != RemediationModes.Auto)
            return [];

        var decisions = new List<PolicyDecision>(plan.Count);
        foreach (var action in plan)
            decisions.Add(DecideOne(action, settings, missingPermissions, decisions));
        return decisions;
    }

    private static PolicyDecision DecideOne(
        PlannedAction a,
        RemediationSettings settings,
        IReadOnlyDictionary<string, IReadOnlyList<string>>? missingPermissions,
        IReadOnlyList<PolicyDecision> earlier)
    {
        PolicyDecision Skip(string why) => new(a, RemediationVerdict.Skipped, $"Auto would {a.Description}, but {why}");

        if (a.Impossible is not null)
            return new(a, RemediationVerdict.Skipped, $"Auto cannot {a.Description}: {a.Impossible}");

        var never = a.Checks.Where(NeverActChecks.Contains).ToList();
        if (never.Count > 0)
            return new(a, RemediationVerdict.Skipped, $"Auto never acts on {string.Join(", ", never)} findings: fix them by hand as the remediation says");

        if (!settings.AllowedActions.Contains(a.Action, StringComparer.Ordinal))
            return Skip($"{a.Action} is not in spec.remediation.actions");

        if (a.DependsOn is { } dependency)
        {
            var before = earlier.FirstOrDefault(d => d.Action.Action == dependency);
            if (before is null || before.Verdict == RemediationVerdict.Skipped)
                return Skip($"it only follows {dependency}, which {(before is null ? "is not planned" : "was skipped")}");
        }

        var missing = missingPermissions?.GetValueOrDefault(a.Action) ?? [];
        if (settings.DryRun)
        {
            var lacking = new List<string>();
            if (!settings.OperatorEnabled)
                lacking.Add(OperatorFlag);
            if (missing.Count > 0)
                lacking.Add($"the {RemediationClusterRole} ClusterRole ({string.Join("; ", missing)})");
            var note = lacking.Count == 0 ? "" : $" (a real run would also need {string.Join(" and ", lacking)})";
            return new(a, RemediationVerdict.Planned, $"Dry run: Auto would {a.Description}{note}");
        }

        if (!settings.OperatorEnabled)
            return Skip($"the operator runs without {OperatorFlag}");

        if (missing.Count > 0)
            return Skip($"the operator may not {string.Join("; ", missing)}: bind the {RemediationClusterRole} ClusterRole to its service account");

        return new(a, RemediationVerdict.Apply, $"Auto will {a.Description}");
    }
}
