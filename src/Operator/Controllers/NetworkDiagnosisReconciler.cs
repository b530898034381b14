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
    OperatorMetrics? metrics = null) : IReconciler<V1alpha1NetworkDiagnosis>
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

        // Is a run due? One per generation (RunPlanner is the seam for schedules).
        if (RunPlanner.Decide(d, now) is not RunDecision.Run run)
        {
            facts.Forget(uid);
            return ReconcileResult.Done;
        }
        var settings = RunSettings.From(d.Spec);
        var deadline = run.StartTime + settings.Timeout;
        var deadlinePassed = now >= deadline;

        // 3. Gather: nodes, Jobs and pods from the caches; API facts and the cluster checks once per run.
        var allNodes = nodes.List();
        var selected = NodeSelection.Select(allNodes, d.Spec.NodeSelector);
        var snapshot = await facts.GetAsync(uid, run.RunId, f =>
        {
            var v = new ClusterView(allNodes, selected, f);
            return new RunSnapshot(f, v, ClusterChecks.Run(CheckSelection.Resolve(d.Spec.Checks, v.Cni.Kind).ClusterChecks, v));
        }, ct);
        var view = snapshot.View;
        var selection = CheckSelection.Resolve(d.Spec.Checks, view.Cni.Kind);
        var owned = OwnedJobs(d, opts.Namespace);
        var runLabel = Names.LabelValue(run.RunId);
        var runJobs = owned.Where(j => j.Metadata.Labels.Value(WellKnown.LabelRun) == runLabel)
                           .GroupBy(NodeOf).ToDictionary(g => g.Key, g => g.First());
        var runPods = pods.List().Where(p => p.Metadata.NamespaceProperty == opts.Namespace &&
                                             p.Metadata.Labels.Value(WellKnown.LabelDiagnosis) == Names.LabelValue(d.Metadata.Name) &&
                                             p.Metadata.Labels.Value(WellKnown.LabelRun) == runLabel).ToList();
        // Readiness as it is now (the snapshot may be older): a node that went NotReady gets no Job.
        var probeNodes = selection.NodeChecks.Count > 0 ? selected : [];
        var context = new ProbeRunContext(now, deadline, settings.Timeout, settings.MaxConcurrentProbes);
        var outcomes = ProbeOutcomes.Evaluate(probeNodes, runJobs, runPods, NoLogs, context);

        // 4. Decide which Jobs to create and delete now, under maxConcurrentProbes.
        var pending = expectations.Pending(uid, owned.Select(j => j.Metadata.Name).ToHashSet());
        var waiting = outcomes.Where(o => o.State == ProbeState.Waiting)
                              .Select(o => o.Node)
                              .Where(n => !pending.Contains(Names.JobName(d.Metadata.Name, uid, run.RunId, n)))
                              .ToList();
        var launch = LaunchPlanner.Plan(waiting, owned, run.RunId, settings.MaxConcurrentProbes, deadlinePassed, pending.Count);

        // 5. Act, idempotently: deterministic names make a repeated create an AlreadyExists.
        foreach (var stale in launch.Delete)
        {
            await jobClient.DeleteAsync(stale.Metadata.NamespaceProperty, stale.Metadata.Name, ct);
            metrics?.ProbeJobs.Inc("deleted");
        }
        var jobSettings = JobSettings(opts);
        foreach (var node in launch.CreateFor)
        {
            var plan = ProbePlanBuilder.Build(node, view, selection.NodeChecks);
            var remaining = (long)Math.Ceiling((deadline - now).TotalSeconds);
            var job = ProbeJobBuilder.Build(new ProbeJobRequest(d, run.RunId, node, plan, remaining), jobSettings);
            if (await jobClient.CreateAsync(job, ct))
            {
                expectations.Created(uid, job.Metadata.Name);
                metrics?.ProbeJobs.Inc("created");
                LogJobCreated(job.Metadata.Name, node);
            }
        }

        // 6. Analyse. The run is complete when every node is settled (or the deadline passed); only
        //    then are pod logs read, for reports too large for the termination message.
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

        // 7. One pure function computes the status; written only if it changed; Events on transitions.
        var status = StatusCalculator.ForRun(new RunStatusInput
        {
            Diagnosis = d,
            Now = now,
            RunId = run.RunId,
            RunStart = run.StartTime,
            Complete = complete,
            NodesSelected = selected.Count,
            NodesReported = outcomes.Count(o => o.State == ProbeState.Reported),
            ProbesNeeded = selection.NodeChecks.Count > 0,
            ChecksRun = selection.Checks,
            Skipped = selection.Skipped,
            Findings = findings,
            RemediationMode = settings.RemediationMode,
            HistoryLimit = settings.HistoryLimit,
        });
        var changed = await PublishAsync(d, status, ct);
        if (complete)
        {
            facts.Forget(uid);
            expectations.Forget(uid);
            if (changed)
            {
                RecordRunMetrics(d.Metadata.Name, status, outcomes);
                LogRunCompleted(key.Name, run.RunId, status.Message ?? "");
            }
            return ReconcileResult.Done;
        }

        // 8. A finite requeue: poll while probes are out, but wake up for the deadline.
        var untilDeadline = deadline - now + TimeSpan.FromMilliseconds(100);
        return ReconcileResult.After(untilDeadline < opts.PollInterval ? untilDeadline : opts.PollInterval);
    }

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
}

/// <summary>How much of a probe pod's log is read: the full report plus some stderr.</summary>
internal static class ProbeReportCodecLimits
{
    public const int LogBytes = Entities.Reports.ProbeReportCodec.MaxReportBytes + 64 * 1024;
}
