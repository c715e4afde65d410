using System.Text;

namespace Xar.Testing;

/// <summary>
/// A scratch directory, removed with everything in it on Dispose: also directories without write
/// permission, names that are not UTF-8, mounts left inside and mounts elsewhere of the archives
/// inside (<see cref="Mounts.DetachAll"/>). The scratch directories of a test process are kept
/// together in one directory named after the process, so those of a run that was killed before it
/// could clean up (images take hundreds of megabytes), and the mounts of their archives, are
/// removed by the next run.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    private const string ProcessPrefix = "xar-tests-";
    private const string MemoryFileSystem = "/dev/shm";

    static TempDirectory()
    {
        foreach (string parent in Parents)
        {
            if (!Directory.Exists(parent))
                continue;
            foreach (string run in Directory.EnumerateDirectories(parent, ProcessPrefix + "*"))
            {
                if (IsAbandoned(run))
                    DeleteIfPossible(run);
            }
        }
        // The mounts of such a run's archives in a default mount root outlive its directory.
        foreach (var (mountPoint, source) in Mounts.WithSources())
        {
            if (Parents.Select(parent => RunDirectory(parent, source)).FirstOrDefault(run => run is not null) is { } run && IsAbandoned(run))
                Mounts.DetachLauncherMount(mountPoint);
        }
        // Also what a test did not dispose; the test host runs exit handlers when it ends normally.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (string parent in Parents)
                DeleteIfPossible(ProcessDirectory(parent));
        };
    }

    private static string[] Parents => [System.IO.Path.GetTempPath(), MemoryFileSystem];

    /// <summary>Whether a run directory's process is gone.</summary>
    private static bool IsAbandoned(string run) =>
        int.TryParse(System.IO.Path.GetFileName(run)[ProcessPrefix.Length..], out int pid)
        && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}");

    /// <summary>The run directory in <paramref name="parent"/> that <paramref name="path"/> lies in, or null.</summary>
    private static string? RunDirectory(string parent, string path)
    {
        string prefix = parent.TrimEnd('/') + "/";
        return path.StartsWith(prefix + ProcessPrefix, StringComparison.Ordinal) ? prefix + path[prefix.Length..].Split('/')[0] : null;
    }

    /// <param name="label">The start of the directory's name, saying what it is for.</param>
    /// <param name="inMemory">On /dev/shm when it exists: for tests that create and delete many trees.</param>
    public TempDirectory(string label = "scratch", bool inMemory = false)
    {
        string parent = inMemory && Directory.Exists(MemoryFileSystem) ? MemoryFileSystem : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(ProcessDirectory(parent), $"{label}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Writes a UTF-8 file (creating its directories) and returns its path.</summary>
    public string Write(string relative, string text, UnixFileMode? mode = null) =>
        Write(relative, Encoding.UTF8.GetBytes(text), mode);

    /// <summary>Writes a file (creating its directories) and returns its path.</summary>
    public string Write(string relative, byte[] bytes, UnixFileMode? mode = null)
    {
        string path = Combine(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        if (mode is { } unixMode)
            File.SetUnixFileMode(path, unixMode);
        return path;
    }

    /// <summary>Removes a directory below this one, the same way as the whole, if it is there.</summary>
    public void Delete(string relative)
    {
        string path = Combine(relative);
        if (Directory.Exists(path))
            DeleteTree(path);
    }

    public void Dispose() => DeleteTree(Path);

    private static string ProcessDirectory(string parent) => System.IO.Path.Combine(parent, ProcessPrefix + Environment.ProcessId);

    private static void DeleteIfPossible(string path)
    {
        if (!Directory.Exists(path))
            return;
        try
        {
            DeleteTree(path);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Left for the next run to retry: a leftover is never a test's failure.
        }
    }

    private static void DeleteTree(string path)
    {
        Mounts.DetachAll(path);
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Extracted trees hold directories without write permission, names that are not
            // UTF-8, which .NET's string paths cannot address, and trees nested beyond PATH_MAX
            // (a failed extraction's, ArgumentException): rm works through descriptors.
            Run.Program("chmod", ["-R", "u+rwX", path]);
            Run.Checked("rm", ["-rf", path]);
        }
    }
}
