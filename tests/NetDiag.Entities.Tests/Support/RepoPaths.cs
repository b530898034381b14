namespace NetDiag.Entities.Tests.Support;

/// <summary>Finds files of the repository the tests run from (by NetDiag.Operator.sln).</summary>
public static class RepoPaths
{
    public static string Root { get; } = Find();

    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NetDiag.Operator.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no NetDiag.Operator.sln above {AppContext.BaseDirectory}");
    }
}
