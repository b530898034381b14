using System.Collections.Concurrent;

namespace NetDiag.Operator.Bench;

/// <summary>Counts the operator's API requests by verb and resource (LIST vs GET vs WATCH told apart).</summary>
public sealed class RequestCounter : DelegatingHandler
{
    private readonly ConcurrentDictionary<string, int> _counts = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _counts.AddOrUpdate(Classify(request), 1, (_, n) => n + 1);
        return base.SendAsync(request, cancellationToken);
    }

    public IReadOnlyDictionary<string, int> Snapshot() => new Dictionary<string, int>(_counts);

    public static IReadOnlyDictionary<string, int> Diff(IReadOnlyDictionary<string, int> after, IReadOnlyDictionary<string, int> before) =>
        after.Select(kv => (kv.Key, N: kv.Value - before.GetValueOrDefault(kv.Key))).Where(x => x.N > 0).ToDictionary(x => x.Key, x => x.N);

    /// <summary><c>LIST nodes</c>, <c>WATCH jobs</c>, <c>PATCH networkdiagnoses/status</c>, <c>GET pods/log</c>...</summary>
    public static string Classify(HttpRequestMessage r)
    {
        var path = r.RequestUri!.AbsolutePath.Trim('/').Split('/');
        var query = r.RequestUri.Query;
        // /api/v1/... or /apis/group/version/...; then optional namespaces/NS; then resource[/name[/sub]]
        var i = path[0] == "api" ? 2 : 3;
        if (i < path.Length && path[i] == "namespaces" && path.Length > i + 2) i += 2;
        var rest = path.Skip(i).ToArray();
        var resource = rest.Length > 0 ? rest[0] : "?";
        var named = rest.Length > 1;
        var sub = rest.Length > 2 ? "/" + rest[2] : "";
        var verb = r.Method.Method switch
        {
            "GET" when query.Contains("watch=true") => "WATCH",
            "GET" when !named => "LIST",
            "GET" => "GET",
            "POST" => "CREATE",
            "PUT" => "UPDATE",
            var m => m,
        };
        return $"{verb} {resource}{sub}";
    }
}
