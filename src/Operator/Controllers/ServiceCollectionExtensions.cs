using FluentValidation;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using NetDiag.Entities.Api;
using NetDiag.Entities.Validation;
using Microsoft.Extensions.Options;
using NetDiag.Operator.Hosting;
using NetDiag.Operator.Kubernetes;
using NetDiag.Operator.Remediation;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Controllers;

/// <summary>
/// DI registrations of the NetworkDiagnosis reconcile: the reconciler and its I/O ports. All
/// singletons: the reconciler keeps per-process memory (facts per run, Jobs just created, status
/// last written) that must outlive one reconcile; the runtime resolves it per reconcile scope.
/// </summary>
public static class ServiceCollectionExtensions
{
    public static IServiceCollection AddNetworkDiagnosisController(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IValidator<V1alpha1NetworkDiagnosis>, NetworkDiagnosisValidator>();
        services.TryAddSingleton<IClusterFactsReader>(sp => new KubernetesClusterFactsReader(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IProbeJobClient>(sp => new KubernetesProbeJobClient(sp.GetRequiredService<IKubernetes>()));
        services.TryAddSingleton<IDiagnosisStatusWriter>(sp => new KubernetesStatusWriter(sp.GetRequiredService<IKubernetes>()));
        services.TryAddSingleton<RunFactsCache>();
        services.TryAddSingleton<JobExpectations>();
        // Auto-remediation: inert unless a diagnosis says mode Auto (and the operator flag is on).
        services.TryAddSingleton(sp => new RemediationCoordinator(sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<IEventRecorder>(),
            sp.GetRequiredService<IOptions<OperatorOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<NetworkDiagnosisReconciler>();
        services.TryAddSingleton<IReconciler<V1alpha1NetworkDiagnosis>>(sp => sp.GetRequiredService<NetworkDiagnosisReconciler>());
        return services;
    }
}
