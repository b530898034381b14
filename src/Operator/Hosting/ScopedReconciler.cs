using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Hosting;

/// <summary>
/// Resolves the registered <see cref="IReconciler{TEntity}"/> in a fresh DI scope per reconcile
/// (as KubeOps does), so a reconciler may depend on scoped services.
/// </summary>
public sealed class ScopedReconciler<T>(IServiceScopeFactory scopes) : IReconciler<T> where T : IKubernetesObject<V1ObjectMeta>
{
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var reconciler = scope.ServiceProvider.GetRequiredService<IReconciler<T>>();
        return await reconciler.ReconcileAsync(key, cancellationToken).ConfigureAwait(false);
    }
}
