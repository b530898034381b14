using k8s;
using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Operator.Hosting;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Remediation;

/// <summary>What remediation did in one run, and what the reconcile must do next.</summary>
/// <param name="Records">One per planned action (Applied, Failed, Planned or Skipped), for <c>status.remediations</c>.</param>
/// <param name="RecheckChecks">Checks to re-run to verify the applied fixes (empty: nothing to verify).</param>
/// <param name="Jobs">Remediation Jobs (<c>namespace/name</c>) to wait for before the re-check starts.</param>
/// <param name="RecheckDelay">How long after applying to wait before re-checking (restarted pods need to come up).</param>
public sealed record RemediationOutcome(
    IReadOnlyList<RemediationRecord> Records,
    IReadOnlyList<string> RecheckChecks,
    IReadOnlyList<string> Jobs,
    TimeSpan RecheckDelay)
{
    public static readonly RemediationOutcome None = new([], [], [], TimeSpan.Zero);
}

/// <summary>
/// The one entry point of auto-remediation for the reconcile.
/// <code>
///   // after a run's findings are analysed, before status is written:
///   var findings = ActionableFinding.Group(scoped.Select(s => (s.Finding, s.Node, s.Object)));
///   var outcome  = await remediation.PlanAndApplyAsync(diagnosis, runId, findings, ct);
///   status.Remediations = outcome.Records;           // replace this run's records
///   if (outcome.RecheckChecks.Count > 0)
///       // when outcome.Jobs have finished and outcome.RecheckDelay has passed, start a follow-up
///       // run limited to outcome.RecheckChecks; when it finishes:
///       var r = RemediationVerification.Apply(status.Remediations, status.Findings, recheckFindings, outcome.RecheckChecks);
///       status.Remediations = r.Records; status.Findings = r.Findings;   // r.Resolved: fixed, verified
/// </code>
/// Mode Off or Suggest: returns <see cref="RemediationOutcome.None"/> at once, with no API call.
/// Auto: plans (pure), asks the API server which permissions the operator holds
/// (SelfSubjectAccessReview), applies the guard rails (pure), applies what passed, records an Event
/// (RemediationApplied / RemediationFailed) for each change or failure, and returns. Never throws
/// except on cancellation; calling it again for the same run changes nothing that was done.
/// </summary>
public sealed class RemediationCoordinator(IKubernetes client, IEventRecorder events, OperatorOptions options, TimeProvider time)
{
    private readonly RemediationExecutor executor = new(client, time);

