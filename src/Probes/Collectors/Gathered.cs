namespace NetDiag.Probes.Collectors;

/// <summary>
/// A fact gathered on the node, or why it could not be: collectors record failure as data so a
/// check can answer Unknown with the reason instead of throwing.
/// </summary>
public sealed record Gathered<T>(T? Value, string? Error)
{
    public bool Ok => Error is null;

    public static Gathered<T> Of(T value) => new(value, null);
    public static Gathered<T> Fail(string error) => new(default, error);

    public Gathered<TOut> Map<TOut>(Func<T, TOut> map) => Ok ? Gathered<TOut>.Of(map(Value!)) : Gathered<TOut>.Fail(Error!);
}

/// <summary>Runs a collector step with a timeout and turns any exception into a failure record.</summary>
public static class Guard
{
    public static async Task<Gathered<T>> RunAsync<T>(string what, TimeSpan timeout, Func<CancellationToken, Task<Gathered<T>>> step)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await step(cts.Token).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return Gathered<T>.Fail($"{what}: timed out after {timeout.TotalMilliseconds:0} ms");
        }
        catch (OperationCanceledException)
        {
            return Gathered<T>.Fail($"{what}: timed out after {timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception e)
        {
            return Gathered<T>.Fail($"{what}: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Runs blocking file reads off the caller's thread, so a hung file system costs one timeout.</summary>
    public static Task<Gathered<T>> RunSync<T>(string what, TimeSpan timeout, Func<Gathered<T>> step) =>
        RunAsync(what, timeout, _ => Task.Run(step));
}
