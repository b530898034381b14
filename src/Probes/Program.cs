using NetDiag.Entities;

// Composition only: parse, run, print (ProbeApp). The catch is the last line of defence: whatever
// happens, the probe ends with a message and the Unknown exit code, never an unhandled exception.
try
{
    return await NetDiag.Probes.ProbeApp.RunAsync(args, Console.Out, Console.Error);
}
catch (Exception e)
{
    Console.Error.WriteLine($"netdiag-probe: internal error: {e.GetType().Name}: {e.Message}");
    return (int)CheckStatus.Unknown;
}
