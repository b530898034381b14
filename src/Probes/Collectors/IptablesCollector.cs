using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Collectors;

/// <summary>The rule set of the backend that holds the Kubernetes rules, and what the others held.</summary>
public sealed record IptablesSnapshot(string Backend, IptablesRuleset Rules, string Why, IReadOnlyList<string> Notes);

/// <summary>Dumps both iptables backends concurrently and keeps the one Kubernetes uses.</summary>
public static class IptablesCollector
{
    public static async Task<Gathered<IptablesSnapshot>> CollectAsync(TimeSpan timeout)
    {
        var tools = new[] { ("nft", "iptables-nft-save"), ("legacy", "iptables-legacy-save") };
        var present = tools.Where(t => CommandRunner.Locate(t.Item2) is not null).ToList();
        // Older distributions ship only iptables-save (one backend, whichever it was built for).
        if (present.Count == 0 && CommandRunner.Locate("iptables-save") is not null) present.Add(("default", "iptables-save"));
        if (present.Count == 0) return Gathered<IptablesSnapshot>.Fail("no iptables-save, iptables-nft-save or iptables-legacy-save found (tool absent)");

        var runs = present.Select(async t => (t.Item1, t.Item2, Output: await CommandRunner.RunAsync(t.Item2, [], timeout).ConfigureAwait(false))).ToList();
        var done = await Task.WhenAll(runs).ConfigureAwait(false);
        var notes = new List<string>();
        var dumps = new List<(string Backend, IptablesRuleset? Rules)>();
        foreach (var (backend, tool, output) in done)
        {
            if (!output.Ok) { notes.Add(output.Error!); dumps.Add((backend, null)); continue; }
            var o = output.Value!;
            if (o.ExitCode != 0 && o.Stdout.Length == 0)
            {
                notes.Add($"{tool} exited {o.ExitCode}: {FirstLine(o.Stderr)}");
                dumps.Add((backend, null));
                continue;
            }
            var rules = IptablesSaveParser.Parse(o.Stdout);
            dumps.Add((backend, rules));
        }
        var (index, why) = IptablesBackendChooser.Choose(dumps);
        if (index < 0) return Gathered<IptablesSnapshot>.Fail($"iptables could not be read: {string.Join("; ", notes)}");
        foreach (var (backend, rules) in dumps)
            if (rules is not null && backend != dumps[index].Backend && rules.Rules.Count > 0)
                notes.Add($"the {backend} backend also holds {rules.Rules.Count} rules ({rules.KubernetesChainCount} Kubernetes/CNI chains)");
        return Gathered<IptablesSnapshot>.Of(new IptablesSnapshot(dumps[index].Backend, dumps[index].Rules!, why, notes));
    }

    private static string FirstLine(string s)
    {
        var nl = s.IndexOf('\n');
        return (nl < 0 ? s : s[..nl]).Trim();
    }
}
