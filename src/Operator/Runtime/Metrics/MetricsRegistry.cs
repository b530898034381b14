using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace NetDiag.Operator.Runtime.Metrics;

/// <summary>
/// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
/// exposition format (version 0.0.4) for <c>/metrics</c>. Hand-written so the operator needs no
/// metrics package; thread-safe; metrics are get-or-create by name.
/// </summary>
public sealed class MetricsRegistry
{
    private readonly ConcurrentDictionary<string, Metric> _metrics = new();
    private readonly List<Action> _collectHooks = new();

    public Counter Counter(string name, string help, params string[] labelNames) =>
        GetOrAdd(name, () => new Counter(name, help, labelNames));

    public Gauge Gauge(string name, string help, params string[] labelNames) =>
        GetOrAdd(name, () => new Gauge(name, help, labelNames));

    public Histogram Histogram(string name, string help, double[] buckets, params string[] labelNames) =>
        GetOrAdd(name, () => new Histogram(name, help, buckets, labelNames));

    /// <summary>Runs before each scrape, e.g. to set a gauge from a live value (queue depth).</summary>
    public void OnCollect(Action hook)
    {
        lock (_collectHooks) _collectHooks.Add(hook);
    }

    /// <summary>The text exposition of every metric, sorted by name.</summary>
    public string Export()
    {
        Action[] hooks;
        lock (_collectHooks) hooks = _collectHooks.ToArray();
        foreach (var h in hooks)
        {
            try { h(); } catch { /* a broken hook must not break /metrics */ }
        }
        var sb = new StringBuilder();
        foreach (var m in _metrics.Values.OrderBy(m => m.Name, StringComparer.Ordinal)) m.WriteTo(sb);
        return sb.ToString();
    }

    private TMetric GetOrAdd<TMetric>(string name, Func<TMetric> create) where TMetric : Metric
    {
        var m = _metrics.GetOrAdd(name, _ => create());
        return m as TMetric ?? throw new InvalidOperationException($"metric {name} is already registered as a {m.Type}");
    }
}

/// <summary>A metric family: one series per combination of label values.</summary>
public abstract class Metric
{
    protected Metric(string name, string help, string type, string[] labelNames)
    {
        if (!IsValidName(name)) throw new ArgumentException($"invalid metric name '{name}'", nameof(name));
        foreach (var l in labelNames)
            if (!IsValidName(l) || l.Contains(':')) throw new ArgumentException($"invalid label name '{l}'", nameof(labelNames));
        Name = name;
        Help = help;
        Type = type;
        LabelNames = labelNames;
    }

    public string Name { get; }
    public string Help { get; }
    public string Type { get; }
    public IReadOnlyList<string> LabelNames { get; }

    internal abstract void WriteTo(StringBuilder sb);

    protected void WriteHeader(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(Name).Append(' ').Append(Help.Replace("\\", "\\\\").Replace("\n", "\\n")).Append('\n');
        sb.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
    }

    protected LabelValues Key(string[] values)
    {
        if (values.Length != LabelNames.Count)
            throw new ArgumentException($"{Name} takes {LabelNames.Count} label values ({string.Join(", ", LabelNames)}), got {values.Length}");
        return new LabelValues(values);
    }

    internal static void WriteSeries(StringBuilder sb, string name, IReadOnlyList<string> labelNames, string[] values, double value,
        string? extraLabel = null, string? extraValue = null)
    {
        sb.Append(name);
        if (labelNames.Count > 0 || extraLabel is not null)
        {
            sb.Append('{');
            var first = true;
            for (var i = 0; i < labelNames.Count; i++)
            {
                if (!first) sb.Append(',');
                first = false;
                sb.Append(labelNames[i]).Append("=\"").Append(Escape(values[i])).Append('"');
            }
            if (extraLabel is not null)
            {
                if (!first) sb.Append(',');
                sb.Append(extraLabel).Append("=\"").Append(Escape(extraValue!)).Append('"');
            }
            sb.Append('}');
        }
        sb.Append(' ').Append(Format(value)).Append('\n');
    }

    internal static string Format(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN"
        : v.ToString("R", CultureInfo.InvariantCulture);

    private static string Escape(string v) => v.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static bool IsValidName(string n) =>
        n.Length > 0 && !char.IsAsciiDigit(n[0]) && n.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');

    /// <summary>Label values as a dictionary key (value equality over the array).</summary>
    protected readonly struct LabelValues(string[] values) : IEquatable<LabelValues>
    {
        public string[] Values { get; } = values;
        public bool Equals(LabelValues other) => Values.AsSpan().SequenceEqual(other.Values);
        public override bool Equals(object? obj) => obj is LabelValues o && Equals(o);
        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var v in Values) h.Add(v, StringComparer.Ordinal);
            return h.ToHashCode();
        }
    }
}

