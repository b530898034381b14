using k8s;
using NetDiag.Operator.Runtime;
using NetDiag.Testing;
using Xunit.Abstractions;
using static NetDiag.Operator.Tests.Runtime.ClusterHelpers;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>Two replicas campaigning for one coordination/v1 Lease on the real API server.</summary>
[Collection(ControlPlaneFixture.Collection)]
public sealed class LeaderElectionIntegrationTests(ControlPlaneFixture cp, ITestOutputHelper output)
{
    private readonly IKubernetes _client = Client(cp);

    /// <summary>One replica: counts how often it starts leading and whether it is leading now.</summary>
    private sealed class Replica(IKubernetes client, LeaderElectionSettings settings, ITestOutputHelper output) : IDisposable
    {
        public readonly LeaderElectionRunner Runner = new(client, settings, new XunitLogger(output, settings.Identity));
        public readonly CancellationTokenSource Stop = new();
        public volatile bool Working;
        public int Starts;
        public Task<LeadershipOutcome>? Run;

        public void Start() => Run = Runner.RunAsync(async ct =>
        {
            Interlocked.Increment(ref Starts);
            Working = true;
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { }
            finally { Working = false; }
        }, Stop.Token);

        public void Dispose() => Stop.Dispose();
    }

    private static LeaderElectionSettings Settings(string lease, string identity) => new("default", lease, identity)
    {
        LeaseDuration = TimeSpan.FromSeconds(6),
        RenewDeadline = TimeSpan.FromSeconds(4),
        RetryPeriod = TimeSpan.FromSeconds(1),
    };

    private string Holder(string lease) =>
        cp.Kubectl("get", "lease", lease, "-n", "default", "-o", "jsonpath={.spec.holderIdentity}").EnsureSuccess("read the lease").StdOut.Trim();

    [Fact]
    public async Task Exactly_one_of_two_replicas_leads_and_the_other_takes_over_when_it_stops()
    {
        var lease = Unique("lease");
        using var a = new Replica(_client, Settings(lease, "replica-a"), output);
        using var b = new Replica(_client, Settings(lease, "replica-b"), output);
        a.Start();
        b.Start();
        try
        {
            await Eventually.True(() => a.Working || b.Working, "a leader");
            var (leader, standby) = a.Working ? (a, b) : (b, a);
            // Watch both through several renewals: never two leaders at once.
            for (var i = 0; i < 30; i++)
            {
                Assert.False(a.Working && b.Working, "two replicas led at the same time");
                Assert.True(standby.Runner.IsRunning && !standby.Runner.IsLeader);
                await Task.Delay(100);
            }
            Assert.Equal(leader.Runner.Settings.Identity, Holder(lease));
            Assert.Equal(leader.Runner.Settings.Identity, standby.Runner.CurrentLeader);

            leader.Stop.Cancel(); // SIGTERM: finish, release the Lease
            Assert.Equal(LeadershipOutcome.Stopped, await leader.Run!.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.False(leader.Working);
            await Eventually.True(() => standby.Working, "the standby takes over", TimeSpan.FromSeconds(30));
            Assert.Equal(standby.Runner.Settings.Identity, Holder(lease));
            Assert.Equal(1, standby.Starts);
            Assert.Equal(1, leader.Starts);
        }
        finally
        {
            a.Stop.Cancel();
            b.Stop.Cancel();
            await Task.WhenAll(a.Run!, b.Run!).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task A_stopped_leader_releases_the_lease()
    {
        var lease = Unique("lease");
        using var a = new Replica(_client, Settings(lease, "replica-a"), output);
        a.Start();
        await Eventually.True(() => a.Working, "leading");
        Assert.Equal("replica-a", Holder(lease));
        a.Stop.Cancel();
        Assert.Equal(LeadershipOutcome.Stopped, await a.Run!.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("", Holder(lease)); // released, not left to expire
    }

    [Fact]
    public async Task A_leader_whose_lease_is_taken_stops_its_work_and_reports_lost()
    {
        var lease = Unique("lease");
        using var a = new Replica(_client, Settings(lease, "replica-a"), output);
        a.Start();
        try
        {
            await Eventually.True(() => a.Working, "leading");
            // Another holder appears (as after a network partition outlasting the lease): keep its
            // record fresh so replica-a can neither renew nor take it back.
            using var intruder = new CancellationTokenSource();
            var hijack = Task.Run(async () =>
            {
                while (!intruder.IsCancellationRequested)
                {
                    var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ");
                    cp.Kubectl("patch", "lease", lease, "-n", "default", "--type=merge", "-p",
                        "{\"spec\":{\"holderIdentity\":\"intruder\",\"renewTime\":\"" + now + "\",\"leaseDurationSeconds\":60}}");
                    await Task.Delay(500);
                }
            });
            var outcome = await a.Run!.WaitAsync(TimeSpan.FromSeconds(60));
            intruder.Cancel();
            await hijack;
            Assert.Equal(LeadershipOutcome.Lost, outcome);
            Assert.False(a.Working);
            Assert.Equal("intruder", Holder(lease));
        }
        finally
        {
            a.Stop.Cancel();
        }
    }
}
