using System.Text.RegularExpressions;
using k8s.Models;

namespace NetDiag.Operator.Checks.Parsing;

/// <summary>What the checks need from the <c>coredns</c> ConfigMap's Corefile.</summary>
public sealed partial record Corefile(string? ForwardLine, bool ForwardsToResolvConf, string ClusterDomain)
{
    public const string DataKey = "Corefile";

    public static Corefile? From(V1ConfigMap? configMap)
    {
        if (configMap?.Data is null || !configMap.Data.TryGetValue(DataKey, out var text)) return null;
        return Parse(text);
    }

    public static Corefile Parse(string text)
    {
        string? forward = null;
        var domain = "cluster.local";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (forward is null && ForwardRoot().IsMatch(line)) forward = line;
            var k = KubernetesPlugin().Match(line);
            if (k.Success) domain = k.Groups["domain"].Value.TrimEnd('.');
        }
        var toResolv = forward is not null && forward.Contains("/etc/resolv.conf", StringComparison.Ordinal);
        return new Corefile(forward, toResolv, domain);
    }

    [GeneratedRegex(@"^(forward|proxy)\s+\.\s")]
    private static partial Regex ForwardRoot();

    [GeneratedRegex(@"^kubernetes\s+(?<domain>[A-Za-z0-9.-]+)")]
    private static partial Regex KubernetesPlugin();
}
