using k8s.Models;
using NetDiag.Operator.Kubernetes;

namespace NetDiag.Operator.Checks;

/// <summary>
/// Whether the kube-dns Service has a ready endpoint, from both sources kube-proxy may use:
/// EndpointSlices (discovery.k8s.io/v1 on 1.21+, v1beta1 on 1.20) and the core Endpoints object.
/// A ready address in either is enough: on 1.20 Endpoints is the baseline, on newer clusters
/// slices are the source of truth and Endpoints may be absent. Unknown (null) only when no
/// source could be read at all.
/// </summary>
/// <param name="HasReady">True: some ready address; false: none in any readable source; null: nothing readable.</param>
/// <param name="Evidence">One line per source: what it showed, or why it was not read.</param>
public sealed record KubeDnsEndpoints(bool? HasReady, IReadOnlyList<string> Evidence)
{
    public static KubeDnsEndpoints From(ClusterFacts facts)
    {
        var evidence = new List<string>();
        var readable = false;
        var ready = 0;

        if (facts.KubeDnsEndpointSlices is { } slices)
        {
            readable = true;
            var n = ReadyAddresses(slices);
            ready += n;
            evidence.Add($"EndpointSlices ({facts.EndpointSliceApi ?? "discovery.k8s.io"}): {slices.Count} slice(s), {n} ready address(es)");
        }
        else if (facts.GatherErrors.TryGetValue(SystemObjects.EndpointSlicesSource, out var sliceError))
            evidence.Add($"EndpointSlices unreadable: {sliceError}");
        else
            evidence.Add("EndpointSlices: not served by this API server");

        if (facts.GatherErrors.TryGetValue(SystemObjects.EndpointsSource, out var epError))
            evidence.Add($"Endpoints kube-dns unreadable: {epError}");
        else
        {
            readable = true;
            var n = facts.KubeDnsEndpoints?.Subsets?.Sum(s => s.Addresses?.Count ?? 0) ?? 0;
            var notReady = facts.KubeDnsEndpoints?.Subsets?.Sum(s => s.NotReadyAddresses?.Count ?? 0) ?? 0;
            ready += n;
            evidence.Add(facts.KubeDnsEndpoints is null
                ? "Endpoints kube-dns: not found"
                : $"Endpoints kube-dns: {n} ready, {notReady} not-ready address(es)");
        }
        return new KubeDnsEndpoints(readable ? ready > 0 : null, evidence);
    }

    /// <summary>Addresses of endpoints whose ready condition is not false (nil means ready, per the EndpointSlice API).</summary>
    private static int ReadyAddresses(IEnumerable<V1EndpointSlice> slices) =>
        slices.SelectMany(s => s.Endpoints ?? [])
            .Where(e => e.Conditions?.Ready != false)
            .Sum(e => e.Addresses?.Count ?? 0);
}
