using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Tests.Runtime;

public class MetricsRegistryTests
{
    [Fact]
    public void Counters_gauges_and_histograms_render_in_prometheus_text_format()
    {
        var r = new MetricsRegistry();
        var c = r.Counter("x_total", "Things.", "kind");
        c.Inc("a");
        c.Add(2, "a");
        c.Inc("b\"q");
        r.Gauge("depth", "Depth.").Set(7);
        var h = r.Histogram("dur_seconds", "Duration.", [0.1, 1], "c");
        h.Observe(0.05, "x");
        h.Observe(0.5, "x");
        h.Observe(3, "x");

        var text = r.Export();
        Assert.Contains("# HELP x_total Things.\n# TYPE x_total counter\n", text);
        Assert.Contains("x_total{kind=\"a\"} 3\n", text);
        Assert.Contains("x_total{kind=\"b\\\"q\"} 1\n", text);
        Assert.Contains("# TYPE depth gauge\ndepth 7\n", text);
        Assert.Contains("dur_seconds_bucket{c=\"x\",le=\"0.1\"} 1\n", text);
        Assert.Contains("dur_seconds_bucket{c=\"x\",le=\"1\"} 2\n", text);
        Assert.Contains("dur_seconds_bucket{c=\"x\",le=\"+Inf\"} 3\n", text);
        Assert.Contains("dur_seconds_sum{c=\"x\"} 3.55\n", text);
        Assert.Contains("dur_seconds_count{c=\"x\"} 3\n", text);
        Assert.True(text.IndexOf("depth", StringComparison.Ordinal) < text.IndexOf("x_total", StringComparison.Ordinal), "sorted by name");
    }

    [Fact]
    public void Get_or_create_by_name_and_type_checks()
    {
        var r = new MetricsRegistry();
        Assert.Same(r.Counter("a_total", "A."), r.Counter("a_total", "A."));
        Assert.Throws<InvalidOperationException>(() => r.Gauge("a_total", "A."));
        Assert.Throws<ArgumentException>(() => r.Counter("bad name", "x"));
        Assert.Throws<ArgumentException>(() => r.Counter("c_total", "C.", "l").Inc()); // wrong label count
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Counter("d_total", "D.").Add(-1));
    }

    [Fact]
    public void Findings_of_a_diagnosis_are_replaced_as_a_whole()
    {
        var m = new OperatorMetrics();
        m.SetFindings("nd1", [("dnsLoop", "Critical", 1), ("ipForward", "Warning", 2)]);
        m.SetFindings("nd2", [("dnsLoop", "Critical", 1)]);
        m.SetFindings("nd1", [("ipForward", "Warning", 1)]);
        var text = m.Registry.Export();
        Assert.DoesNotContain("netdiag_findings{diagnosis=\"nd1\",check=\"dnsLoop\"", text);
        Assert.Contains("netdiag_findings{diagnosis=\"nd1\",check=\"ipForward\",severity=\"Warning\"} 1\n", text);
        Assert.Contains("netdiag_findings{diagnosis=\"nd2\",check=\"dnsLoop\",severity=\"Critical\"} 1\n", text);
        m.RemoveFindings("nd2");
        Assert.DoesNotContain("nd2", m.Registry.Export());
    }

    [Fact]
    public void Collect_hooks_run_before_each_scrape_and_a_broken_one_is_ignored()
    {
        var r = new MetricsRegistry();
        var g = r.Gauge("q", "Q.");
        var n = 0;
        r.OnCollect(() => g.Set(++n));
        r.OnCollect(() => throw new InvalidOperationException());
        Assert.Contains("q 1\n", r.Export());
        Assert.Contains("q 2\n", r.Export());
    }
}
