using k8s.Models;
using NetDiag.Entities;
using NetDiag.Entities.Api;
using NetDiag.Entities.Reports;
using NetDiag.Operator.Checks;
using NetDiag.Operator.Planning;
using static NetDiag.Operator.Tests.Reconcile.Cluster;

namespace NetDiag.Operator.Tests.Reconcile;

public sealed class PlanningTests
{
    private static readonly ProbeJobSettings Settings = new()
    {
        Namespace = "netdiag-system", Image = "registry.local/netdiag-probe:1.0", Command = "/usr/local/bin/netdiag-probe", ServiceAccount = "netdiag-probe",
    };

    // ---------------------------------------------------------------- names

    [Theory]
    [InlineData("flannel-cluster", "n1")]
    [InlineData("a-very-long-diagnosis-name-that-goes-on-and-on-and-on-forever-and-ever", "ip-10-0-12-34.eu-west-1.compute.internal")]
    [InlineData("dots.in.name", "node")]
    public void Job_names_are_deterministic_valid_and_at_most_63_chars(string diagnosis, string node)
    {
        var a = Names.JobName(diagnosis, "uid-1", "g1", node);
        Assert.Equal(a, Names.JobName(diagnosis, "uid-1", "g1", node));
        Assert.True(a.Length <= 63, a);
        Assert.Matches("^nd-[a-z0-9]([-a-z0-9]*[a-z0-9])?-[0-9a-f]{6}-[0-9a-f]{6}$", a);
        Assert.NotEqual(a, Names.JobName(diagnosis, "uid-1", "g2", node));
        Assert.NotEqual(a, Names.JobName(diagnosis, "uid-2", "g1", node));
        Assert.NotEqual(a, Names.JobName(diagnosis, "uid-1", "g1", node + "x"));
    }

    [Theory]
    [InlineData("n1", "n1")]
    [InlineData("ip-10-0-12-34.eu-west-1.compute.internal", "ip-10-0-12-34.eu-west-1.compute.internal")]
    public void Valid_label_values_are_kept(string value, string expected) => Assert.Equal(expected, Names.LabelValue(value));

    [Fact]
    public void Overlong_label_values_become_a_prefix_plus_hash()
    {
        var node = new string('a', 70) + ".example.com";
        var v = Names.LabelValue(node);
        Assert.True(v.Length <= 63);
        Assert.Matches("^[a-z0-9-]+-[0-9a-f]{10}$", v);
        Assert.NotEqual(v, Names.LabelValue(new string('a', 70) + ".example.org"));
    }

    // ---------------------------------------------------------------- Job builder

    [Fact]
    public void Probe_job_has_the_spec_the_issue_asks_for()
    {
        var d = Diagnosis();
        var plan = new ProbePlan { Node = "n1", Checks = [CheckNames.IpForward] };
        var job = ProbeJobBuilder.Build(new ProbeJobRequest(d, "g1", "n1", plan, 120), Settings);

        Assert.Equal(Names.JobName("flannel-cluster", d.Metadata.Uid!, "g1", "n1"), job.Metadata.Name);
        Assert.Equal("netdiag-system", job.Metadata.NamespaceProperty);
        var expectedLabels = new Dictionary<string, string>
        {
            ["netdiag.io/diagnosis"] = "flannel-cluster", ["netdiag.io/run"] = "g1", ["netdiag.io/node"] = "n1",
            ["app.kubernetes.io/managed-by"] = "netdiag-operator", ["app.kubernetes.io/component"] = "probe",
        };
        Assert.Equal(expectedLabels, job.Metadata.Labels);
        Assert.Equal(expectedLabels, job.Spec.Template.Metadata.Labels);
        var owner = Assert.Single(job.Metadata.OwnerReferences);
        Assert.Equal(("netdiag.io/v1alpha1", "NetworkDiagnosis", "flannel-cluster", d.Metadata.Uid, true, true),
            (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion));

        Assert.Equal(0, job.Spec.BackoffLimit);
        Assert.Equal(120, job.Spec.ActiveDeadlineSeconds);
        Assert.Equal(600, job.Spec.TtlSecondsAfterFinished);

        var pod = job.Spec.Template.Spec;
        Assert.Equal("n1", pod.NodeName);
        var toleration = Assert.Single(pod.Tolerations);
        Assert.Equal("Exists", toleration.OperatorProperty);
        Assert.Null(toleration.Key);
        Assert.True(pod.HostNetwork);
        Assert.True(pod.HostPID);
        Assert.Equal("ClusterFirstWithHostNet", pod.DnsPolicy);
        Assert.Equal("Never", pod.RestartPolicy);
        Assert.False(pod.AutomountServiceAccountToken);
        Assert.Equal("netdiag-probe", pod.ServiceAccountName);

        var c = Assert.Single(pod.Containers);
        Assert.Equal("registry.local/netdiag-probe:1.0", c.Image);
        Assert.Equal(["/usr/local/bin/netdiag-probe", "--output", "json", "--termination-log", "/dev/termination-log"], c.Command);
        Assert.Equal("FallbackToLogsOnError", c.TerminationMessagePolicy);
        var env = Assert.Single(c.Env);
        Assert.Equal("NETDIAG_PROBE_PLAN", env.Name);
        Assert.True(ProbeReportCodec.TryParsePlan(env.Value, out var parsed, out var error), error);
        Assert.Equal(["ipForward"], parsed!.Checks);
        Assert.Equal(["ALL"], c.SecurityContext.Capabilities.Drop);
        Assert.Equal(["NET_RAW", "NET_ADMIN"], c.SecurityContext.Capabilities.Add);
        Assert.True(c.SecurityContext.ReadOnlyRootFilesystem);
        Assert.False(c.SecurityContext.Privileged);
        var mount = Assert.Single(c.VolumeMounts);
        Assert.Equal(("/host", true, "HostToContainer"), (mount.MountPath, mount.ReadOnlyProperty, mount.MountPropagation));
        var volume = Assert.Single(pod.Volumes);
        Assert.Equal((mount.Name, "/"), (volume.Name, volume.HostPath.Path));
        Assert.NotNull(c.Resources.Requests["memory"]);
        Assert.NotNull(c.Resources.Limits["memory"]);
    }

