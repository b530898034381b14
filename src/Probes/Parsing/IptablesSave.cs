namespace NetDiag.Probes.Parsing;

/// <summary>One <c>-A</c> line of an <c>iptables-save</c> dump, with the fields the checks look at.</summary>
/// <param name="Table">filter, nat, mangle, raw, security.</param>
/// <param name="Chain">The chain it is appended to.</param>
/// <param name="Position">1-based position in its chain: what <c>iptables -L --line-numbers</c> shows.</param>
/// <param name="Line">1-based line in the dump.</param>
/// <param name="Text">The line as dumped, e.g. <c>-A FORWARD -j REJECT --reject-with icmp-host-prohibited</c>.</param>
public sealed record IptablesRule(string Table, string Chain, int Position, int Line, string Text)
{
    public string? Protocol { get; init; }
    public string? Source { get; init; }
    public string? Destination { get; init; }
    public string? InInterface { get; init; }
    public string? OutInterface { get; init; }
    /// <summary>Destination ports as written (<c>8472</c>, <c>8000:9000</c>, or a multiport list <c>53,8472</c>).</summary>
    public string? DestinationPorts { get; init; }
    /// <summary>The <c>-j</c> or <c>-g</c> target: ACCEPT, DROP, REJECT, RETURN or a chain name.</summary>
    public string? Target { get; init; }
    public string? Comment { get; init; }
    /// <summary>Conntrack states (<c>--ctstate</c> / <c>--state</c>), e.g. <c>RELATED,ESTABLISHED</c>.</summary>
    public string? ConnState { get; init; }
    /// <summary>True when a match module other than comment (or a negation) narrows the rule.</summary>
    public bool HasOtherMatches { get; init; }
    /// <summary>True when some selector is negated with <c>!</c>.</summary>
    public bool HasNegation { get; init; }

    public bool IsBlocking => Target is "DROP" or "REJECT";

    /// <summary>Whether the destination-port selector includes <paramref name="port"/>.</summary>
    public bool MatchesDestinationPort(int port)
    {
        if (DestinationPorts is null) return false;
        foreach (var part in DestinationPorts.Split(','))
        {
            var range = part.Split(':');
            if (range.Length == 1 && int.TryParse(range[0], out var p) && p == port) return true;
            if (range.Length == 2
                && int.TryParse(range[0].Length == 0 ? "0" : range[0], out var lo)
                && int.TryParse(range[1].Length == 0 ? "65535" : range[1], out var hi)
                && lo <= port && port <= hi) return true;
        }
        return false;
    }

    /// <summary>The command that deletes this rule: the dumped line with <c>-A</c> turned into <c>-D</c>.</summary>
    public string DeleteCommand(string binary = "iptables") =>
        $"{binary}{(Table == "filter" ? "" : " -t " + Table)} -D{Text[2..]}";

    public override string ToString() => $"{Table} {Chain} #{Position}: {Text}";
}

/// <summary>A chain declared in the dump (<c>:NAME POLICY [packets:bytes]</c>).</summary>
public sealed record IptablesChain(string Table, string Name, string? Policy);

/// <summary>A parsed dump. Parsing never throws: what could not be read is listed in <see cref="Warnings"/>.</summary>
public sealed class IptablesRuleset
{
    private readonly Dictionary<(string Table, string Chain), List<IptablesRule>> _byChain = new();
    private readonly Dictionary<(string Table, string Chain), IptablesChain> _chains = new();

    public List<IptablesRule> Rules { get; } = [];
    public List<string> Warnings { get; } = [];

    /// <summary>False when a table was cut off before its COMMIT (a truncated dump).</summary>
    public bool Complete { get; internal set; } = true;

    public IEnumerable<IptablesChain> Chains => _chains.Values;

    public bool HasChain(string table, string chain) => _chains.ContainsKey((table, chain)) || _byChain.ContainsKey((table, chain));

    public IReadOnlyList<IptablesRule> RulesIn(string table, string chain) =>
        _byChain.TryGetValue((table, chain), out var list) ? list : [];

    public IptablesChain? Chain(string table, string name) => _chains.GetValueOrDefault((table, name));

    /// <summary>How many chains belong to Kubernetes or the CNI (KUBE-, FLANNEL-, CNI-, cali-, cilium).</summary>
    public int KubernetesChainCount => _chains.Keys.Count(k => IptablesNames.IsKubernetesOrCni(k.Chain));

    internal void AddChain(IptablesChain chain) => _chains[(chain.Table, chain.Name)] = chain;

