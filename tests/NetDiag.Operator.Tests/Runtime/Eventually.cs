namespace NetDiag.Operator.Tests.Runtime;

/// <summary>Waits for a condition reached by background work (bounded; asserts nothing about time).</summary>
internal static class Eventually
{
    public static async Task True(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(5);
        }
    }
}