    // ---------------------------------------------------------------- launch planning

    private static V1Job Job(string node, string run = "g1", bool finished = false) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"job-{node}-{run}", NamespaceProperty = "netdiag-system", Labels = new Dictionary<string, string> { [WellKnown.LabelRun] = run, [WellKnown.LabelNode] = node } },
        Status = new V1JobStatus { Conditions = finished ? [new V1JobCondition { Type = "Complete", Status = "True" }] : null },
    };

    [Theory]
    [InlineData(10, 0, 3, 3)]   // empty: fill to the bound
    [InlineData(10, 2, 3, 1)]   // two alive: one slot left
    [InlineData(10, 3, 3, 0)]   // full: wait
    [InlineData(2, 0, 50, 2)]   // fewer nodes than slots
    public void Never_more_than_maxConcurrentProbes_alive(int waiting, int alive, int max, int expected)
    {
        var nodes = Enumerable.Range(0, waiting).Select(i => $"w{i:D2}").ToList();
        var jobs = Enumerable.Range(0, alive).Select(i => Job($"a{i}")).ToList();
        jobs.Add(Job("done", finished: true));
        var plan = LaunchPlanner.Plan(nodes, jobs, "g1", max, deadlinePassed: false);
        Assert.Equal(nodes.Take(expected), plan.CreateFor);
    }

    [Fact]
    public void Jobs_just_created_but_not_yet_cached_count_as_alive()
    {
        var plan = LaunchPlanner.Plan(["n1", "n2", "n3"], [], "g1", 2, false, pendingCreations: 2);
        Assert.Empty(plan.CreateFor);
    }

    [Fact]
    public void Jobs_of_an_older_run_are_deleted_and_hold_their_slot_until_gone()
    {
        var old = Job("n1", run: "g1");
        var plan = LaunchPlanner.Plan(["n1", "n2"], [old], "g2", 1, false);
        Assert.Equal([old], plan.Delete);
        Assert.Empty(plan.CreateFor);
    }

    [Fact]
    public void Nothing_is_launched_after_the_deadline()
    {
        var plan = LaunchPlanner.Plan(["n1"], [], "g1", 5, deadlinePassed: true);
        Assert.Empty(plan.CreateFor);
    }

    // ---------------------------------------------------------------- run planning

    [Fact]
    public void A_new_generation_starts_a_run_and_a_finished_one_does_not_run_again()
    {
        // Without a schedule the reconcile's SchedulePlanner keeps the one-shot rule: one run per generation.
        var now = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
        ScheduleDecision Decide(NetDiag.Entities.Api.V1alpha1NetworkDiagnosis d, params string[] live) => SchedulePlanner.Decide(ScheduleState.From(d, live), now);

        var fresh = Decide(Diagnosis(generation: 3));
        Assert.Equal((ScheduleAction.RunNow, "g3"), (fresh.Action, fresh.RunId));

        var running = Diagnosis(generation: 3, status: new NetworkDiagnosisStatus { Phase = Phases.Running, CurrentRun = "g3", RunStartTime = now.AddSeconds(-30).UtcDateTime });
        Assert.Equal((ScheduleAction.Busy, "g3"), (Decide(running, "g3").Action, Decide(running, "g3").RunId));

        var done = Diagnosis(generation: 3, status: new NetworkDiagnosisStatus { Phase = Phases.Completed, CurrentRun = "g3" });
        Assert.Equal(ScheduleAction.Done, Decide(done).Action);

        var edited = Diagnosis(generation: 4, status: new NetworkDiagnosisStatus { Phase = Phases.Completed, CurrentRun = "g3" });
        Assert.Equal((ScheduleAction.RunNow, "g4"), (Decide(edited).Action, Decide(edited).RunId));

        var editedWhileRunning = Diagnosis(generation: 4, status: new NetworkDiagnosisStatus { Phase = Phases.Running, CurrentRun = "g3" });
        Assert.Equal(["g3"], Decide(editedWhileRunning, "g3").SupersededRuns); // never two runs at once
    }

    [Theory]
    [InlineData(null, 120)]
    [InlineData("10s", 10)]
    [InlineData("1m30s", 90)]
    public void Timeout_defaults_to_two_minutes(string? timeout, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RunSettings.From(new NetworkDiagnosisSpec { Timeout = timeout }).Timeout);

    // ---------------------------------------------------------------- check selection

    [Fact]
    public void Empty_checks_means_all_that_apply_and_flannelPort_is_skipped_on_calico_with_a_reason()
    {
        var s = CheckSelection.Resolve(null, CniKind.Calico);
        Assert.DoesNotContain(CheckNames.FlannelPort, s.Checks);
        Assert.Equal(["flannelPort: not a flannel cluster (calico detected)"], s.Skipped);
        Assert.Equal(CheckNames.ClusterChecks, s.ClusterChecks);
        Assert.Contains(CheckNames.DnsLoop, s.NodeChecks);
        Assert.Contains(CheckNames.DnsLoop, s.ClusterChecks);
    }

    [Fact]
    public void Named_checks_keep_catalog_order_and_split_into_halves()
    {
        var s = CheckSelection.Resolve(["flannelPort", "ipForward", "dnsLoop", "podCidrOverlap"], CniKind.Flannel);
        Assert.Equal(["podCidrOverlap", "dnsLoop", "ipForward", "flannelPort"], s.Checks);
        Assert.Equal(["podCidrOverlap", "dnsLoop"], s.ClusterChecks);
        Assert.Equal(["dnsLoop", "ipForward", "flannelPort"], s.NodeChecks);
        Assert.Empty(s.Skipped);
    }

    // ---------------------------------------------------------------- node selection

    [Fact]
    public void Node_selector_matches_labels_and_expressions()
    {
        var nodes = new[]
        {
            Node("cp", labels: new Dictionary<string, string> { ["node-role.kubernetes.io/control-plane"] = "", ["zone"] = "a" }),
            Node("w1", labels: new Dictionary<string, string> { ["zone"] = "a" }),
            Node("w2", labels: new Dictionary<string, string> { ["zone"] = "b" }),
        };
        var selector = new V1LabelSelector
        {
            MatchLabels = new Dictionary<string, string> { ["zone"] = "a" },
            MatchExpressions = [new V1LabelSelectorRequirement { Key = "node-role.kubernetes.io/control-plane", OperatorProperty = "DoesNotExist" }],
        };
        Assert.Equal(["w1"], NodeSelection.Select(nodes, selector).Select(n => n.Metadata.Name));
        Assert.Equal(["cp", "w1", "w2"], NodeSelection.Select(nodes, null).Select(n => n.Metadata.Name));
        var notIn = new V1LabelSelector { MatchExpressions = [new V1LabelSelectorRequirement { Key = "zone", OperatorProperty = "NotIn", Values = ["a"] }] };
        Assert.Equal(["w2"], NodeSelection.Select(nodes, notIn).Select(n => n.Metadata.Name));
    }

    // ---------------------------------------------------------------- probe plan

    [Theory]
    [InlineData(null, null)]
    [InlineData("example.com.", "example.com")]
    [InlineData("  ", null)]
    public void Probe_plan_asks_for_the_external_name_only_when_the_spec_names_one(string? specName, string? planned)
    {
        var (nodes, facts) = Healthy();
        var plan = ProbePlanBuilder.Build("n1", View(nodes, facts), [CheckNames.DnsService], specName);
        Assert.Equal(planned, plan.ExternalName);
    }

    [Fact]
    public void Probe_plan_carries_peers_dns_and_flannel_facts()
    {
        var (nodes, facts) = Healthy();
        facts = facts with { FlannelConfig = FlannelConfig("10.244.0.0/16", "vxlan", 8475) };
        var plan = ProbePlanBuilder.Build("n1", View(nodes, facts), [CheckNames.FlannelPort, CheckNames.DnsService]);
        Assert.Equal("n1", plan.Node);
        Assert.Equal(new PeerNode { Name = "n1", NodeIp = "192.168.50.11", PodCidr = "10.244.1.0/24" }, plan.Self);
        Assert.Equal(["n2", "n3"], plan.Peers.Select(p => p.Name));
        Assert.Equal(["10.244.1.2", "10.244.2.2"], plan.CoreDnsPodIps);
        Assert.Equal(("10.96.0.10", "10.96.0.1"), (plan.KubeDnsServiceIp, plan.KubernetesServiceIp));
        Assert.Equal(("vxlan", 8475, "10.244.0.0/16"), (plan.Flannel.Type, plan.Flannel.Port, plan.Flannel.Network));
        Assert.True(plan.RunsCoreDns);
        Assert.Equal("iptables", plan.KubeProxyMode);
        Assert.Equal("cluster.local", plan.ClusterDomain);
    }

    /// <summary>The probe's dnsLoop check counts a loopback nameserver only when CoreDNS reads /etc/resolv.conf.</summary>
    [Theory]
    [InlineData("forward . /etc/resolv.conf", true, "forward . /etc/resolv.conf")]
    [InlineData("forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }", true, "forward . /etc/resolv.conf {")]
    [InlineData("forward . 10.0.0.2 10.0.0.3", false, "forward . 10.0.0.2 10.0.0.3")]
    [InlineData("proxy . /etc/resolv.conf", true, "proxy . /etc/resolv.conf")]
    [InlineData("cache 30", false, null)]  // no forward at all: CoreDNS never reads the node's resolv.conf
    [InlineData(null, true, null)]         // no coredns ConfigMap: assume kubeadm's default, keep flagging the trap
    public void Probe_plan_says_whether_CoreDNS_forwards_to_resolv_conf(string? forwardLine, bool expected, string? expectedLine)
    {
        var (nodes, facts) = Healthy();
        facts = facts with
        {
            CoreDnsConfig = forwardLine is null ? null : ConfigMap("kube-system", "coredns", new Dictionary<string, string>
            {
                ["Corefile"] = $".:53 {{\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa\n    {forwardLine}\n    loop\n}}\n",
            }),
        };
        var plan = ProbePlanBuilder.Build("n1", View(nodes, facts), [CheckNames.DnsLoop]);
        Assert.Equal((expected, expectedLine), (plan.CorednsForwardsToResolvConf, plan.CorednsForward));
        Assert.True(ProbeReportCodec.TryParsePlan(ProbeReportCodec.SerializePlan(plan), out var roundTripped, out var error), error);
        Assert.Equal(expected, roundTripped!.CorednsForwardsToResolvConf);
    }

    [Fact]
    public void A_plan_written_before_the_Corefile_field_still_treats_loopback_as_the_trap()
    {
        Assert.True(ProbeReportCodec.TryParsePlan("{\"node\":\"n1\"}", out var plan, out var error), error);
        Assert.True(plan!.CorednsForwardsToResolvConf);
    }

    [Fact]
    public void On_a_big_cluster_each_plan_gets_a_small_stable_sample_and_together_they_cover_every_node()
    {
        var (nodes, facts) = Healthy(200);
        var view = View(nodes, facts);
        var plans = nodes.Select(n => ProbePlanBuilder.Build(n.Metadata.Name, view, [CheckNames.PodCidrReachability])).ToList();
        Assert.All(plans, p => Assert.Equal(ProbePlanBuilder.MaxPeersInPlan, p.Peers.Count));
        Assert.All(plans, p => Assert.DoesNotContain(p.Peers, x => x.Name == p.Node));
        Assert.Equal(plans[5].Peers, ProbePlanBuilder.Build(plans[5].Node, view, [CheckNames.PodCidrReachability]).Peers);
        Assert.Equal(200, plans.SelectMany(p => p.Peers).Select(p => p.Name).Distinct().Count());
        Assert.True(ProbeReportCodec.SerializePlan(plans[0]).Length < 4096);
    }
}
