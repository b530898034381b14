using System.Diagnostics;
using System.Globalization;
using System.Text;
using NetDiag.Entities.Reports;
using NetDiag.Lab;
using NetDiag.Probes.Bench;
using NetDiag.Probes.Parsing;
using NetDiag.Probes.Tests;

// Usage: NetDiag.Probes.Bench <path to the NativeAOT netdiag-probe> [report.md]
//        NetDiag.Probes.Bench --parse-only      (the parser figure alone, no lab, no root)
var parseOnly = args.Length == 1 && args[0] == "--parse-only";
if (!parseOnly && (args.Length < 1 || !File.Exists(args[0])))
{
    Console.Error.WriteLine("usage: NetDiag.Probes.Bench <netdiag-probe binary> [report.md]");
    return 64;
}
var probe = parseOnly ? "" : Path.GetFullPath(args[0]);
var reportFile = args.Length > 1 ? args[1] : null;
const int Repeats = 5;
var rows = new List<(string What, string Figure, string Goal)>();

// 1. Parser: a generated kube-proxy-shaped 100k-line iptables-save.
var dump = IptablesDumpGenerator.Generate(100_000);
var lines = dump.Count(c => c == '\n');
for (var i = 0; i < 2; i++) IptablesSaveParser.Parse(dump); // warm up the JIT
var parseTimes = new List<double>();
var parseCpu = new List<double>();
var self = Process.GetCurrentProcess();
for (var i = 0; i < Repeats; i++)
{
    // CPU time next to wall time: on a shared, oversubscribed machine the wall clock mostly
    // measures the other tenants; CPU time is the parser's own cost.
    self.Refresh();
    var cpu0 = self.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    var set = IptablesSaveParser.Parse(dump);
    parseTimes.Add(sw.Elapsed.TotalMilliseconds);
    self.Refresh();
    parseCpu.Add((self.TotalProcessorTime - cpu0).TotalMilliseconds);
    if (set.Rules.Count < lines * 0.6) throw new InvalidOperationException("parse lost rules");
}
rows.Add(($"iptables-save parse, {lines} lines (in process, median of {Repeats})",
    $"{Median(parseTimes):0} ms wall (min {parseTimes.Min():0}), {Median(parseCpu):0} ms CPU (min {parseCpu.Min():0})", "< 300 ms"));
if (parseOnly)
{
    foreach (var (what, figure, goal) in rows) Console.WriteLine($"{what}: {figure} (goal {goal})");
    return 0;
}

// 2. The probe in a lab node.
Console.Error.WriteLine("building a 4-node lab ...");
await using var lab = await LabCluster.CreateAsync(new LabOptions { Name = "ndpb", Index = 8, NodeCount = 4 });
var node = lab.Node("node-1");
var others = lab.Nodes.Where(n => n != node).ToList();
var work = Path.Combine(lab.WorkDir, "bench");
Directory.CreateDirectory(work);

ProbePlan Plan(IReadOnlyList<PeerNode> peers) => new()
{
    Node = node.Name,
    Self = new PeerNode { Name = node.Name, NodeIp = node.NodeIp, PodCidr = node.PodCidr },
    Peers = [.. peers],
    MaxPeers = 100,
    CoreDnsPodIps = [.. lab.CoreDnsPodIps],
    KubeDnsServiceIp = lab.KubeDnsServiceIp,
    KubernetesServiceIp = lab.KubernetesServiceIp,
    Flannel = new FlannelBackend { Type = "vxlan", Port = lab.VxlanPort, Network = lab.FlannelNetwork },
    HostRoot = node.HostRoot,
};
var realPeers = others.Select(n => new PeerNode { Name = n.Name, NodeIp = n.NodeIp, PodCidr = n.PodCidr }).ToList();
// 50 peers: the lab's nodes under 50 names (only the lab's own addresses are ever targeted).
var fiftyPeers = Enumerable.Range(0, 50).Select(i => realPeers[i % realPeers.Count] with { Name = $"peer-{i:00}" }).ToList();

async Task<(double WallMs, long RssKb, string Out)> TimedAsync(string file, params string[] a)
{
    var r = await node.ExecAsync("/usr/bin/time", ["-v", file, .. a], null, default, TimeSpan.FromMinutes(5));
    var wall = Field(r.StdErr, "Elapsed (wall clock) time");
    var rss = Field(r.StdErr, "Maximum resident set size (kbytes)");
    return (ParseClock(wall), long.Parse(rss, CultureInfo.InvariantCulture), r.StdOut + r.StdErr);
}

async Task MeasureProbe(string label, ProbePlan plan, string goal)
{
    var planFile = Path.Combine(work, $"plan-{plan.Peers.Count}.json");
    await File.WriteAllTextAsync(planFile, ProbeReportCodec.SerializePlan(plan));
    await TimedAsync(probe, "--plan", planFile, "--output", "json"); // first run warms the page cache
    var runs = new List<(double WallMs, long RssKb, string Out)>();
    for (var i = 0; i < Repeats; i++) runs.Add(await TimedAsync(probe, "--plan", planFile, "--output", "json"));
    ProbeReportCodec.TryParseFromLog(runs[^1].Out, out var report, out _);
    var statuses = report is null ? "no report" : string.Join(", ", report.Checks.GroupBy(c => c.Status).Select(g => $"{g.Count()} {g.Key}"));
    rows.Add(($"{label} (median of {Repeats}; {statuses})",
        $"{Median(runs.Select(r => r.WallMs)):0} ms wall, {runs.Max(r => r.RssKb) / 1024.0:0.0} MB peak RSS", goal));
}

