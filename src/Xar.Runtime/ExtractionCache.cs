using System.Globalization;
using Xar.Runtime.Native;

using StatX = Xar.SquashFs.Native.StatX;

namespace Xar.Runtime;

/// <summary>
/// The extraction rung: complete trees under <c>&lt;cache root&gt;/&lt;image SHA-256&gt;</c>, created
/// under a per-image lock in a temporary directory that is renamed into place only when
/// complete, so a directory with the final name is always whole. Cache roots on a filesystem
/// mounted noexec are skipped (the target could not run there; PyInstaller's most reported
/// failure, peers.md §4).
/// </summary>
internal sealed class ExtractionCache
{
    /// <summary>Cache roots are private to their user.</summary>
    public const int RootMode = 0x1C0; // 0700

    private const string TemporarySuffix = ".tmp";

    private readonly RuntimeSettings _settings;
    private readonly string _archivePath;

    public ExtractionCache(RuntimeSettings settings, string archivePath)
    {
        _settings = settings;
        _archivePath = archivePath;
    }

    /// <summary>
    /// Candidate roots in order of preference: $XDG_CACHE_HOME/xar, ~/.cache/xar,
    /// $XDG_RUNTIME_DIR/xar, then /var/tmp/xar-uid-N and /tmp/xar-uid-N. The last two live in
    /// shared directories, so they must be the caller's own with mode 0700.
    /// </summary>
    public IEnumerable<(string Path, bool Shared)> Roots()
    {
        if (IsAbsolute(_settings.XdgCacheHome))
            yield return (_settings.XdgCacheHome!.TrimEnd('/') + "/xar", false);
        if (IsAbsolute(_settings.Home))
            yield return (_settings.Home!.TrimEnd('/') + "/.cache/xar", false);
        if (IsAbsolute(_settings.XdgRuntimeDir))
            yield return (_settings.XdgRuntimeDir!.TrimEnd('/') + "/xar", false);
        string user = "xar-uid-" + UserIdentity.EffectiveUid.ToString(CultureInfo.InvariantCulture);
        yield return ("/var/tmp/" + user, true);
        yield return ("/tmp/" + user, true);
    }

    /// <summary>A complete extraction of <paramref name="key"/> in a usable root, or null.</summary>
    public string? FindExisting(string key)
    {
        foreach ((string root, bool shared) in Roots())
        {
            string tree = root + "/" + key;
            if (LibC.Stat(tree, followSymlinks: false, out StatX stat) == 0 && stat.IsDirectory
                && RootProblem(root, shared, create: false) is null)
                return tree;
        }
        return null;
    }

    /// <summary>
    /// The extraction of <paramref name="key"/>, made by <paramref name="extract"/> (which must
    /// create the directory it is given) in the first usable root unless one exists already.
    /// </summary>
    /// <exception cref="XarRuntimeException">No root is usable, the lock wait timed out, or extraction failed.</exception>
    public (string Tree, bool Created) GetOrCreate(string key, Action<string> extract)
    {
        var problems = new List<string>();
        foreach ((string root, bool shared) in Roots())
        {
            string? problem = RootProblem(root, shared, create: true);
            if (problem is not null)
            {
                problems.Add(problem);
                continue;
            }
            string tree = root + "/" + key;
            using FileLock held = FileLock.Acquire(tree + ".lock", 0x180, requireOwnedMode: false, _settings.ExtractionLockTimeout, _archivePath, "extracting");
            if (LibC.Stat(tree, followSymlinks: false, out StatX existing) == 0 && existing.IsDirectory)
                return (tree, false);
            RemoveAbandoned(root, key);
            string temporary = $"{root}/.{key}.{Guid.NewGuid():N}{TemporarySuffix}";
            try
            {
                extract(temporary);
                if (LibC.rename(temporary, tree) != 0)
                    throw new XarRuntimeException(XarExitCode.CannotCreate, _archivePath, $"cannot rename {temporary} to {tree}: {LibC.ErrorText(LibC.LastError)}");
            }
            catch
            {
                TreeRemoval.Remove(temporary);
                throw;
            }
            return (tree, true);
        }
        throw new XarRuntimeException(XarExitCode.CannotCreate, _archivePath,
            "no cache directory to extract to: " + string.Join("; ", problems));
    }

