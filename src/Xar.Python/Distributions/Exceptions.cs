namespace Xar.Python.Distributions;

/// <summary>A wheel is malformed, corrupt, inconsistent with its RECORD or tries to write outside its target.</summary>
public sealed class InvalidWheelException(string wheelPath, string problem, Exception? inner = null)
    : Exception($"{wheelPath}: {problem}", inner)
{
    public string WheelPath { get; } = wheelPath;
    public string Problem { get; } = problem;
}

/// <summary>A wheel's tags do not include any the target interpreter supports.</summary>
public sealed class IncompatibleWheelException(string wheelPath, string interpreter)
    : Exception($"{wheelPath}: the wheel's tags ({string.Join(", ", Tags(wheelPath))}) are not supported by {interpreter}")
{
    public string WheelPath { get; } = wheelPath;
    public string Interpreter { get; } = interpreter;

    private static IEnumerable<string> Tags(string wheelPath) =>
        Standards.WheelFilename.TryParse(System.IO.Path.GetFileName(wheelPath), out var name)
            ? name.Tags.Select(t => t.ToString())
            : [];
}

/// <summary>An installed distribution or environment cannot be read (missing metadata, unreadable files, an unknown layout).</summary>
public sealed class InstalledDistributionException(string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner)
{
    public string Path { get; } = path;
}

/// <summary>A requirement that cannot be met, who asked for it, and why.</summary>
public sealed record UnsatisfiedRequirement(string Requirement, string RequiredBy, string Reason)
{
    public override string ToString() => $"{Requirement} (required by {RequiredBy}): {Reason}";
}

/// <summary>Requirements that are missing, conflict or cannot be used; every one is listed, not only the first.</summary>
public sealed class DistributionResolutionException(string source, IReadOnlyList<UnsatisfiedRequirement> problems)
    : Exception($"Cannot satisfy the requirements from {source}:\n" + string.Join("\n", problems.Select(p => "  " + p)))
{
    public IReadOnlyList<UnsatisfiedRequirement> Problems { get; } = problems;
}

/// <summary>Two distributions put different content at the same image path.</summary>
public sealed class ConflictingFilesException(IReadOnlyList<string> conflicts)
    : Exception("Distributions write different files to the same path:\n" + string.Join("\n", conflicts.Select(c => "  " + c)))
{
    public IReadOnlyList<string> Conflicts { get; } = conflicts;
}

/// <summary>An artifact's hash differs from the one a lock or requirements file expects, or none of its hashes can be checked.</summary>
public sealed class ArtifactHashException(string path, string problem) : Exception($"{path}: {problem}")
{
    public string Path { get; } = path;
}

/// <summary>A lock file (pylock.toml) or hashed requirements file asks for something that cannot be installed here; the message names the file and the entry.</summary>
public sealed class LockFileException(string message) : Exception(message);
