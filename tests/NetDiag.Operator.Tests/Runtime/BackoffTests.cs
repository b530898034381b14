using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Tests.Runtime;

public class BackoffTests
{
    private static readonly BackoffPolicy Policy = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), Jitter: 0.2);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(4, 16)]
    [InlineData(5, 30)]   // 32 s capped
    [InlineData(40, 30)]
    [InlineData(1000, 30)] // no overflow
    public void Doubles_up_to_the_cap_without_jitter(int attempt, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Policy.Delay(attempt, random01: 0));

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(50)]
    public void Jitter_only_shortens_by_at_most_the_jitter_fraction(int attempt)
    {
        var full = Policy.Delay(attempt, 0);
        var shortest = Policy.Delay(attempt, 0.999999);
        Assert.True(shortest < full);
        Assert.True(shortest >= full * 0.8, $"{shortest} < 80% of {full}");
        Assert.True(full <= Policy.Max);
    }

    [Fact]
    public void A_backoff_grows_until_reset()
    {
        var b = new Backoff(Policy, () => 0);
        Assert.Equal(TimeSpan.FromSeconds(1), b.Next());
        Assert.Equal(TimeSpan.FromSeconds(2), b.Next());
        Assert.Equal(TimeSpan.FromSeconds(4), b.Next());
        Assert.Equal(3, b.Attempts);
        b.Reset();
        Assert.Equal(TimeSpan.FromSeconds(1), b.Next());
    }
}