    /// <summary>Null when <paramref name="root"/> exists (or was created), is writable and not on a noexec mount; else why not.</summary>
    private static unsafe string? RootProblem(string root, bool shared, bool create)
    {
        if (create)
        {
            // Decided before anything is created there: a noexec filesystem gets no cache directory.
            StatFs ancestor;
            if (LibC.statfs(NearestExisting(root), &ancestor) == 0 && (ancestor.Flags & LibC.ST_NOEXEC) != 0)
                return $"{root} is on a filesystem mounted noexec";
            string? created = CreateDirectories(root);
            if (created is not null)
                return created;
        }
        if (LibC.Stat(root, followSymlinks: false, out StatX stat) != 0)
            return $"{root} does not exist";
        if (!stat.IsDirectory)
            return $"{root} is not a directory";
        if (shared)
        {
            string? ownership = UserIdentity.CheckOwnedEntry(stat, directory: true, RootMode);
            if (ownership is not null)
                return $"{root} {ownership}";
        }
        StatFs fs;
        if (LibC.statfs(root, &fs) == 0 && (fs.Flags & LibC.ST_NOEXEC) != 0)
            return $"{root} is on a filesystem mounted noexec";
        if (create && LibC.access(root, LibC.W_OK | LibC.X_OK) != 0)
            return $"{root} is not writable: {LibC.ErrorText(LibC.LastError)}";
        return null;
    }

    private static string NearestExisting(string path)
    {
        string? current = path;
        while (current is not null && LibC.Stat(current, followSymlinks: true, out _) != 0)
            current = Path.GetDirectoryName(current);
        return current ?? "/";
    }

    /// <summary>mkdir -p with mode 0700 for what it creates; null on success, else the problem.</summary>
    private static string? CreateDirectories(string path)
    {
        if (LibC.mkdir(path, RootMode) == 0)
            return null;
        int errno = LibC.LastError;
        if (errno == LibC.EEXIST)
            return null;
        if (errno == LibC.ENOENT)
        {
            string? parent = Path.GetDirectoryName(path);
            if (parent is null || parent == path)
                return $"cannot create {path}: {LibC.ErrorText(errno)}";
            string? parentProblem = CreateDirectories(parent);
            if (parentProblem is not null)
                return parentProblem;
            if (LibC.mkdir(path, RootMode) == 0 || LibC.LastError == LibC.EEXIST)
                return null;
            errno = LibC.LastError;
        }
        return $"cannot create {path}: {LibC.ErrorText(errno)}";
    }

    /// <summary>Temporary trees of <paramref name="key"/> left by launches that died while extracting (we hold the key's lock, so none is in progress).</summary>
    private static void RemoveAbandoned(string root, string key)
    {
        foreach (string abandoned in Directory.EnumerateFileSystemEntries(root, $".{key}.*{TemporarySuffix}"))
            TreeRemoval.Remove(abandoned);
    }

    private static bool IsAbsolute(string? path) => !string.IsNullOrEmpty(path) && path[0] == '/';
}

/// <summary>Deletes a tree even where the image made directories read-only.</summary>
internal static class TreeRemoval
{
    public static void Remove(string path)
    {
        try
        {
            if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint))
            {
                MakeWritable(path);
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path) || Directory.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void MakeWritable(string directory)
    {
        File.SetUnixFileMode(directory, File.GetUnixFileMode(directory) | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (string child in Directory.EnumerateDirectories(directory))
        {
            if (!File.GetAttributes(child).HasFlag(FileAttributes.ReparsePoint))
                MakeWritable(child);
        }
    }
}
