using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Xar.SquashFs.Reading;

namespace Xar.SquashFs.Tests.Reading;

/// <summary>Runs squashfs-tools and other commands the reader is checked against.</summary>
internal static class SquashFsTools
{
    public static readonly bool IsRoot = Environment.UserName == "root" || Posix.GetEffectiveUserId() == 0;

    /// <summary>
    /// Runs a command to completion; throws with its output when it exits with a code other than
    /// 0 (or one of <paramref name="acceptedExitCodes"/>) or exceeds the timeout.
    /// </summary>
    public static string Run(string file, IEnumerable<string> arguments, string? workingDirectory = null,
        IDictionary<string, string>? environment = null, int timeoutSeconds = 300, int[]? acceptedExitCodes = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        if (workingDirectory is not null) info.WorkingDirectory = workingDirectory;
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        if (environment is not null)
            foreach (var (key, value) in environment) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish in {timeoutSeconds} s");
        }
        process.WaitForExit();
        if (process.ExitCode != 0 && acceptedExitCodes?.Contains(process.ExitCode) != true)
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }

    /// <summary>Builds an image of <paramref name="source"/> with mksquashfs and the given options.</summary>
    public static void Mksquashfs(string source, string image, string options)
    {
        var arguments = new List<string> { source, image, "-noappend", "-quiet", "-no-progress", "-processors", "2" };
        arguments.AddRange(options.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Run("mksquashfs", arguments);
    }

    /// <summary>unsquashfs -d into a new directory.</summary>
    public static void Unsquashfs(string image, string destination, params string[] paths)
    {
        Run("unsquashfs", ["-n", "-q", "-d", destination, image, .. paths]);
    }

    /// <summary>unsquashfs -lln (numeric owners) with times in UTC, one line per entry.</summary>
    public static string[] ListNumeric(string image) =>
        Run("unsquashfs", ["-lln", image], environment: new Dictionary<string, string> { ["TZ"] = "UTC" })
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>A scratch directory removed on dispose (the helpers may leave read-only directories behind).</summary>
internal sealed class TempDirectory : IDisposable
{
    private static readonly string BaseDirectory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"xar-reader-tests-{Environment.ProcessId}");
    private static readonly string MemoryDirectory = $"/dev/shm/xar-reader-tests-{Environment.ProcessId}";

    /// <summary>
    /// Removes scratch directories of earlier test runs whose process is gone (a test host can
    /// exit without running exit handlers, and images take hundreds of megabytes).
    /// </summary>
    static TempDirectory()
    {
        foreach (var parent in new[] { System.IO.Path.GetTempPath(), "/dev/shm" })
        {
            if (!Directory.Exists(parent)) continue;
            foreach (var stale in Directory.EnumerateDirectories(parent, "xar-reader-tests-*"))
            {
                if (int.TryParse(System.IO.Path.GetFileName(stale)["xar-reader-tests-".Length..], out int pid)
                    && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                    Delete(stale);
            }
        }
    }

    /// <param name="inMemory">Under /dev/shm when it exists: for tests that create and delete many trees.</param>
    public TempDirectory(string label = "t", bool inMemory = false)
    {
        string parent = inMemory && Directory.Exists("/dev/shm") ? MemoryDirectory : BaseDirectory;
        Directory.CreateDirectory(parent);
        Path = System.IO.Path.Combine(parent, $"{label}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Removes one entry below the directory, if present.</summary>
    public void Clear(string name)
    {
        string path = Combine(name);
        if (Directory.Exists(path)) Delete(path);
    }

    public void Dispose() => Delete(Path);

    private static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                // Extracted trees contain directories without write permission (as a normal user),
                // and names that are not UTF-8, which .NET's string paths cannot address.
                SquashFsTools.Run("chmod", ["-R", "u+rwx", path]);
                SquashFsTools.Run("rm", ["-rf", path]);
            }
            catch (Exception again) when (again is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // Best effort: a leftover scratch directory must not fail a test.
            }
        }
    }
}

/// <summary>
/// Images built once per (tree, options) for the whole test run, with the unsquashfs extraction of
/// each, since mksquashfs dominates the cost of the tests.
/// </summary>
internal static class ImageCache
{
    private static readonly TempDirectory Root = new("images");
    private static readonly ConcurrentDictionary<string, Lazy<string>> Trees = new();
    private static readonly ConcurrentDictionary<string, Lazy<string>> Images = new();
    private static readonly ConcurrentDictionary<string, Lazy<string>> Extractions = new();

    static ImageCache() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Root.Dispose();

    public static string Tree(string name, Action<string> build) =>
        Trees.GetOrAdd(name, _ => new Lazy<string>(() =>
        {
            string path = Root.Combine("tree-" + name);
            Directory.CreateDirectory(path);
            build(path);
            return path;
        })).Value;

    public static string Image(string treeName, Action<string> buildTree, string options)
    {
        string tree = Tree(treeName, buildTree);
        return Images.GetOrAdd(treeName + "|" + options, key => new Lazy<string>(() =>
        {
            string image = Root.Combine($"img-{Images.Count}-{Guid.NewGuid():N}.sqfs");
            SquashFsTools.Mksquashfs(tree, image, options);
            return image;
        })).Value;
    }

    /// <summary>unsquashfs' extraction of <paramref name="image"/> (shared; do not modify).</summary>
    public static string Unsquashed(string image) =>
        Extractions.GetOrAdd(image, _ => new Lazy<string>(() =>
        {
            string destination = Root.Combine($"unsquashed-{Guid.NewGuid():N}");
            SquashFsTools.Unsquashfs(image, destination);
            return destination;
        })).Value;
}
