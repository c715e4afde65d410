namespace Xar.Testing;

/// <summary>The source checkout the tests run from.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Example(string name) => Path.Combine(Root, "examples", name);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Xar.slnx")))
                return directory.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (Xar.slnx) above " + AppContext.BaseDirectory);
    }
}