// A kube-proxy stand-in so that every check can pass on a healthy node.
var kp = Path.Combine(work, "kube-proxy");
Directory.CreateDirectory(kp);
await File.WriteAllTextAsync(Path.Combine(kp, "healthz"), "ok\n");
await node.StartInNodeAsync("busybox", "httpd", "-f", "-p", "0.0.0.0:10256", "-h", kp);
await node.StartInNodeAsync("busybox", "httpd", "-f", "-p", "127.0.0.1:10249", "-h", kp);
await Task.Delay(300);

await MeasureProbe($"probe, all checks, {realPeers.Count} healthy peers", Plan(realPeers), "< 1 s, < 40 MB");
await MeasureProbe("probe, all checks, 50-peer plan", Plan(fiftyPeers), "about one timeout");

// 3. The seeds' way on the same node, same peers.
foreach (var (label, peers) in new[] { ($"{realPeers.Count} peers", realPeers), ("50 peers", fiftyPeers) })
{
    var script = Path.Combine(work, $"seed-{peers.Count}.sh");
    await File.WriteAllTextAsync(script, SeedShell.Script(peers.Select(p => Cidr.HostAt(p.PodCidr, 1)!), lab.CoreDnsPodIps, node.HostRoot));
    var r = await TimedAsync("sh", script);
    rows.Add(($"seed 000 shell commands, {label} (one run)", $"{r.WallMs:0} ms wall, {r.RssKb / 1024.0:0.0} MB peak RSS (largest single process)", "reference"));
}

// 4. The probe on a node whose iptables holds the 100k-line rule set. Loaded into the legacy
// backend (iptables-nft-restore of 100k lines takes minutes here): the probe dumps both backends
// and must pick the legacy one, which now holds the Kubernetes chains.
var bigRules = Path.Combine(work, "big.rules");
await File.WriteAllTextAsync(bigRules, dump);
var restore = await node.ExecAsync("iptables-legacy-restore", ["-w", "10", bigRules], null, default, TimeSpan.FromMinutes(10));
if (restore.Succeeded)
{
    var planFile = Path.Combine(work, "plan-fw.json");
    await File.WriteAllTextAsync(planFile, ProbeReportCodec.SerializePlan(Plan(realPeers) with { Checks = ["firewall", "kubeProxy"] }));
    var runs = new List<(double WallMs, long RssKb, string Out)>();
    for (var i = 0; i < 3; i++) runs.Add(await TimedAsync(probe, "--plan", planFile, "--output", "json"));
    var save = await TimedAsync("sh", "-c", "iptables-legacy-save > /dev/null");
    ProbeReportCodec.TryParseFromLog(runs[^1].Out, out var fwReport, out _);
    var backendNote = fwReport?.Findings.SelectMany(f => f.Evidence).FirstOrDefault(e => e.Contains("backend")) ?? fwReport?.Checks.FirstOrDefault()?.Reason ?? "";
    rows.Add(($"probe firewall+kubeProxy on a node with {lines} iptables lines (median of 3)", $"{Median(runs.Select(r => r.WallMs)):0} ms wall, {runs.Max(r => r.RssKb) / 1024.0:0.0} MB peak RSS", $"(iptables-legacy-save alone: {save.WallMs:0} ms; {backendNote})"));
}
else
{
    rows.Add(("probe with 100k iptables lines", "iptables-restore failed: " + restore.StdErr.Split('\n')[0], ""));
}

var md = new StringBuilder();
md.AppendLine($"# Probe benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
md.AppendLine();
md.AppendLine($"probe: {probe} ({new FileInfo(probe).Length / 1024.0 / 1024.0:0.0} MB, NativeAOT)");
md.AppendLine();
md.AppendLine("| measurement | figure | goal |");
md.AppendLine("| --- | --- | --- |");
foreach (var (what, figure, goal) in rows) md.AppendLine($"| {what} | {figure} | {goal} |");
Console.WriteLine(md.ToString());
if (reportFile is not null) await File.WriteAllTextAsync(reportFile, md.ToString());
return 0;

static string Field(string text, string name)
{
    var line = text.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(name, StringComparison.Ordinal))
        ?? throw new InvalidOperationException($"/usr/bin/time printed no '{name}':\n{text}");
    return line[(line.LastIndexOf(": ", StringComparison.Ordinal) + 2)..].Trim();
}

static double ParseClock(string s)
{
    // h:mm:ss or m:ss.ss
    var parts = s.Split(':');
    double total = 0;
    foreach (var p in parts) total = total * 60 + double.Parse(p, CultureInfo.InvariantCulture);
    return total * 1000;
}

static double Median(IEnumerable<double> values)
{
    var v = values.Order().ToList();
    return v.Count == 0 ? 0 : v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
}
