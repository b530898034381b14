using NetDiag.Probes.Cli;

// Composition only: parse, run, print. See ProbeApp for the flow.
return await NetDiag.Probes.ProbeApp.RunAsync(args, Console.Out, Console.Error);
