namespace NetDiag.Operator.Runtime.Metrics;

/// <summary>
/// The operator's metrics, one instance per process (a DI singleton). The runtime fills the
/// reconcile, queue, informer, event and leader series; the reconcile code fills
/// <see cref="Findings"/> and <see cref="ProbeJobs"/>, and can add its own through
/// <see cref="Registry"/>.
/// </summary>
public sealed class OperatorMetrics
{
    public OperatorMetrics() : this(new MetricsRegistry()) { }

    public OperatorMetrics(MetricsRegistry registry)
    {
        Registry = registry;
        ReconcileTotal = registry.Counter("netdiag_reconcile_total",
            "Reconciles by controller and result (success, requeue_after, error).", "controller", "result");
        ReconcileDuration = registry.Histogram("netdiag_reconcile_duration_seconds",
            "Time spent in one reconcile.", Histogram.DefaultBuckets, "controller");
        ReconcileErrors = registry.Counter("netdiag_reconcile_errors_total",
            "Reconciles that threw and were requeued with back-off.", "controller");
        WorkqueueDepth = registry.Gauge("netdiag_workqueue_depth",
            "Keys ready in the work queue, not counting those being processed or delayed.", "name");
        WorkqueueWaiting = registry.Gauge("netdiag_workqueue_waiting",
            "Keys waiting for a delayed requeue (RequeueAfter or back-off).", "name");
        WorkqueueAdds = registry.Counter("netdiag_workqueue_adds_total",
            "Keys added by watch events.", "name");
        InformerLists = registry.Counter("netdiag_informer_lists_total",
            "LIST calls by informers (first sync and relists after 410 Gone); no periodic resync.", "resource");
        InformerWatches = registry.Counter("netdiag_informer_watches_total",
            "WATCH requests opened by informers (including resumes).", "resource");
        InformerFailures = registry.Counter("netdiag_informer_failures_total",
            "List or watch failures by action taken (relist, backoff).", "resource", "action");
        InformerObjects = registry.Gauge("netdiag_informer_objects",
            "Objects in an informer's cache.", "resource");
        Events = registry.Counter("netdiag_events_total",
            "Kubernetes Events recorded by outcome (created, aggregated, failed).", "type", "reason", "outcome");
        Leader = registry.Gauge("netdiag_leader",
            "1 while this replica holds the leader Lease (or runs without leader election).");
        Findings = registry.Gauge("netdiag_findings",
            "Findings of the latest run by diagnosis, check and severity.", "diagnosis", "check", "severity");
        ProbeJobs = registry.Counter("netdiag_probe_jobs_total",
            "Probe Jobs by event (created, succeeded, failed, timed_out, deleted).", "event");
    }

    public MetricsRegistry Registry { get; }

    public Counter ReconcileTotal { get; }
    public Histogram ReconcileDuration { get; }
    public Counter ReconcileErrors { get; }
    public Gauge WorkqueueDepth { get; }
    public Gauge WorkqueueWaiting { get; }
    public Counter WorkqueueAdds { get; }
    public Counter InformerLists { get; }
    public Counter InformerWatches { get; }
    public Counter InformerFailures { get; }
    public Gauge InformerObjects { get; }
    public Counter Events { get; }
    public Gauge Leader { get; }

    /// <summary>Set per (diagnosis, check, severity) after each run; remove a diagnosis' series when it is deleted.</summary>
    public Gauge Findings { get; }

    /// <summary>Increment per probe Job event: <c>ProbeJobs.Inc("created")</c>.</summary>
    public Counter ProbeJobs { get; }

    /// <summary>Replaces the findings series of one diagnosis with the given counts.</summary>
    public void SetFindings(string diagnosis, IEnumerable<(string Check, string Severity, int Count)> counts)
    {
        Findings.RemoveWhere(l => l[0] == diagnosis);
        foreach (var (check, severity, count) in counts) Findings.Set(count, diagnosis, check, severity);
    }

    public void RemoveFindings(string diagnosis) => Findings.RemoveWhere(l => l[0] == diagnosis);
}
