namespace NetDiag.Probes.Parsing;

/// <summary>One <c>-A</c> line of an <c>iptables-save</c> dump, with the fields the checks look at.</summary>
/// <param name="Table">filter, nat, mangle, raw, security.</param>
/// <param name="Chain">The chain it is appended to.</param>
/// <param name="Position">1-based position in its chain: what <c>iptables -L --line-numbers</c> shows.</param>
/// <param name="Line">1-based line in the dump.</param>
public sealed record IptablesRule(string Table, string Chain, int Position, int Line)
{
    private string? _text;
    private readonly string? _source;
    private readonly int _start, _length;

    public IptablesRule(string table, string chain, int position, int line, string text) : this(table, chain, position, line) => _text = text;

    /// <summary>A rule whose text is a slice of the dump, cut out only when someone reads it (100k rules, a few read).</summary>
    internal IptablesRule(string table, string chain, int position, int line, string source, int start, int length) : this(table, chain, position, line)
    {
        _source = source;
        _start = start;
        _length = length;
    }

    /// <summary>The line as dumped, e.g. <c>-A FORWARD -j REJECT --reject-with icmp-host-prohibited</c>.</summary>
    public string Text => _text ??= _source?.Substring(_start, _length) ?? "";

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
        var names = new Interner();
        var whole = text.AsSpan();
        foreach (var raw in whole.EnumerateLines())
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
                    table = names.Get(line[1..].Trim());
                    if (table.Length == 0) { set.Warnings.Add($"line {lineNo}: empty table name"); table = null; }
                    break;
                case ':':
                    if (table is null) { set.Warnings.Add($"line {lineNo}: chain declared outside a table"); break; }
                    var decl = line[1..];
                    var sp = decl.IndexOf(' ');
                    var name = names.Get(sp < 0 ? decl : decl[..sp]);
                    string? policy = null;
                    if (sp >= 0)
                    {
                        var rest = decl[(sp + 1)..].TrimStart();
                        var sp2 = rest.IndexOf(' ');
                        var p = names.Get(sp2 < 0 ? rest : rest[..sp2]);
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
                        var start = (int)(System.Runtime.CompilerServices.Unsafe.ByteOffset(
                            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(whole),
                            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(line)) / sizeof(char));
                        var rule = ParseRule(table, line, lineNo, set, names, text, start);
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

    private static IptablesRule? ParseRule(string table, ReadOnlySpan<char> line, int lineNo, IptablesRuleset set, Interner names, string source, int start)
    {
        // Walks the tokens as spans and materialises only the values the checks keep: a kube-proxy
        // dump is mostly long comments and statistic matches that nobody reads.
        var rest = line[3..];
        var tokens = new Tokenizer(rest);
        if (!tokens.Next(out var chainSpan, out _)) { set.Warnings.Add($"line {lineNo}: rule without a chain"); return null; }
        var chain = names.Get(chainSpan);
        string? proto = null, src = null, dst = null, inIf = null, outIf = null, dports = null, target = null, comment = null, state = null;
        bool other = false, negation = false, negateNext = false;
        while (tokens.Next(out var t, out _))
        {
            if (t.SequenceEqual("!")) { negateNext = true; negation = true; continue; }
            var neg = negateNext;
            negateNext = false;
            if (t.Length < 2 || t[0] != '-') continue;
            switch (t)
            {
                case "-p": case "--protocol": proto = Value(ref tokens, neg, names); break;
                case "-s": case "--source": src = Value(ref tokens, neg, null); break;
                case "-d": case "--destination": dst = Value(ref tokens, neg, null); break;
                case "-i": case "--in-interface": inIf = Value(ref tokens, neg, names); break;
                case "-o": case "--out-interface": outIf = Value(ref tokens, neg, names); break;
                case "--dport": case "--destination-port": case "--dports": case "--destination-ports":
                    var v = Value(ref tokens, false, null);
                    if (neg) other = true; else dports = v;
                    break;
                case "-j": case "--jump": case "-g": case "--goto": target = Value(ref tokens, false, names); break;
                case "--comment": comment = Value(ref tokens, false, null); break;
                case "--ctstate": case "--state": state = Value(ref tokens, neg, names); other = true; break;
                case "-m": case "--match":
                    if (tokens.Next(out var module, out _)
                        && !(module.SequenceEqual("comment") || module.SequenceEqual("udp") || module.SequenceEqual("tcp")
                             || module.SequenceEqual("multiport") || module.SequenceEqual("conntrack") || module.SequenceEqual("state")))
                        other = true;
                    break;
                default:
                    // Module options we do not model (--reject-with, --mark, ...): a target option is
                    // not a match, anything after -m is already flagged by the module itself.
                    break;
            }
        }
        if (!tokens.Balanced) set.Warnings.Add($"line {lineNo}: unbalanced quotes");
        return new IptablesRule(table, chain, set.NextPosition(table, chain), lineNo, source, start, line.Length)
        {
            Protocol = proto, Source = src, Destination = dst, InInterface = inIf, OutInterface = outIf,
            DestinationPorts = dports, Target = target, Comment = comment, ConnState = state,
            HasOtherMatches = other, HasNegation = negation,
        };
    }

    private static string? Value(ref Tokenizer tokens, bool negated, Interner? names)
    {
        if (!tokens.Next(out var v, out var quoted)) return null;
        var text = quoted ? Unquote(v) : names is not null ? names.Get(v) : v.ToString();
        return negated ? "!" + text : text;
    }

    private static string Unquote(ReadOnlySpan<char> v)
    {
        if (v.IndexOf('\\') < 0) return v.ToString();
        var sb = new System.Text.StringBuilder(v.Length);
        for (var i = 0; i < v.Length; i++)
        {
            if (v[i] == '\\' && i + 1 < v.Length) i++;
            sb.Append(v[i]);
        }
        return sb.ToString();
    }

    /// <summary>Splits on spaces, honouring the double quotes iptables-save puts around comments.</summary>
    private ref struct Tokenizer(ReadOnlySpan<char> text)
    {
        private readonly ReadOnlySpan<char> _text = text;
        private int _i;
        public bool Balanced { get; private set; } = true;

        /// <summary>The next token; for a quoted one, the text between the quotes (escapes kept).</summary>
        public bool Next(out ReadOnlySpan<char> token, out bool quoted)
        {
            while (_i < _text.Length && _text[_i] == ' ') _i++;
            quoted = false;
            if (_i >= _text.Length) { token = default; return false; }
            if (_text[_i] == '"')
            {
                quoted = true;
                var start = ++_i;
                while (_i < _text.Length && _text[_i] != '"')
                    _i += _text[_i] == '\\' && _i + 1 < _text.Length ? 2 : 1;
                if (_i >= _text.Length) { Balanced = false; token = _text[start..]; return true; }
                token = _text[start.._i];
                _i++;
                return true;
            }
            var s = _i;
            while (_i < _text.Length && _text[_i] != ' ') _i++;
            token = _text[s.._i];
            return true;
        }
    }

    /// <summary>One string per distinct chain, target or interface name: 100k rules share a few hundred.</summary>
    private sealed class Interner
    {
        private readonly Dictionary<string, string> _map = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

        public Interner() => _lookup = _map.GetAlternateLookup<ReadOnlySpan<char>>();

        public string Get(ReadOnlySpan<char> s)
        {
            if (_lookup.TryGetValue(s, out var existing)) return existing;
            var str = s.ToString();
            _map[str] = str;
            return str;
        }
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
