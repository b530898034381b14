using NetDiag.Probes.Parsing;

namespace NetDiag.Probes.Collectors;

/// <summary>Network devices with MTU, addresses and vxlan details, via <c>ip -d -j addr show</c>.</summary>
public static class LinkCollector
{
    public static async Task<Gathered<List<LinkInfo>>> CollectAsync(TimeSpan timeout)
    {
        var run = await CommandRunner.RunAsync("ip", ["-d", "-j", "addr", "show"], timeout).ConfigureAwait(false);
        if (!run.Ok) return Gathered<List<LinkInfo>>.Fail(run.Error!);
        if (run.Value!.ExitCode != 0) return Gathered<List<LinkInfo>>.Fail($"ip addr show exited {run.Value.ExitCode}: {run.Value.Stderr.Trim()}");
        var (links, error) = IpLinkJsonParser.Parse(run.Value.Stdout);
        return error is null ? Gathered<List<LinkInfo>>.Of(links) : Gathered<List<LinkInfo>>.Fail(error);
    }
}