/// <summary>A value that only goes up (reset on restart), e.g. reconciles by result.</summary>
public sealed class Counter : Metric
{
    private readonly ConcurrentDictionary<LabelValues, StrongBox<double>> _series = new();

    internal Counter(string name, string help, string[] labelNames) : base(name, help, "counter", labelNames) { }

    public void Inc(params string[] labelValues) => Add(1, labelValues);

    public void Add(double amount, params string[] labelValues)
    {
        if (amount < 0) throw new ArgumentOutOfRangeException(nameof(amount), "a counter only goes up");
        var box = _series.GetOrAdd(Key(labelValues), _ => new StrongBox<double>());
        lock (box) box.Value += amount;
    }

    public double Value(params string[] labelValues) =>
        _series.TryGetValue(Key(labelValues), out var b) ? b.Value : 0;

    internal override void WriteTo(StringBuilder sb)
    {
        WriteHeader(sb);
        foreach (var (k, v) in _series.OrderBy(s => string.Join('\0', s.Key.Values), StringComparer.Ordinal))
            WriteSeries(sb, Name, LabelNames, k.Values, v.Value);
    }
}

/// <summary>A value that goes up and down, e.g. queue depth or current findings.</summary>
public sealed class Gauge : Metric
{
    private readonly ConcurrentDictionary<LabelValues, StrongBox<double>> _series = new();

    internal Gauge(string name, string help, string[] labelNames) : base(name, help, "gauge", labelNames) { }

    public void Set(double value, params string[] labelValues)
    {
        var box = _series.GetOrAdd(Key(labelValues), _ => new StrongBox<double>());
        lock (box) box.Value = value;
    }

    public void Add(double amount, params string[] labelValues)
    {
        var box = _series.GetOrAdd(Key(labelValues), _ => new StrongBox<double>());
        lock (box) box.Value += amount;
    }

    /// <summary>Drops one series (e.g. the findings of a deleted diagnosis).</summary>
    public void Remove(params string[] labelValues) => _series.TryRemove(Key(labelValues), out _);

    /// <summary>Drops every series whose labels match <paramref name="predicate"/>.</summary>
    public void RemoveWhere(Func<IReadOnlyList<string>, bool> predicate)
    {
        foreach (var k in _series.Keys)
            if (predicate(k.Values)) _series.TryRemove(k, out _);
    }

    public double Value(params string[] labelValues) =>
        _series.TryGetValue(Key(labelValues), out var b) ? b.Value : 0;

    internal override void WriteTo(StringBuilder sb)
    {
        WriteHeader(sb);
        foreach (var (k, v) in _series.OrderBy(s => string.Join('\0', s.Key.Values), StringComparer.Ordinal))
            WriteSeries(sb, Name, LabelNames, k.Values, v.Value);
    }
}

/// <summary>Observations in cumulative buckets, e.g. reconcile duration in seconds.</summary>
public sealed class Histogram : Metric
{
    /// <summary>controller-runtime's reconcile-time buckets (seconds).</summary>
    public static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly double[] _buckets;
    private readonly ConcurrentDictionary<LabelValues, Series> _series = new();

    private sealed class Series(int buckets)
    {
        public readonly long[] Counts = new long[buckets];
        public double Sum;
        public long Count;
    }

    internal Histogram(string name, string help, double[] buckets, string[] labelNames) : base(name, help, "histogram", labelNames)
    {
        _buckets = buckets.Where(b => !double.IsPositiveInfinity(b)).Order().Distinct().ToArray();
    }

    public void Observe(double value, params string[] labelValues)
    {
        var s = _series.GetOrAdd(Key(labelValues), _ => new Series(_buckets.Length));
        lock (s)
        {
            for (var i = 0; i < _buckets.Length; i++)
                if (value <= _buckets[i]) s.Counts[i]++;
            s.Sum += value;
            s.Count++;
        }
    }

    public long Count(params string[] labelValues) =>
        _series.TryGetValue(Key(labelValues), out var s) ? s.Count : 0;

    internal override void WriteTo(StringBuilder sb)
    {
        WriteHeader(sb);
        foreach (var (k, s) in _series.OrderBy(s => string.Join('\0', s.Key.Values), StringComparer.Ordinal))
        {
            lock (s)
            {
                for (var i = 0; i < _buckets.Length; i++)
                    WriteSeries(sb, Name + "_bucket", LabelNames, k.Values, s.Counts[i], "le", Format(_buckets[i]));
                WriteSeries(sb, Name + "_bucket", LabelNames, k.Values, s.Count, "le", "+Inf");
                WriteSeries(sb, Name + "_sum", LabelNames, k.Values, s.Sum);
                WriteSeries(sb, Name + "_count", LabelNames, k.Values, s.Count);
            }
        }
    }
}
