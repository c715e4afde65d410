using System.Globalization;
using Xar.Interop;


namespace Xar.Runtime;

public enum CacheEntryKind
{
    Extraction,
    Mount,
}

/// <summary>One thing the launcher left for the caller: an extraction, a mount directory, or a leftover file.</summary>
/// <param name="Path">The extraction's tree, a temporary tree, the mount directory, or the leftover file.</param>
/// <param name="State">
/// <c>extracted</c>; <c>unstamped</c> (a tree without a valid stamp, which launches extract anew);
/// <c>partial</c> (the temporary tree of an extraction in progress or that died);
/// <c>mounted</c>, <c>stale</c> (its squashfuse_ll died; the next launch detaches it) or
/// <c>unmounted</c> (the directory an idle mount left); <c>orphaned</c> (a lock or stamp file
/// without its tree or mount directory).
/// </param>
/// <param name="InUse">A running app or a launch holds it (a mount counts while mounted: squashfuse_ll ends it when idle); nothing removes it.</param>
/// <param name="LastUse">An extraction's last launch (its stamp's mtime), a mount's last cold or locked launch (its lock file's mtime), else the mtime.</param>
/// <param name="Size">Bytes in an extraction's files; null for mounts and leftover files.</param>
/// <param name="Archive">The archive an extraction was made from, as its stamp records it.</param>
public sealed record CacheEntry(CacheEntryKind Kind, string Path, string State, bool InUse, DateTimeOffset? LastUse, long? Size, string? Archive);

/// <summary>What <see cref="CacheInventory.Prune"/> or <see cref="CacheInventory.Clear"/> did with an entry: removed, or kept and why.</summary>
public sealed record CacheRemoval(CacheEntry Entry, bool Removed, string? Reason);

/// <summary>
/// The caller's extractions (in the trusted cache roots of <see cref="ExtractionCache"/>) and
/// mount leftovers (in <c>&lt;mount root&gt;/uid-N</c>): listed, pruned, cleared. Safe against running
/// apps and concurrent launches: an extraction is deleted only under its key's lock and an
/// exclusive flock on the tree, which a running app's inherited shared lock refuses (then it is
/// skipped); it is renamed away first, so a launch that opened it before sees it gone. Lock files
/// are deleted while held (<see cref="FileLock"/> opens again when its file is gone).
/// </summary>
public sealed class CacheInventory
{
    private readonly IReadOnlyList<(string Path, bool Shared)> _extractionRoots;
    private readonly IReadOnlyList<string> _mountRoots;

    /// <param name="extractionRoots">Cache roots (directories holding <c>&lt;image sha256&gt;</c> trees); shared ones must have mode 0700.</param>
    /// <param name="mountRoots">Mount roots (holding <c>uid-N</c> directories).</param>
    public CacheInventory(IEnumerable<(string Path, bool Shared)> extractionRoots, IEnumerable<string> mountRoots)
    {
        _extractionRoots = [.. extractionRoots];
        _mountRoots = [.. mountRoots];
    }

    /// <summary>The roots a launch with <paramref name="settings"/> would use, and the default mount roots unless others are given.</summary>
    public static CacheInventory ForCaller(RuntimeSettings settings, IEnumerable<string>? mountRoots = null) =>
        new(new ExtractionCache(settings, "").Roots(), mountRoots ?? MountLocation.DefaultRoots);

    /// <summary>Everything found, ordered by kind, then path.</summary>
    public IReadOnlyList<CacheEntry> List() => [.. Items().Select(item => item.Entry)];

