using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace NetDiag.Operator.Tests.Runtime;

/// <summary>Routes runtime logs into the test output, so a failing integration test shows what the informer saw.</summary>
internal sealed class XunitLogger(ITestOutputHelper output, string category) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
        }
        catch (InvalidOperationException)
        {
            // the test has finished; late background logs have nowhere to go
        }
    }
}
