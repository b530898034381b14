using NetDiag.Entities.Api;
using NetDiag.Operator.Runtime;

namespace NetDiag.Operator.Controllers;

/// <summary>Reconciles one NetworkDiagnosis. (Stub: the reconcile owner fills this in.)</summary>
public sealed class NetworkDiagnosisReconciler : IReconciler<V1alpha1NetworkDiagnosis>
{
    public Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken) =>
        Task.FromResult(ReconcileResult.Done);
}
