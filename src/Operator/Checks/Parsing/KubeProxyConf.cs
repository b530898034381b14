using System.Text.RegularExpressions;
using k8s.Models;

namespace NetDiag.Operator.Checks.Parsing;

/// <summary>
/// The parts of kubeadm's <c>kube-proxy</c> ConfigMap the checks use: <c>config.conf</c>'s
/// <c>mode</c> and <c>clusterCIDR</c>, and whether <c>kubeconfig.conf</c> is present.
/// A line scan is enough for these two top-level scalar keys.
/// </summary>
public sealed partial record KubeProxyConf(bool HasConfig, bool HasKubeconfig, string Mode, string? ClusterCidr)
{
    public const string ConfigKey = "config.conf";
    public const string KubeconfigKey = "kubeconfig.conf";

    public static KubeProxyConf? From(V1ConfigMap? configMap)
    {
        if (configMap is null) return null;
        var data = configMap.Data ?? new Dictionary<string, string>();
        var hasConfig = data.TryGetValue(ConfigKey, out var config) && !string.IsNullOrWhiteSpace(config);
        var hasKubeconfig = data.TryGetValue(KubeconfigKey, out var kc) && !string.IsNullOrWhiteSpace(kc);
        string mode = "iptables";
        string? clusterCidr = null;
        foreach (var raw in (config ?? "").Split('\n'))
        {
            var m = TopLevelScalar().Match(raw.TrimEnd('\r'));
            if (!m.Success) continue;
            var value = m.Groups["value"].Value.Trim().Trim('"', '\'');
            switch (m.Groups["key"].Value)
            {
                // kube-proxy treats an empty mode as its platform default: iptables on Linux.
                case "mode": mode = value.Length == 0 ? "iptables" : value; break;
                case "clusterCIDR": clusterCidr = value.Length == 0 ? null : value; break;
            }
        }
        return new KubeProxyConf(hasConfig, hasKubeconfig, mode, clusterCidr);
    }

    [GeneratedRegex(@"^(?<key>mode|clusterCIDR):\s*(?<value>[^#]*)")]
    private static partial Regex TopLevelScalar();
}
