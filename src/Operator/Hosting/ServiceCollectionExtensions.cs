using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetDiag.Entities.Api;
using NetDiag.Operator.Runtime;
using NetDiag.Operator.Runtime.Metrics;

namespace NetDiag.Operator.Hosting;

/// <summary>Registers the operator runtime: client, options, informers, controller, events, metrics, host services.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Binds and validates <see cref="OperatorOptions"/> (section <c>Operator</c>) at start.</summary>
    public static IServiceCollection AddOperatorOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OperatorOptions>()
            .Bind(configuration.GetSection(OperatorOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OperatorOptions>, OperatorOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OperatorOptions>, OperatorOptionsConsistency>());
        return services;
    }

    /// <summary>
    /// The Kubernetes client from the configured kubeconfig, else the in-cluster config inside a
    /// pod, else <c>$KUBECONFIG</c> or <c>~/.kube/config</c>.
    /// </summary>
    public static IServiceCollection AddKubernetesClient(this IServiceCollection services)
    {
        services.TryAddSingleton<IKubernetes>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OperatorOptions>>().Value;
            var config = !string.IsNullOrEmpty(o.Kubeconfig) ? KubernetesClientConfiguration.BuildConfigFromConfigFile(o.Kubeconfig)
                : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildDefaultConfig();
            return new k8s.Kubernetes(config);
        });
        return services;
    }

    /// <summary>
    /// Registers an informer for <typeparamref name="T"/>: as <see cref="Informer{T}"/> (to attach
    /// handlers), as <see cref="IResourceCache{T}"/> (to read in a reconcile) and as
    /// <see cref="IInformer"/> (so the host starts it on leadership and gates readiness on it).
    /// </summary>
    public static IServiceCollection AddInformer<T>(this IServiceCollection services,
        Func<IServiceProvider, ListerWatcher<T>> listerWatcher) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        services.TryAddSingleton(sp => new Informer<T>(listerWatcher(sp), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger($"NetDiag.Operator.Runtime.Informer.{typeof(T).Name}"),
            sp.GetRequiredService<OperatorMetrics>()));
        services.TryAddSingleton<IResourceCache<T>>(sp => sp.GetRequiredService<Informer<T>>().Store);
        services.AddSingleton<IInformer>(sp => sp.GetRequiredService<Informer<T>>());
        return services;
    }

    /// <summary>
    /// The runtime: metrics, events, the four informers (NetworkDiagnosis, Nodes, and the
    /// operator's Jobs and Pods in its namespace) and the NetworkDiagnosis controller wired to them,
    /// plus the hosted services. The reconciler itself comes from <c>AddNetworkDiagnosisController()</c>.
    /// </summary>
    public static IServiceCollection AddOperatorRuntime(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<OperatorMetrics>();
        services.TryAddSingleton<IEventRecorder>(sp => new KubernetesEventRecorder(
            sp.GetRequiredService<IKubernetes>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<KubernetesEventRecorder>>(), sp.GetRequiredService<OperatorMetrics>(),
            new EventRecorderOptions { Instance = OperatorIdentity.Resolve(sp.GetRequiredService<IOptions<OperatorOptions>>().Value) }));

        var managed = $"{WellKnown.LabelManagedBy}={WellKnown.ManagedByValue}";
        services.AddInformer(sp => KubernetesListerWatchers.ClusterCustomObjects<V1alpha1NetworkDiagnosis, V1alpha1NetworkDiagnosisList>(
            sp.GetRequiredService<IKubernetes>(), V1alpha1NetworkDiagnosis.KubeGroup, V1alpha1NetworkDiagnosis.KubeApiVersion,
            V1alpha1NetworkDiagnosis.KubePluralName));
        services.AddInformer(sp => KubernetesListerWatchers.Nodes(sp.GetRequiredService<IKubernetes>()));
        services.AddInformer(sp => KubernetesListerWatchers.Jobs(sp.GetRequiredService<IKubernetes>(),
            sp.GetRequiredService<IOptions<OperatorOptions>>().Value.Namespace, managed));
        services.AddInformer(sp => KubernetesListerWatchers.Pods(sp.GetRequiredService<IKubernetes>(),
            sp.GetRequiredService<IOptions<OperatorOptions>>().Value.Namespace, managed));

        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<OperatorOptions>>().Value;
            var diagnoses = sp.GetRequiredService<Informer<V1alpha1NetworkDiagnosis>>();
            return new Controller<V1alpha1NetworkDiagnosis>("networkdiagnosis",
                    new ScopedReconciler<V1alpha1NetworkDiagnosis>(sp.GetRequiredService<IServiceScopeFactory>()),
                    sp.GetRequiredService<TimeProvider>(),
                    sp.GetRequiredService<ILogger<Controller<V1alpha1NetworkDiagnosis>>>(),
                    sp.GetRequiredService<OperatorMetrics>(),
                    new ControllerOptions { Workers = o.Workers, ShutdownTimeout = o.ShutdownTimeout })
                .For(diagnoses)
                .Owns(sp.GetRequiredService<Informer<V1Job>>(), WellKnown.LabelDiagnosis)
                .Owns(sp.GetRequiredService<Informer<V1Pod>>(), WellKnown.LabelDiagnosis)
                .Watches(sp.GetRequiredService<Informer<V1Node>>(), EventMappers.NodesToAll(diagnoses.Store));
        });
        services.AddSingleton<IController>(sp => sp.GetRequiredService<Controller<V1alpha1NetworkDiagnosis>>());

        services.TryAddSingleton<OperatorState>();
        services.AddHostedService<OperatorHostedService>();
        services.AddHostedService<HealthServer>();
        return services;
    }
}

/// <summary>Checks between settings that attributes cannot express.</summary>
public sealed class OperatorOptionsConsistency : IValidateOptions<OperatorOptions>
{
    public ValidateOptionsResult Validate(string? name, OperatorOptions o)
    {
        var errors = new List<string>();
        if (o.LeaderElection && o.RenewDeadline >= o.LeaseDuration)
            errors.Add($"RenewDeadline ({o.RenewDeadline}) must be shorter than LeaseDuration ({o.LeaseDuration})");
        if (o.LeaderElection && o.RetryPeriod >= o.RenewDeadline)
            errors.Add($"RetryPeriod ({o.RetryPeriod}) must be shorter than RenewDeadline ({o.RenewDeadline})");
        if (!string.IsNullOrEmpty(o.Kubeconfig) && !File.Exists(o.Kubeconfig))
            errors.Add($"Kubeconfig file '{o.Kubeconfig}' does not exist");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
