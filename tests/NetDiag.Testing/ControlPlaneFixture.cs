using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace NetDiag.Testing;

/// <summary>
/// xunit fixture giving tests a real control plane. All instances in one test process share one
/// control plane (reference counted): started by the first <see cref="InitializeAsync"/>, stopped
/// (<c>down</c>) by the last <see cref="DisposeAsync"/>. If the control plane cannot start, every
/// test using the fixture fails with the script output and the component logs: never skipped.
/// </summary>
/// <example>
/// In the test assembly (xunit only finds collection definitions there):
/// <code>
/// [CollectionDefinition(ControlPlaneFixture.Collection)]
/// public sealed class ControlPlaneCollection : ICollectionFixture&lt;ControlPlaneFixture&gt;;
///
/// [Collection(ControlPlaneFixture.Collection)]
/// public sealed class MyTests(ControlPlaneFixture cp) { ... cp.ControlPlane.KubeconfigPath ... }
/// </code>
/// </example>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    /// <summary>Suggested collection name for <c>[CollectionDefinition]</c> / <c>[Collection]</c>.</summary>
    public const string Collection = "ControlPlane";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static ControlPlane? _shared;
    private static Exception? _startFailure;
    private static int _users;

    private readonly IMessageSink _sink;
    private ControlPlane? _controlPlane;
    private bool _counted;

    /// <summary>
    /// xunit injects the diagnostic message sink (progress shows with diagnosticMessages
    /// enabled; it is also written to stderr). xunit allows fixtures one public constructor only.
    /// </summary>
    public ControlPlaneFixture(IMessageSink sink)
    {
        _sink = sink;
    }

    /// <summary>The running control plane. Throws if it failed to start.</summary>
    public ControlPlane ControlPlane => _controlPlane
        ?? throw new ControlPlaneException("the control plane is not started (InitializeAsync has not run or failed)");

    public string KubeconfigPath => ControlPlane.KubeconfigPath;

    public CommandResult Kubectl(params string[] args) => ControlPlane.Kubectl(args);

    public async Task InitializeAsync()
    {
        await Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _users++;
            _counted = true;
            if (_shared is null)
            {
                // A failed start is not retried by the next fixture in the same process: the
                // same error is rethrown quickly instead of paying for it again.
                if (_startFailure is not null)
                {
                    throw new ControlPlaneException($"the control plane failed to start earlier in this test run:\n{_startFailure.Message}");
                }
                try
                {
                    _shared = await ControlPlane.StartAsync(new ControlPlaneOptions
                    {
                        Log = line => _sink.OnMessage(new DiagnosticMessage("[controlplane] " + line)),
                    }).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    _startFailure = e;
                    throw;
                }
            }
            _controlPlane = _shared;
        }
        finally
        {
            Gate.Release();
        }
    }

    public async Task DisposeAsync()
    {
        await Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_counted)
            {
                return;
            }
            _counted = false;
            _controlPlane = null;
            if (--_users == 0 && _shared is not null)
            {
                var cp = _shared;
                _shared = null;
                await cp.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            Gate.Release();
        }
    }
}
