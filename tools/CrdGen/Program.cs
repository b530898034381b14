using NetDiag.Tools.CrdGen;

// Usage: CrdGen [REPO_ROOT] [--check]
//   writes REPO_ROOT/config/crd/netdiag.io_networkdiagnoses.yaml (REPO_ROOT: found from the
//   current directory by NetDiag.Operator.sln); --check only compares and exits 1 on drift.
var check = args.Contains("--check");
var root = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? FindRepoRoot(Directory.GetCurrentDirectory());
if (root is null)
{
    Console.Error.WriteLine("CrdGen: cannot find the repository root (NetDiag.Operator.sln); pass it as the first argument");
    return 2;
}

var path = Path.Combine(root, CrdGenerator.RelativePath);
string yaml;
try
{
    yaml = CrdGenerator.GenerateYaml();
}
catch (Exception e) when (e is InvalidOperationException or NotSupportedException or FileNotFoundException)
{
    Console.Error.WriteLine($"CrdGen: {e.Message}");
    return 2;
}

var current = File.Exists(path) ? File.ReadAllText(path) : null;
if (check)
{
    if (current == yaml)
        return 0;
    Console.Error.WriteLine($"CrdGen: {CrdGenerator.RelativePath} is out of date; run `make manifests`");
    return 1;
}

if (current == yaml)
{
    Console.WriteLine($"CrdGen: {CrdGenerator.RelativePath} is up to date");
    return 0;
}

Directory.CreateDirectory(Path.GetDirectoryName(path)!);
File.WriteAllText(path, yaml);
Console.WriteLine($"CrdGen: wrote {CrdGenerator.RelativePath}");
return 0;

static string? FindRepoRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "NetDiag.Operator.sln")))
            return dir.FullName;
    return null;
}
