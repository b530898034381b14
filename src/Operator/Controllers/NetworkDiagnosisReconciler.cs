using FluentValidation;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Validation;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Hosting;
using NetDiag.Operator.Kubernetes;
using NetDiag.Operator.Planning;
using NetDiag.Operator.Remediation;
using NetDiag.Operator.Runtime;
using NetDiag.Operator.Runtime.Metrics;
using NetDiag.Operator.Status;

namespace NetDiag.Operator.Controllers;

/// <summary>
/// Reconciles one NetworkDiagnosis, top to bottom (style.md): read, validate, gather, decide, act,
/// analyse, write status, requeue. Decisions live in Planning/, Checks/ and Status/; this class
/// only orchestrates them and the I/O ports. Level-triggered: any number of runs converge.
/// </summary>
public sealed partial class NetworkDiagnosisReconciler(
    IResourceCache<V1alpha1NetworkDiagnosis> diagnoses,
    IResourceCache<V1Node> nodes,
    IResourceCache<V1Job> jobs,
    IResourceCache<V1Pod> pods,
    RunFactsCache facts,
    IProbeJobClient jobClient,
    IDiagnosisStatusWriter statusWriter,
    IEventRecorder events,
    IValidator<V1alpha1NetworkDiagnosis> validator,
    JobExpectations expectations,
    IOptions<OperatorOptions> options,
    TimeProvider time,
    ILogger<NetworkDiagnosisReconciler> logger,
    OperatorMetrics? metrics = null,
    RemediationCoordinator? remediation = null) : IReconciler<V1alpha1NetworkDiagnosis>
{
    private static readonly IReadOnlyDictionary<string, LogReadResult> NoLogs = new Dictionary<string, LogReadResult>();
    private readonly StatusMemory _written = new();

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
    {
        var opts = options.Value;
        if (!diagnoses.HasSynced || !nodes.HasSynced || !jobs.HasSynced || !pods.HasSynced)
            return ReconcileResult.After(TimeSpan.FromSeconds(1));

        // 1. Read by key: gone (or going) means done; owner references clean up its Jobs.
        var cached = diagnoses.Get(key);
        if (cached is null || cached.Metadata.DeletionTimestamp is not null)
            return ReconcileResult.Done;
        var d = _written.Overlay(cached);
        var uid = d.Metadata.Uid ?? key.Name;
        var now = Seconds(time.GetUtcNow());
        using var scope = logger.BeginScope("diagnosis {Diagnosis} generation {Generation}", key.Name, d.Metadata.Generation);

        // 2. Validate: invalid means phase Invalid, Ready=False/InvalidSpec, one Event, no Jobs, no retry.
        var validation = validator.Validate(d);
        if (validation.HasErrors())
        {
            LogInvalid(key.Name, validation.ToConditionMessage());
            await PublishAsync(d, StatusCalculator.ForInvalidSpec(d, validation.ToConditionMessage(), now), ct);
            return ReconcileResult.Done; // a spec edit bumps the generation and queues it again
        }

        // 3. Plan: which run, if any (SchedulePlanner: one run per generation without a schedule;
        //    never two runs alive; a missed schedule runs once).
        var owned = OwnedJobs(d, opts.Namespace);
        var liveRuns = owned.Where(j => IsProbe(j) && !LaunchPlanner.IsFinished(j)).Select(RunOf)
                            .Where(r => r.Length > 0).Distinct().ToList();
        var decision = SchedulePlanner.Decide(ScheduleState.From(d, liveRuns), now);
        var status = d.Status;
        string runId;
        DateTimeOffset runStart, lastRunTime;
        switch (decision.Action)
        {
            case ScheduleAction.Invalid:
                await PublishAsync(d, StatusCalculator.ForInvalidSpec(d, decision.Message, now), ct);
                return ReconcileResult.Done;
            case ScheduleAction.Supersede:
                return await SupersedeAsync(d, decision, owned, now, ct);
            case ScheduleAction.RunNow:
                (runId, runStart, lastRunTime) = (decision.RunId!, now, decision.Slot ?? now);
                LogRunStarted(key.Name, runId, decision.Message);
                break;
            case ScheduleAction.Busy when RunInProgress(status, decision.RunId!, owned) is { } start:
                (runId, runStart, lastRunTime) = (decision.RunId!, start, ToOffset(status?.LastRunTime) ?? start);
                break;
            default:
                return await BetweenRunsAsync(d, decision, owned, now, ct);
        }

        // 4.-6. Probe: Jobs created and read under maxConcurrentProbes until every node settled.
        var settings = RunSettings.From(d.Spec);
        var run = await ProbeAsync(d, runId, runStart, d.Spec.Checks, owned, now, ct);

        // 7. Remediate a completed run (Auto only; guard rails inside; idempotent per run).
        var outcome = RemediationOutcome.None;
        if (run.Complete && remediation is not null)
            outcome = await remediation.PlanAndApplyAsync(d, runId,
                ActionableFinding.Group(run.Findings.Select(f => (f.Finding, f.Node, f.Object))), ct);

        // 8. One pure function computes the status; written only if it changed; Events on transitions.
        status = StatusCalculator.ForRun(new RunStatusInput
        {
            Diagnosis = d,
            Now = now,
            RunId = runId,
            RunStart = runStart,
            Complete = run.Complete,
            NodesSelected = run.NodesSelected,
            NodesReported = run.NodesReported,
            ProbesNeeded = run.Selection.NodeChecks.Count > 0,
            ChecksRun = run.Selection.Checks,
            Skipped = run.Selection.Skipped,
            Findings = run.Findings,
            PodNodes = run.PodNodes,
            RemediationMode = settings.RemediationMode,
            HistoryLimit = settings.HistoryLimit,
            LastRunTime = lastRunTime,
            NextRunTime = decision.NextRunTime,
        });
        if (run.Complete)
        {
            status.Remediations = RemediationStatus.Merge(status.Remediations, outcome.Records, runId, (status.History ?? []).Select(h => h.Run));
            status.Findings = RemediationStatus.Explain(status.Findings ?? [], outcome.Records);
            RemediationStatus.WithRemediated(status, RemediationStatus.Verdict(settings.RemediationMode, status.Remediations, runId), now);
        }
        var changed = await PublishAsync(d, status, ct);
        if (run.Complete)
        {
            facts.Forget(uid);
            expectations.Forget(uid);
            if (changed)
            {
                RecordRunMetrics(d.Metadata.Name, status, run.Outcomes);
                LogRunCompleted(key.Name, runId, status.Message ?? "");
            }
            // Applied fixes are re-checked from BetweenRunsAsync; a schedule wakes up for its next slot.
            if (outcome.RecheckChecks.Count > 0)
                return ReconcileResult.After(opts.PollInterval);
            return decision.RequeueAfter(now) is { } wake ? ReconcileResult.After(wake) : ReconcileResult.Done;
        }

        // 9. A finite requeue: poll while probes are out, but wake up for the deadline.
        var untilDeadline = run.Deadline - now + TimeSpan.FromMilliseconds(100);
        return ReconcileResult.After(untilDeadline < opts.PollInterval ? untilDeadline : opts.PollInterval);
    }

    /// <summary>The result of one look at a run's probes (or a re-check's).</summary>
    private sealed record RunProgress(
        bool Complete, List<ScopedFinding> Findings, CheckSelection Selection, int NodesSelected, int NodesReported,
        IReadOnlyList<NodeProbeOutcome> Outcomes, DateTimeOffset Deadline, IReadOnlyDictionary<string, string> PodNodes);

    /// <summary>CoreDNS pod IP → node, so a dead DNS target can be traced to a broken node (RootCauses).</summary>
    private static IReadOnlyDictionary<string, string> CoreDnsPodNodes(ClusterView view) =>
        view.CoreDnsPods.Where(p => !string.IsNullOrEmpty(p.Status?.PodIP) && !string.IsNullOrEmpty(p.Spec?.NodeName))
            .GroupBy(p => p.Status.PodIP, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Spec.NodeName, StringComparer.Ordinal);

    /// <summary>
    /// Gathers, launches and reads the probes of run <paramref name="runId"/> limited to
    /// <paramref name="checks"/> (null: every check): cluster checks once per run from cached API
    /// facts, one probe Job per selected node under maxConcurrentProbes, reports read when all settled.
    /// </summary>
    private async Task<RunProgress> ProbeAsync(V1alpha1NetworkDiagnosis d, string runId, DateTimeOffset runStart,
        IReadOnlyList<string>? checks, IReadOnlyList<V1Job> owned, DateTimeOffset now, CancellationToken ct)
    {
        var opts = options.Value;
        var uid = d.Metadata.Uid ?? d.Metadata.Name;
        var settings = RunSettings.From(d.Spec);
        var deadline = runStart + settings.Timeout;
        var deadlinePassed = now >= deadline;

        // Gather: nodes, Jobs and pods from the caches; API facts and the cluster checks once per run.
        var allNodes = nodes.List();
        var selected = NodeSelection.Select(allNodes, d.Spec.NodeSelector);
        var snapshot = await facts.GetAsync(uid, runId, f =>
        {
            var v = new ClusterView(allNodes, selected, f);
            return new RunSnapshot(f, v, ClusterChecks.Run(CheckSelection.Resolve(checks, v.Cni.Kind).ClusterChecks, v));
        }, ct);
        var view = snapshot.View;
        var selection = CheckSelection.Resolve(checks, view.Cni.Kind);
        var runLabel = Names.LabelValue(runId);
        var probes = owned.Where(IsProbe).ToList();
        var runJobs = probes.Where(j => j.Metadata.Labels.Value(WellKnown.LabelRun) == runLabel)
                            .GroupBy(NodeOf).ToDictionary(g => g.Key, g => g.First());
        var runPods = pods.List().Where(p => p.Metadata.NamespaceProperty == opts.Namespace &&
                                             p.Metadata.Labels.Value(WellKnown.LabelDiagnosis) == Names.LabelValue(d.Metadata.Name) &&
                                             p.Metadata.Labels.Value(WellKnown.LabelRun) == runLabel &&
                                             p.Metadata.Labels.Value(WellKnown.LabelComponent) != WellKnown.ComponentRemediation).ToList();
        // Readiness as it is now (the snapshot may be older): a node that went NotReady gets no Job.
        var probeNodes = selection.NodeChecks.Count > 0 ? selected : [];
        var context = new ProbeRunContext(now, deadline, settings.Timeout, settings.MaxConcurrentProbes);
        var outcomes = ProbeOutcomes.Evaluate(probeNodes, runJobs, runPods, NoLogs, context);

        // Decide which Jobs to create and delete now. Finished Jobs of earlier runs stay (their logs
        // back the history) until they fall out of it; unfinished ones hold slots and go.
        var pending = expectations.Pending(uid, owned.Select(j => j.Metadata.Name).ToHashSet());
        var waiting = outcomes.Where(o => o.State == ProbeState.Waiting)
                              .Select(o => o.Node)
                              .Where(n => !pending.Contains(Names.JobName(d.Metadata.Name, uid, runId, n)))
                              .ToList();
        var contenders = probes.Where(j => j.Metadata.Labels.Value(WellKnown.LabelRun) == runLabel || !LaunchPlanner.IsFinished(j)).ToList();
        var launch = LaunchPlanner.Plan(waiting, contenders, runId, settings.MaxConcurrentProbes, deadlinePassed, pending.Count);

        // Act, idempotently: deterministic names make a repeated create an AlreadyExists.
        foreach (var stale in launch.Delete)
        {
            await jobClient.DeleteAsync(stale.Metadata.NamespaceProperty, stale.Metadata.Name, ct);
            metrics?.ProbeJobs.Inc("deleted");
        }
        var jobSettings = JobSettings(opts);
        foreach (var node in launch.CreateFor)
        {
            var plan = ProbePlanBuilder.Build(node, view, selection.NodeChecks, d.Spec.ExternalDnsName);
            var remaining = (long)Math.Ceiling((deadline - now).TotalSeconds);
            var job = ProbeJobBuilder.Build(new ProbeJobRequest(d, runId, node, plan, remaining), jobSettings);
            if (await jobClient.CreateAsync(job, ct))
            {
                expectations.Created(uid, job.Metadata.Name);
                metrics?.ProbeJobs.Inc("created");
                LogJobCreated(job.Metadata.Name, node);
            }
        }

        // Analyse. The run is complete when every node is settled (or the deadline passed); only
        // then are pod logs read, for reports too large for the termination message.
        var complete = deadlinePassed ||
                       (launch.CreateFor.Count == 0 && pending.Count == 0 && outcomes.All(o => o.Settled || o.NeedsLog));
        if (complete && outcomes.Any(o => o.NeedsLog))
        {
            var logs = await ReadLogsAsync(opts.Namespace, outcomes.Where(o => o.NeedsLog && o.PodName is not null).Select(o => o.PodName!), ct);
            outcomes = ProbeOutcomes.Evaluate(probeNodes, runJobs, runPods, logs, context with { Now = now });
        }
        var findings = new List<ScopedFinding>(snapshot.ClusterFindings);
        findings.AddRange(ProbeOutcomes.Findings(outcomes));
        if (selection.NodeChecks.Count > 0 && selected.Count == 0)
            findings.Add(new(FindingFactory.Unknown(CheckNames.ProbeFailed, "no nodes selected",
                "spec.nodeSelector matches no node: the node checks did not run.", [$"{allNodes.Count} nodes in the cluster"])));
        return new RunProgress(complete, findings, selection, selected.Count,
            outcomes.Count(o => o.State == ProbeState.Reported), outcomes, deadline, CoreDnsPodNodes(view));
    }

    /// <summary>
    /// No run of this generation is in progress: re-check applied fixes when owed, else delete the
    /// Jobs of runs that fell out of history, show the next scheduled run, and sleep until it.
    /// </summary>
    private async Task<ReconcileResult> BetweenRunsAsync(V1alpha1NetworkDiagnosis d, ScheduleDecision decision,
        IReadOnlyList<V1Job> owned, DateTimeOffset now, CancellationToken ct)
    {
        var opts = options.Value;
        var uid = d.Metadata.Uid ?? d.Metadata.Name;
        var status = d.Status;
        var currentRun = status?.CurrentRun;
        var fixJobsRunning = owned.Count(j => !IsProbe(j) && !LaunchPlanner.IsFinished(j) && currentRun is not null &&
                                              RunOf(j) == Names.LabelValue(currentRun));
        var wake = decision.RequeueAfter(now);
        switch (RecheckPlanner.Decide(currentRun, status?.Remediations, fixJobsRunning, now))
        {
            case RecheckDecision.Run recheck when status is not null:
            {
                var run = await ProbeAsync(d, recheck.RunId, recheck.Start, recheck.Checks, owned, now, ct);
                if (!run.Complete)
                    return ReconcileResult.After(opts.PollInterval);
                var mode = RunSettings.From(d.Spec).RemediationMode;
                var rechecked = FindingAggregator.Aggregate(run.Findings, includeRemediation: false);
                var result = RemediationVerification.Apply(
                    (status.Remediations ?? []).Where(r => r.Run == currentRun).ToList(), status.Findings ?? [], rechecked, recheck.Checks);
                var next = RemediationStatus.AfterRecheck(Clone(status), result, mode, now);
                next.NextRunTime = decision.NextRunTime?.UtcDateTime;
                await PublishAsync(d, next, ct);
                facts.Forget(uid);
                expectations.Forget(uid);
                LogRechecked(d.Metadata.Name, recheck.RunId, result.Resolved.Count, result.Findings.Count(f => f.Verified == false));
                return ReconcileResult.After(opts.PollInterval);
            }
            case RecheckDecision.Wait wait:
            {
                var until = wait.Until is { } u ? u - now + TimeSpan.FromMilliseconds(100) : opts.PollInterval;
                return ReconcileResult.After(until < opts.PollInterval ? until : opts.PollInterval);
            }
        }

        // Old runs' Jobs (probe, re-check and fix Jobs alike) go when their run leaves history.
        if (decision.Action != ScheduleAction.Busy)
        {
            var cleanUp = RunHistory.RunsToCleanUp(owned.Select(j => RecheckPlanner.BaseRunId(RunOf(j))), status?.History, currentRun)
                                    .ToHashSet(StringComparer.Ordinal);
            foreach (var job in owned.Where(j => j.Metadata.DeletionTimestamp is null && cleanUp.Contains(RecheckPlanner.BaseRunId(RunOf(j)))))
                await jobClient.DeleteAsync(job.Metadata.NamespaceProperty, job.Metadata.Name, ct);
        }

        // Show when the next run starts (and that a new generation waits for its slot).
        var shown = status is null ? new NetworkDiagnosisStatus { Phase = Phases.Pending } : Clone(status);
        shown.NextRunTime = decision.NextRunTime?.UtcDateTime;
        if (status is null || (decision.Action == ScheduleAction.Wait && status.ObservedGeneration != d.Metadata.Generation))
        {
            shown.ObservedGeneration = d.Metadata.Generation ?? 1;
            shown.Message = decision.Message;
        }
        await PublishAsync(d, shown, ct);
        if (decision.Action == ScheduleAction.Busy)
            return ReconcileResult.After(opts.PollInterval);
        return wake is { } w ? ReconcileResult.After(w) : ReconcileResult.Done;
    }

    /// <summary>
    /// A spec change during a run: delete the old run's Jobs, record it as Superseded in history,
    /// and start nothing until they are gone (never two runs at once).
    /// </summary>
    private async Task<ReconcileResult> SupersedeAsync(V1alpha1NetworkDiagnosis d, ScheduleDecision decision,
        IReadOnlyList<V1Job> owned, DateTimeOffset now, CancellationToken ct)
    {
        var superseded = decision.SupersededRuns.Select(Names.LabelValue).ToHashSet(StringComparer.Ordinal);
        foreach (var job in owned.Where(j => j.Metadata.DeletionTimestamp is null && superseded.Contains(RecheckPlanner.BaseRunId(RunOf(j)))))
            await jobClient.DeleteAsync(job.Metadata.NamespaceProperty, job.Metadata.Name, ct);
        var status = d.Status;
        if (status?.CurrentRun is { } current && decision.SupersededRuns.Contains(current) && status.Phase == Phases.Running)
        {
            var next = Clone(status);
            next.History = RunHistory.Append(status.History,
                RunHistory.SupersededRun(current, ToOffset(status.RunStartTime), now), RunSettings.From(d.Spec).HistoryLimit);
            next.Phase = Phases.Pending;
            next.Message = decision.Message;
            await PublishAsync(d, next, ct);
        }
        facts.Forget(d.Metadata.Uid ?? d.Metadata.Name);
        LogSuperseded(d.Metadata.Name, decision.Message);
        return ReconcileResult.After(TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// The start of run <paramref name="runId"/> when it really is in progress: the status says so,
    /// or (a status write lost) its Jobs exist. Null for a finished run whose Jobs linger, and for a
    /// re-check, which <see cref="BetweenRunsAsync"/> drives.
    /// </summary>
    private static DateTimeOffset? RunInProgress(NetworkDiagnosisStatus? status, string runId, IReadOnlyList<V1Job> owned)
    {
        if (RecheckPlanner.BaseRunId(runId) != runId)
            return null;
        if (status?.CurrentRun == runId)
            return status.Phase == Phases.Running ? ToOffset(status.RunStartTime) : null;
        var created = owned.Where(j => RunOf(j) == Names.LabelValue(runId)).Select(j => ToOffset(j.Metadata.CreationTimestamp)).Min();
        return created;
    }

    private static bool IsProbe(V1Job job) => job.Metadata.Labels.Value(WellKnown.LabelComponent) != WellKnown.ComponentRemediation;

    private static string RunOf(V1Job job) => job.Metadata.Labels.Value(WellKnown.LabelRun) ?? "";

    private static NetworkDiagnosisStatus Clone(NetworkDiagnosisStatus s) =>
        KubernetesJson.Deserialize<NetworkDiagnosisStatus>(KubernetesJson.Serialize(s));

    // The client may hand back Local or Unspecified kinds; API times are always UTC.
    private static DateTimeOffset? ToOffset(DateTime? t) => t switch
    {
        null => null,
        { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime()),
        { } other => new DateTimeOffset(DateTime.SpecifyKind(other, DateTimeKind.Utc)),
    };

    /// <summary>Writes the status if it differs from the current (or last written) one, then records the transition Events.</summary>
    private async Task<bool> PublishAsync(V1alpha1NetworkDiagnosis d, NetworkDiagnosisStatus status, CancellationToken ct)
    {
        var uid = d.Metadata.Uid ?? d.Metadata.Name;
        var json = KubernetesJson.Serialize(status);
        // d carries the status we last wrote (Overlay) when the cache lags behind it.
        if (json == KubernetesJson.Serialize(d.Status ?? new NetworkDiagnosisStatus()))
            return false;
        await statusWriter.WriteAsync(d, status, ct);
        var previous = d.Status;
        _written.Remember(uid, json, status);
        foreach (var e in Transitions.Events(previous, status))
            await events.RecordAsync(d, e.Type, e.Reason, e.Message, ct);
        return true;
    }

    private IReadOnlyList<V1Job> OwnedJobs(V1alpha1NetworkDiagnosis d, string ns)
    {
        var label = Names.LabelValue(d.Metadata.Name);
        return jobs.List()
            .Where(j => j.Metadata.NamespaceProperty == ns &&
                        j.Metadata.Labels.Value(WellKnown.LabelDiagnosis) == label &&
                        j.Metadata.OwnerReferences?.Any(o => o.Uid == d.Metadata.Uid) == true)
            .ToList();
    }

    private static string NodeOf(V1Job job) =>
        job.Metadata.Annotations.Value("netdiag.io/node-name")
        ?? job.Spec?.Template?.Spec?.NodeName
        ?? job.Metadata.Labels.Value(WellKnown.LabelNode)
        ?? "";

    private async Task<IReadOnlyDictionary<string, LogReadResult>> ReadLogsAsync(string ns, IEnumerable<string> podNames, CancellationToken ct)
    {
        var result = new System.Collections.Concurrent.ConcurrentDictionary<string, LogReadResult>();
        await Parallel.ForEachAsync(podNames, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (pod, token) =>
        {
            result[pod] = await jobClient.ReadLogAsync(ns, pod, previous: false, ProbeReportCodecLimits.LogBytes, token);
        });
        return result;
    }

    private void RecordRunMetrics(string diagnosis, NetworkDiagnosisStatus status, IReadOnlyList<NodeProbeOutcome> outcomes)
    {
        if (metrics is null) return;
        metrics.Findings.RemoveWhere(labels => labels[0] == diagnosis);
        foreach (var g in (status.Findings ?? []).GroupBy(f => (f.Check, f.Severity)))
            metrics.Findings.Set(g.Count(), diagnosis, g.Key.Check, g.Key.Severity);
        foreach (var o in outcomes)
        {
            switch (o.State)
            {
                case ProbeState.Reported: metrics.ProbeJobs.Inc("succeeded"); break;
                case ProbeState.Failed: metrics.ProbeJobs.Inc("failed"); break;
                case ProbeState.TimedOut: metrics.ProbeJobs.Inc("timed_out"); break;
            }
        }
    }

    private static ProbeJobSettings JobSettings(OperatorOptions o) => new()
    {
        Namespace = o.Namespace,
        Image = o.ProbeImage,
        Command = o.ProbeCommand,
        ServiceAccount = o.ProbeServiceAccount,
    };

    /// <summary>The API server keeps times to the second; so does the status, so that comparing serialized forms works.</summary>
    private static DateTimeOffset Seconds(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    [LoggerMessage(Level = LogLevel.Information, Message = "Diagnosis {Name} has an invalid spec: {Problem}")]
    private partial void LogInvalid(string name, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created probe Job {Job} for node {Node}")]
    private partial void LogJobCreated(string job, string node);

    [LoggerMessage(Level = LogLevel.Information, Message = "Diagnosis {Name} run {Run} completed: {Message}")]
    private partial void LogRunCompleted(string name, string run, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Diagnosis {Name} run {Run} starts: {Why}")]
    private partial void LogRunStarted(string name, string run, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Diagnosis {Name}: {Why}")]
    private partial void LogSuperseded(string name, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Diagnosis {Name} re-check {Run}: {Fixed} fixed, {Failing} still failing")]
    private partial void LogRechecked(string name, string run, int @fixed, int failing);
}

/// <summary>How much of a probe pod's log is read: the full report plus some stderr.</summary>
internal static class ProbeReportCodecLimits
{
    public const int LogBytes = Entities.Reports.ProbeReportCodec.MaxReportBytes + 64 * 1024;
}
