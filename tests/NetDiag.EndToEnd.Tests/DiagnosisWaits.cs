using System.Diagnostics;
using k8s;
using NetDiag.Entities.Api;
using Xunit.Sdk;

namespace NetDiag.EndToEnd.Tests;

/// <summary>Applying a diagnosis from YAML and waiting for what a user would see in its status.</summary>
internal static class DiagnosisWaits
{
    public static async Task ApplyAsync(this EndToEndFixture fx, string yaml, string name) =>
        (await fx.ControlPlane.KubectlAsync(["apply", "-f", "-"], yaml)).EnsureSuccess($"kubectl apply nd/{name}");

    /// <summary>Polls nd/<paramref name="name"/> until <paramref name="done"/>; fails with status and operator log.</summary>
    public static async Task<V1alpha1NetworkDiagnosis> WaitForAsync(this EndToEndFixture fx, string name,
        Func<V1alpha1NetworkDiagnosis, bool> done, TimeSpan limit, string what)
    {
        var sw = Stopwatch.StartNew();
        V1alpha1NetworkDiagnosis? last = null;
        while (sw.Elapsed < limit)
        {
            last = await fx.GetAsync(name);
            if (last?.Status is not null && done(last))
                return last;
            if (fx.Operator.HasExited) break;
            await Task.Delay(500);
        }
        throw new XunitException($"nd/{name}: {what} not seen within {limit.TotalSeconds:0}s.\n{Describe(fx, last)}");
    }

    public static k8s.Models.V1Condition? Condition(this V1alpha1NetworkDiagnosis nd, string type) =>
        nd.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    public static string Describe(EndToEndFixture fx, V1alpha1NetworkDiagnosis? nd) =>
        $"--- status ---\n{(nd?.Status is null ? "none" : KubernetesJson.Serialize(nd.Status))}\n" +
        $"--- kubectl get jobs,pods -n {EndToEndFixture.OperatorNamespace} ---\n{fx.ControlPlane.Kubectl("get", "jobs,pods", "-n", EndToEndFixture.OperatorNamespace, "-o", "wide").StdOut}\n" +
        $"--- operator log (tail) ---\n{fx.Operator.Tail()}";

    public static bool Finished(V1alpha1NetworkDiagnosis nd) =>
        nd.Status is { Phase: Phases.Completed or Phases.Failed } s && s.ObservedGeneration == nd.Metadata.Generation;
}