    /// <summary>
    /// Removes leftovers (partial and unstamped trees, orphaned files; unmounted mount directories
    /// only when older than <paramref name="olderThan"/> if that is given), then extractions not
    /// used for <paramref name="olderThan"/>, then the least recently used ones until all
    /// extractions together take at most <paramref name="maxSize"/> bytes. Entries in use are kept.
    /// </summary>
    public IReadOnlyList<CacheRemoval> Prune(TimeSpan? olderThan, long? maxSize, DateTimeOffset now)
    {
        DateTimeOffset? cutoff = now - olderThan;
        var results = new List<CacheRemoval>();
        List<Item> items = Items();
        foreach (Item item in items.Where(i => i.Entry.State is "partial" or "unstamped" or "orphaned"
            || (i.Entry.State == "unmounted" && (cutoff is null || i.Entry.LastUse < cutoff))))
            results.Add(item.TryRemove());
        List<Item> extractions = [.. items.Where(i => i.Entry.State == "extracted").OrderBy(i => i.Entry.LastUse)];
        long total = extractions.Sum(i => i.Entry.Size ?? 0);
        foreach (Item item in extractions)
        {
            bool old = cutoff is not null && item.Entry.LastUse < cutoff;
            bool over = maxSize is not null && total > maxSize;
            if (!old && !over)
                continue;
            CacheRemoval result = item.TryRemove();
            if (result.Removed)
                total -= item.Entry.Size ?? 0;
            results.Add(result);
        }
        return results;
    }

    /// <summary>Removes everything not in use.</summary>
    public IReadOnlyList<CacheRemoval> Clear() => [.. Items().Select(item => item.TryRemove())];

    private sealed record Item(CacheEntry Entry, Func<string?> Remove)
    {
        public CacheRemoval TryRemove()
        {
            if (Entry.InUse)
                return new CacheRemoval(Entry, false, Entry.State == "mounted" ? "mounted" : "in use");
            string? reason = Remove();
            return new CacheRemoval(Entry, reason is null, reason);
        }
    }