    internal int NextPosition(string table, string chain)
    {
        if (!_byChain.TryGetValue((table, chain), out var list)) return 1;
        return list.Count + 1;
    }

    internal void AddRule(IptablesRule rule)
    {
        Rules.Add(rule);
        if (!_byChain.TryGetValue((rule.Table, rule.Chain), out var list))
            _byChain[(rule.Table, rule.Chain)] = list = [];
        list.Add(rule);
    }
}

/// <summary>Names of chains that Kubernetes, CNIs and Docker own, and the built-in ones.</summary>
public static class IptablesNames
{
    private static readonly string[] KubernetesPrefixes = ["KUBE", "CNI", "FLANNEL", "cali", "cilium", "CILIUM", "DOCKER", "WEAVE"];

    public static bool IsBuiltin(string chain) => chain is "INPUT" or "OUTPUT" or "FORWARD" or "PREROUTING" or "POSTROUTING";

    /// <summary>Chains seed 000 says to ignore when looking for a foreign firewall.</summary>
    public static bool IsKubernetesOrCni(string chain)
    {
        foreach (var p in KubernetesPrefixes)
            if (chain.StartsWith(p, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>Which product a foreign chain name points at, for the evidence.</summary>
    public static string GuessOwner(string chain) =>
        chain.StartsWith("ufw", StringComparison.Ordinal) ? "ufw"
        : chain.Contains("_ZONES", StringComparison.Ordinal) || chain.EndsWith("_direct", StringComparison.Ordinal)
          || chain.StartsWith("IN_", StringComparison.Ordinal) || chain.StartsWith("FWDI_", StringComparison.Ordinal)
          || chain.StartsWith("FWDO_", StringComparison.Ordinal) || chain.StartsWith("FWD_", StringComparison.Ordinal)
            ? "firewalld"
        : "unknown";
}

/// <summary>
/// Parses <c>iptables-save</c> output (nft or legacy backend: the text format is the same).
/// Written by hand over spans because real nodes with many Services dump 100k+ lines.
/// </summary>
public static class IptablesSaveParser
{
    public static IptablesRuleset Parse(string? text)
    {
        var set = new IptablesRuleset();
        if (string.IsNullOrEmpty(text)) return set;

        string? table = null;
        var lineNo = 0;
        var tokens = new List<string>(32);
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            lineNo++;
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#') continue;
            switch (line[0])
            {
                case '*':
                    if (table is not null)
                    {
                        set.Warnings.Add($"line {lineNo}: table {table} has no COMMIT before *{line[1..].ToString()}");
                        set.Complete = false;
                    }
                    table = line[1..].Trim().ToString();
                    if (table.Length == 0) { set.Warnings.Add($"line {lineNo}: empty table name"); table = null; }
                    break;
                case ':':
                    if (table is null) { set.Warnings.Add($"line {lineNo}: chain declared outside a table"); break; }
                    var decl = line[1..];
                    var sp = decl.IndexOf(' ');
                    var name = (sp < 0 ? decl : decl[..sp]).ToString();
                    string? policy = null;
                    if (sp >= 0)
                    {
                        var rest = decl[(sp + 1)..].TrimStart();
                        var sp2 = rest.IndexOf(' ');
                        var p = (sp2 < 0 ? rest : rest[..sp2]).ToString();
                        policy = p == "-" || p.Length == 0 ? null : p;
                    }
                    if (name.Length == 0) set.Warnings.Add($"line {lineNo}: chain without a name");
                    else set.AddChain(new IptablesChain(table, name, policy));
                    break;
                default:
                    if (line.SequenceEqual("COMMIT"))
                    {
                        if (table is null) set.Warnings.Add($"line {lineNo}: COMMIT outside a table");
                        table = null;
                    }
                    else if (line.StartsWith("-A ") || line.StartsWith("-I "))
                    {
                        if (table is null) { set.Warnings.Add($"line {lineNo}: rule outside a table"); break; }
                        var rule = ParseRule(table, line, lineNo, set, tokens);
                        if (rule is not null) set.AddRule(rule);
                    }
                    else
                    {
                        if (set.Warnings.Count < 50) set.Warnings.Add($"line {lineNo}: not understood: {Cut(line.ToString(), 80)}");
                    }
                    break;
            }
        }
        if (table is not null)
        {
            set.Warnings.Add($"table {table} has no COMMIT: the dump is truncated");
            set.Complete = false;
        }
        return set;
    }

    private static IptablesRule? ParseRule(string table, ReadOnlySpan<char> line, int lineNo, IptablesRuleset set, List<string> tokens)
    {
        tokens.Clear();
        if (!Tokenize(line, tokens))
            set.Warnings.Add($"line {lineNo}: unbalanced quotes");
        if (tokens.Count < 2) { set.Warnings.Add($"line {lineNo}: rule without a chain"); return null; }
        var chain = tokens[1];
        string? proto = null, src = null, dst = null, inIf = null, outIf = null, dports = null, target = null, comment = null, state = null;
        bool other = false, negation = false, negateNext = false;
        for (var i = 2; i < tokens.Count; i++)
        {
            var t = tokens[i];
            string? Next() => i + 1 < tokens.Count ? tokens[++i] : null;
            if (t == "!") { negateNext = true; negation = true; continue; }
            var neg = negateNext;
            negateNext = false;
            switch (t)
            {
                case "-p": case "--protocol": proto = Neg(neg, Next()); break;
                case "-s": case "--source": src = Neg(neg, Next()); break;
                case "-d": case "--destination": dst = Neg(neg, Next()); break;
                case "-i": case "--in-interface": inIf = Neg(neg, Next()); break;
                case "-o": case "--out-interface": outIf = Neg(neg, Next()); break;
                case "--dport": case "--destination-port": case "--dports": case "--destination-ports":
                    var v = Next();
                    if (neg) other = true; else dports = v;
                    break;
                case "-j": case "--jump": case "-g": case "--goto": target = Next(); break;
                case "--comment": comment = Next(); break;
                case "--ctstate": case "--state": state = Neg(neg, Next()); other = true; break;
                case "-m": case "--match":
                    var module = Next();
                    if (module is not ("comment" or "udp" or "tcp" or "multiport" or "conntrack" or "state")) other = true;
                    break;
                default:
                    // Module options we do not model (--reject-with, --mark, ...): a target option is
                    // not a match, anything after -m is already flagged by the module itself.
                    break;
            }
        }
        return new IptablesRule(table, chain, set.NextPosition(table, chain), lineNo, line.ToString())
        {
            Protocol = proto, Source = src, Destination = dst, InInterface = inIf, OutInterface = outIf,
            DestinationPorts = dports, Target = target, Comment = comment, ConnState = state,
            HasOtherMatches = other, HasNegation = negation,
        };
    }

    private static string? Neg(bool neg, string? value) => value is null ? null : neg ? "!" + value : value;

    /// <summary>Splits on spaces, honouring the double quotes iptables-save puts around comments.</summary>
    private static bool Tokenize(ReadOnlySpan<char> line, List<string> tokens)
    {
        var i = 0;
        var balanced = true;
        while (i < line.Length)
        {
            while (i < line.Length && line[i] == ' ') i++;
            if (i >= line.Length) break;
            if (line[i] == '"')
            {
                var sb = new System.Text.StringBuilder();
                i++;
                var closed = false;
                while (i < line.Length)
                {
                    var c = line[i];
                    if (c == '\\' && i + 1 < line.Length) { sb.Append(line[i + 1]); i += 2; continue; }
                    if (c == '"') { closed = true; i++; break; }
                    sb.Append(c);
                    i++;
                }
                if (!closed) balanced = false;
                tokens.Add(sb.ToString());
            }
            else
            {
                var start = i;
                while (i < line.Length && line[i] != ' ') i++;
                tokens.Add(line[start..i].ToString());
            }
        }
        return balanced;
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}

/// <summary>
/// Picks the iptables backend holding the Kubernetes rules, as kube-proxy does: nodes can have rules
/// in both the nft and the legacy backend, and only one of them is what the kernel path really uses
/// for Kubernetes traffic.
/// </summary>
public static class IptablesBackendChooser
{
    /// <summary>Returns the index of the chosen dump (or -1 when none is usable) and why.</summary>
    public static (int Index, string Why) Choose(IReadOnlyList<(string Backend, IptablesRuleset? Rules)> dumps)
    {
        var best = -1;
        var bestScore = (-1, -1);
        for (var i = 0; i < dumps.Count; i++)
        {
            var r = dumps[i].Rules;
            if (r is null) continue;
            var score = (r.KubernetesChainCount, r.Rules.Count);
            if (score.CompareTo(bestScore) > 0) { best = i; bestScore = score; }
        }
        if (best < 0) return (-1, "no iptables backend could be read");
        var chosen = dumps[best];
        var why = bestScore.Item1 > 0
            ? $"{chosen.Backend} backend holds the Kubernetes/CNI chains ({bestScore.Item1} chains, {bestScore.Item2} rules)"
            : $"{chosen.Backend} backend has the most rules ({bestScore.Item2}); no Kubernetes/CNI chains in any backend";
        return (best, why);
    }
}
