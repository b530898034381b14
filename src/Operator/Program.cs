using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetDiag.Operator.Controllers;
using NetDiag.Operator.Hosting;

// Composition only: configuration, logging, options, the runtime and the reconcile.
// Settings: --Operator:Name=value on the command line, or NETDIAG_Operator__Name in the environment.
var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = args });
builder.Configuration.AddEnvironmentVariables(prefix: "NETDIAG_").AddCommandLine(args);

builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
builder.Logging.AddJsonConsole(o =>
{
    o.IncludeScopes = true;
    o.UseUtcTimestamp = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
});

builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));
builder.Services
    .AddOperatorOptions(builder.Configuration)
    .AddKubernetesClient()
    .AddOperatorRuntime()
    .AddNetworkDiagnosisController();

try
{
    using var host = builder.Build();
    // Validate before starting, so a bad setting ends in the message below rather than a host stack trace.
    _ = host.Services.GetRequiredService<IOptions<OperatorOptions>>().Value;
    await host.RunAsync();
    return OperatorHostedService.ExitCode;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine("netdiag-operator: invalid settings:");
    foreach (var failure in e.Failures) Console.Error.WriteLine($"  - {failure}");
    Console.Error.WriteLine("Set them as --Operator:Name=value or NETDIAG_Operator__Name=value.");
    return 2;
}
catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or k8s.Exceptions.KubernetesClientException)
{
    Console.Error.WriteLine($"netdiag-operator: cannot configure the Kubernetes client: {e.Message}");
    return 2;
}
