namespace NetDiag.Probes.Collectors;

/// <summary>
/// The host's files under a root folder (<c>/host</c> in a probe Job, <c>/</c> by hand). Symbolic
/// links are followed inside that root: an absolute link such as /etc/sysctl.d/99-sysctl.conf →
/// /etc/sysctl.conf means the host's file, not the probe container's.
/// </summary>
public sealed class HostFileSystem(string root)
{
    /// <summary>Caps what one read may take, so a huge or endless file cannot blow the memory goal.</summary>
    public const int MaxFileBytes = 8 * 1024 * 1024;

    public string Root { get; } = string.IsNullOrEmpty(root) ? "/" : root;

    /// <summary>The path inside the probe's file system for a host path, links resolved within the root.</summary>
    public string Resolve(string hostPath)
    {
        var parts = new List<string>();
        var pending = new Stack<string>(Split(hostPath).Reverse());
        var hops = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part == ".") continue;
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
            var real = Real(parts);
            string? target = null;
            try
            {
                var info = new FileInfo(real);
                if (info.LinkTarget is { } t && hops++ < 40) target = t;
            }
            catch (Exception) { /* unreadable: treat as a plain entry, the read will report it */ }
            if (target is null) continue;
            parts.RemoveAt(parts.Count - 1);
            if (target.StartsWith('/')) parts.Clear();
            foreach (var p in Split(target).Reverse()) pending.Push(p);
        }
        return Real(parts);
    }

    /// <summary>The host path a link chain ends at (e.g. /dev/null for a masked sysctl file).</summary>
    public string? LinkTargetHostPath(string hostPath)
    {
        var real = Resolve(hostPath);
        var rootFull = Root.TrimEnd('/');
        return real.StartsWith(rootFull, StringComparison.Ordinal) ? "/" + real[rootFull.Length..].TrimStart('/') : real;
    }

    public bool Exists(string hostPath) => File.Exists(Resolve(hostPath));

    public Gathered<string> ReadText(string hostPath)
    {
        try
        {
            var real = Resolve(hostPath);
            if (Directory.Exists(real)) return Gathered<string>.Fail($"{hostPath} is a directory");
            if (!File.Exists(real)) return Gathered<string>.Fail($"{hostPath} not found");
            using var stream = new FileStream(real, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            var buffer = new byte[64 * 1024];
            using var ms = new MemoryStream();
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                ms.Write(buffer, 0, n);
                if (ms.Length > MaxFileBytes) return Gathered<string>.Fail($"{hostPath} is larger than {MaxFileBytes} bytes");
            }
            return Gathered<string>.Of(System.Text.Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length));
        }
        catch (UnauthorizedAccessException)
        {
            return Gathered<string>.Fail($"{hostPath}: permission denied");
        }
        catch (IOException e)
        {
            return Gathered<string>.Fail($"{hostPath}: {e.Message}");
        }
    }

    /// <summary>File names in a host directory; an absent directory is simply empty.</summary>
    public Gathered<IReadOnlyList<string>> List(string hostPath)
    {
        try
        {
            var real = Resolve(hostPath);
            if (!Directory.Exists(real)) return Gathered<IReadOnlyList<string>>.Of([]);
            return Gathered<IReadOnlyList<string>>.Of(Directory.EnumerateFileSystemEntries(real).Select(Path.GetFileName).OfType<string>().ToList());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Gathered<IReadOnlyList<string>>.Fail($"{hostPath}: {e.Message}");
        }
    }

    private string Real(List<string> parts) =>
        Root.TrimEnd('/') + "/" + string.Join('/', parts);

    private static IEnumerable<string> Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