    public async Task<RemediationOutcome> PlanAndApplyAsync(
        V1alpha1NetworkDiagnosis diagnosis,
        string runId,
        IReadOnlyList<ActionableFinding> findings,
        CancellationToken cancellationToken)
    {
        var settings = RemediationSettings.From(diagnosis.Spec, options.EnableRemediation);
        if (settings.Mode != RemediationModes.Auto)
            return RemediationOutcome.None;
        var plan = Order(RemediationPlanner.Plan(findings, diagnosis.Spec));
        if (plan.Count == 0)
            return RemediationOutcome.None;

        plan = await ResolveFlannelNamespaceAsync(plan, cancellationToken).ConfigureAwait(false);

        // Ask for permissions only for what the pure rails would let through: no API calls for
        // actions that are not allowed anyway, none at all when the operator switch is off.
        var provisional = RemediationPolicy.Decide(plan, settings);
        var toReview = provisional.Where(d => d.Verdict != RemediationVerdict.Skipped).Select(d => d.Action).ToList();
        var missing = toReview.Count == 0
            ? new Dictionary<string, IReadOnlyList<string>>()
            : await SelfSubjectAccessReviewer.MissingAsync(new SelfSubjectAccessReviewer(client), toReview, "kube-system", options.Namespace, cancellationToken).ConfigureAwait(false);
        var decisions = RemediationPolicy.Decide(plan, settings, missing);

        var context = new RemediationContext(
            diagnosis.Metadata.Name,
            diagnosis.Metadata.Uid ?? "",
            runId,
            options.Namespace,
            options.ProbeImage,
            options.ProbeServiceAccount,
            OwnerOf(diagnosis));

        var records = new List<RemediationRecord>();
        var recheck = new List<string>();
        var jobs = new List<string>();
        var delay = TimeSpan.Zero;
        var failedActions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var decision in decisions)
        {
            var action = decision.Action;
            if (decision.Verdict != RemediationVerdict.Apply)
            {
                records.Add(Unapplied(decision, settings.DryRun, runId));
                continue;
            }

            if (action.DependsOn is { } dependency && failedActions.Contains(dependency))
            {
                records.Add(Unapplied(decision with { Verdict = RemediationVerdict.Skipped, Message = $"Auto would {action.Description}, but it only follows {dependency}, which failed" }, false, runId));
                continue;
            }

            var result = await executor.ApplyAsync(action, context, cancellationToken).ConfigureAwait(false);
            records.Add(result.Record);
            if (result.Record.Result == RemediationResults.Failed)
            {
                failedActions.Add(action.Action);
                await EventAsync(diagnosis, EventTypes.Warning, Reasons.RemediationFailed, result.Record.Message, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (result.Changed)
                await EventAsync(diagnosis, EventTypes.Normal, Reasons.RemediationApplied, result.Record.Message, cancellationToken).ConfigureAwait(false);
            foreach (var check in action.Checks)
                if (!recheck.Contains(check, StringComparer.Ordinal))
                    recheck.Add(check);
            if (result.Job is { } job)
                jobs.Add(job);
            if (DelayAfter(action) is var d && d > delay)
                delay = d;
        }

        return new RemediationOutcome(records, recheck, jobs, delay);
    }

    /// <summary>Config patches first, then restarts that pick them up, then node Jobs.</summary>
    private static List<PlannedAction> Order(IReadOnlyList<PlannedAction> plan) =>
        plan.OrderBy(a => a.Action switch
        {
            ActionNames.PatchFlannelBackend => 0,
            ActionNames.PatchCorefileForward => 1,
            ActionNames.RestartCoreDns => 2,
            _ => 3,
        }).ToList();

    /// <summary>
    /// Restarted pods need time before a re-check means anything. A Corefile patched without a
    /// restart waits for the kubelet to refresh the mounted ConfigMap (up to about a minute) and
    /// CoreDNS's reload plugin (30 s).
    /// </summary>
    private static TimeSpan DelayAfter(PlannedAction action) => DelayAfter(action.Action);

    /// <summary>How long after applying <paramref name="action"/> its re-check waits (see <see cref="RemediationOutcome.RecheckDelay"/>).</summary>
    public static TimeSpan DelayAfter(string action) => action switch
    {
        ActionNames.PatchFlannelBackend => TimeSpan.FromSeconds(30),
        ActionNames.RestartCoreDns => TimeSpan.FromSeconds(30),
        ActionNames.PatchCorefileForward => TimeSpan.FromSeconds(90),
        _ => TimeSpan.Zero,
    };

    private async Task<List<PlannedAction>> ResolveFlannelNamespaceAsync(List<PlannedAction> plan, CancellationToken ct)
    {
        if (!plan.Any(a => a.Action == ActionNames.PatchFlannelBackend && a.FlannelNamespace is null))
            return plan;
        string? ns = null;
        try
        {
            ns = await executor.FindFlannelNamespaceAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // Forbidden or unreachable: the executor reports it when (if) it gets to act.
        }

        if (ns is null)
            return plan;
        return plan.Select(a => a.Action == ActionNames.PatchFlannelBackend && a.FlannelNamespace is null
            ? a with { FlannelNamespace = ns, Target = $"{ns}/configmap/{RemediationPermissions.FlannelConfigMap}" }
            : a).ToList();
    }

    private RemediationRecord Unapplied(PolicyDecision decision, bool dryRun, string runId) => new()
    {
        Action = decision.Action.Action,
        Target = decision.Action.Target,
        Time = time.GetUtcNow().UtcDateTime,
        DryRun = dryRun,
        Result = decision.Verdict == RemediationVerdict.Planned ? RemediationResults.Planned : RemediationResults.Skipped,
        Message = decision.Message,
        Run = runId,
    };

    private async Task EventAsync(V1alpha1NetworkDiagnosis diagnosis, string type, string reason, string? message, CancellationToken ct)
    {
        try
        {
            await events.RecordAsync(diagnosis, type, reason, message ?? reason, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // Events are best effort (IEventRecorder's contract); a broken recorder must not undo a fix.
        }
    }

    private static V1OwnerReference? OwnerOf(V1alpha1NetworkDiagnosis diagnosis) =>
        string.IsNullOrEmpty(diagnosis.Metadata.Uid)
            ? null
            : new V1OwnerReference
            {
                ApiVersion = V1alpha1NetworkDiagnosis.GroupVersion,
                Kind = V1alpha1NetworkDiagnosis.KubeKind,
                Name = diagnosis.Metadata.Name,
                Uid = diagnosis.Metadata.Uid,
                Controller = true,
                BlockOwnerDeletion = false,
            };
}