    private List<Item> Items()
    {
        var items = new List<Item>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string candidate, bool shared) in _extractionRoots)
        {
            string? root = ExtractionCache.TrustedRoot(candidate, shared, create: false, out _);
            if (root is not null && seen.Add(root))
                items.AddRange(ExtractionItems(root));
        }
        foreach (string mountRoot in _mountRoots)
        {
            string userDirectory = mountRoot.TrimEnd('/') + "/uid-" + UserIdentity.EffectiveUid.ToString(CultureInfo.InvariantCulture);
            // Only the caller's own directory: anything else there is not the caller's to judge.
            if (LibC.Stat(userDirectory, followSymlinks: false, out StatX stat) == 0
                && UserIdentity.CheckOwnedEntry(stat, directory: true, MountLocation.DirectoryMode) is null && seen.Add(userDirectory))
                items.AddRange(MountItems(userDirectory));
        }
        items.Sort((a, b) => a.Entry.Kind != b.Entry.Kind ? a.Entry.Kind.CompareTo(b.Entry.Kind) : string.CompareOrdinal(a.Entry.Path, b.Entry.Path));
        return items;
    }

    private static IEnumerable<Item> ExtractionItems(string root)
    {
        string[] names = [.. Directory.EnumerateFileSystemEntries(root).Select(path => Path.GetFileName(path))];
        var keysWithTrees = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            string path = root + "/" + name;
            if (name.StartsWith('.'))
            {
                int dot = name.IndexOf('.', 1);
                if (!name.EndsWith(ExtractionCache.TemporarySuffix, StringComparison.Ordinal) || dot < 0)
                    continue;
                string key = name[1..dot];
                keysWithTrees.Add(key);
                yield return new Item(
                    new CacheEntry(CacheEntryKind.Extraction, path, "partial", IsLocked(LockPath(root, key)), ModificationTime(path), TreeSize(path), null),
                    () => UnderLock(LockPath(root, key), () => TreeRemoval.Remove(path) ? null : $"cannot delete everything in {path}"));
            }
            else if (!name.EndsWith(ExtractionCache.LockSuffix, StringComparison.Ordinal) && !name.EndsWith(ExtractionCache.StampSuffix, StringComparison.Ordinal)
                && LibC.Stat(path, followSymlinks: false, out StatX tree) == 0 && tree.IsDirectory)
            {
                keysWithTrees.Add(name);
                string? stamp = ExtractionCache.ReadStamp(root, name, touch: false);
                bool stamped = stamp is not null && ExtractionCache.StampNames(stamp, name, tree);
                yield return new Item(
                    new CacheEntry(CacheEntryKind.Extraction, path, stamped ? "extracted" : "unstamped", IsLocked(path),
                        ModificationTime(stamped ? path + ExtractionCache.StampSuffix : path), TreeSize(path), stamped ? ExtractionCache.StampedArchive(stamp!) : null),
                    () => RemoveExtraction(root, name));
            }
        }
        foreach (string name in names)
        {
            string suffix = name.EndsWith(ExtractionCache.LockSuffix, StringComparison.Ordinal) ? ExtractionCache.LockSuffix
                : name.EndsWith(ExtractionCache.StampSuffix, StringComparison.Ordinal) ? ExtractionCache.StampSuffix : "";
            string key = name[..^suffix.Length];
            if (suffix.Length == 0 || name.StartsWith('.') || keysWithTrees.Contains(key))
                continue;
            string path = root + "/" + name;
            yield return new Item(
                new CacheEntry(CacheEntryKind.Extraction, path, "orphaned", suffix == ExtractionCache.LockSuffix && IsLocked(path), ModificationTime(path), null, null),
                () => UnderLock(LockPath(root, key), () => Unlink(path)));
        }
    }

    private static string LockPath(string root, string key) => root + "/" + key + ExtractionCache.LockSuffix;

    /// <summary>Under the key's lock and an exclusive lock on the tree: renamed away, unstamped, then deleted.</summary>
    private static string? RemoveExtraction(string root, string key) => UnderLock(LockPath(root, key), () =>
    {
        string tree = root + "/" + key;
        int fd = LibC.Open(tree, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0, out int errno);
        if (fd < 0)
            return errno == LibC.ENOENT ? null : $"cannot open {tree}: {LibC.ErrorText(errno)}";
        string aside = $"{root}/.{key}.{Guid.NewGuid():N}{ExtractionCache.TemporarySuffix}";
        try
        {
            if (LibC.Flock(fd, LibC.LOCK_EX | LibC.LOCK_NB) != 0)
                return "in use";
            if (LibC.Stat(fd, out StatX opened) != 0 || LibC.Stat(tree, followSymlinks: false, out StatX current) != 0 || !LibC.SameFile(opened, current))
                return $"{tree} changed";
            if (LibC.rename(tree, aside) != 0)
                return $"cannot rename {tree}: {LibC.ErrorText(LibC.LastError)}";
            LibC.unlink(tree + ExtractionCache.StampSuffix);
        }
        finally
        {
            LibC.close(fd);
        }
        return TreeRemoval.Remove(aside) ? null : $"cannot delete everything in {aside}";
    });

    private static IEnumerable<Item> MountItems(string userDirectory)
    {
        const string LockPrefix = "lockfile.";
        const string StampPrefix = "verified.";
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFileSystemEntries(userDirectory))
        {
            string name = Path.GetFileName(path);
            names.Add(name.StartsWith(LockPrefix, StringComparison.Ordinal) ? name[LockPrefix.Length..]
                : name.StartsWith(StampPrefix, StringComparison.Ordinal) ? name[StampPrefix.Length..] : name);
        }
        if (LibC.Stat(userDirectory, followSymlinks: false, out StatX parent) != 0)
            yield break;
        // A directory named for another mount namespace (a container's) looks unmounted from
        // here even while its mount lives there, and rmdir would silently detach that mount.
        string? ownNamespace = LibC.Stat("/proc/self/ns/mnt", followSymlinks: true, out StatX ns) == 0
            ? "-ns-" + ns.Ino.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        foreach (string name in names)
        {
            string directory = userDirectory + "/" + name;
            string lockPath = userDirectory + "/" + LockPrefix + name;
            string stampPath = userDirectory + "/" + StampPrefix + name;
            if (ownNamespace is null || !name.EndsWith(ownNamespace, StringComparison.Ordinal))
            {
                yield return new Item(
                    new CacheEntry(CacheEntryKind.Mount, directory, "other namespace", true, ModificationTime(lockPath) ?? ModificationTime(directory), null, null),
                    () => "in use");
                continue;
            }
            int error = LibC.Stat(directory, followSymlinks: false, out StatX stat);
            bool mounted = error == 0 && (stat.DevMajor != parent.DevMajor || stat.DevMinor != parent.DevMinor);
            if (error == 0 && !mounted && !stat.IsDirectory)
                continue; // Not something the launcher makes.
            string state = error is LibC.ENOTCONN or LibC.ECONNABORTED ? "stale"
                : error != 0 ? "orphaned"
                : mounted ? "mounted" : "unmounted";
            string shown = state != "orphaned" ? directory : File.Exists(lockPath) ? lockPath : stampPath;
            bool inUse = state == "mounted" || IsLocked(lockPath);
            yield return new Item(
                new CacheEntry(CacheEntryKind.Mount, shown, state, inUse, ModificationTime(lockPath) ?? ModificationTime(shown), null, null),
                () => state == "stale" ? "a stale mount: the next launch of its archive detaches it" : UnderLock(lockPath, () =>
                {
                    // rmdir removes only an empty directory that is no mount point: a launch that
                    // mounted since the listing keeps its mount.
                    if (state == "unmounted" && LibC.rmdir(directory) != 0)
                        return $"cannot remove {directory}: {LibC.ErrorText(LibC.LastError)}";
                    return Unlink(stampPath);
                }));
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> holding the lock file exclusively (without waiting: a
    /// holder is a launch at work, so "in use"), then deletes the lock file while still holding it.
    /// </summary>
    private static string? UnderLock(string lockPath, Func<string?> action)
    {
        int fd = LibC.Open(lockPath, LibC.O_RDWR | LibC.O_CREAT | LibC.O_NOFOLLOW, ExtractionCache.LockFileMode, out int errno);
        if (fd < 0)
            return $"cannot open {lockPath}: {LibC.ErrorText(errno)}";
        try
        {
            if (LibC.Flock(fd, LibC.LOCK_EX | LibC.LOCK_NB) != 0)
                return "in use";
            if (LibC.Stat(fd, out StatX held) != 0 || LibC.Stat(lockPath, followSymlinks: false, out StatX current) != 0 || !LibC.SameFile(held, current))
                return $"{lockPath} changed";
            string? reason = action();
            if (reason is null)
                LibC.unlink(lockPath);
            return reason;
        }
        finally
        {
            LibC.close(fd);
        }
    }

    /// <summary>Whether someone holds a flock on <paramref name="path"/> (checked by trying one exclusively, released at once).</summary>
    private static bool IsLocked(string path)
    {
        int fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_NOFOLLOW, 0, out _);
        if (fd < 0)
            return false;
        bool locked = LibC.Flock(fd, LibC.LOCK_EX | LibC.LOCK_NB) == LibC.EWOULDBLOCK;
        LibC.close(fd);
        return locked;
    }

    private static string? Unlink(string path) =>
        LibC.unlink(path) == 0 || LibC.LastError == LibC.ENOENT ? null : $"cannot delete {path}: {LibC.ErrorText(LibC.LastError)}";

    private static DateTimeOffset? ModificationTime(string path) =>
        LibC.Stat(path, followSymlinks: false, out StatX stat) == 0
            ? DateTimeOffset.FromUnixTimeSeconds(stat.Mtime.Seconds).AddTicks(stat.Mtime.Nanoseconds / 100)
            : null;

    /// <summary>The bytes of the files in the tree (symlinks not followed); what was counted when a launch or another prune changes it meanwhile.</summary>
    private static long TreeSize(string tree)
    {
        long size = 0;
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        try
        {
            foreach (FileInfo file in new DirectoryInfo(tree).EnumerateFiles("*", options))
            {
                if (file.LinkTarget is null)
                    size += file.Length;
            }
        }
        catch (IOException)
        {
            // Partial trees grow and vanish under extracting launches, and trees under concurrent prunes.
        }
        return size;
    }
}
