using System.Globalization;
using System.Text;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>
/// The extraction rung: complete trees under <c>&lt;cache root&gt;/&lt;image SHA-256&gt;</c>, created
/// under a per-image lock in a temporary directory that is renamed into place only when
/// complete, then stamped (<c>&lt;key&gt;.stamp</c>) by the process that extracted it. A tree is
/// used only from a trusted root (the caller's, in directories nobody else can write), only if it
/// is the caller's and its stamp names it, and only under a shared lock on it that
/// <see cref="CacheInventory"/> must break to delete it. Cache roots on a filesystem mounted noexec
/// are skipped (the target could not run there; PyInstaller's most reported failure, docs/xar-format.md §16).
/// </summary>
internal sealed class ExtractionCache
{
    /// <summary>Cache roots are private to their user.</summary>
    public const int RootMode = 0x1C0; // 0700

    public const string TemporarySuffix = ".tmp";

    public const string LockSuffix = ".lock";

    /// <summary>Beside the tree: written only by the process that extracted it; its mtime is the tree's last use.</summary>
    public const string StampSuffix = ".stamp";

    public const int LockFileMode = 0x180; // 0600

    /// <summary>Group- or other-writable permission bits.</summary>
    public const int WritableByOthers = 0x12; // 022

    /// <summary>
    /// Any permission for group or others. A tree's top directory has none: inside it the image's
    /// modes stand (a 0777 directory, a 0666 file), so nobody else may even enter.
    /// </summary>
    public const int OpenToOthers = 0x3F; // 077

    private const int Sticky = 0x200; // 01000

    private const string StampMagic = "xar extraction 1\n";

    private const string ArchiveLine = "archive ";

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

    /// <summary>
    /// The trusted, complete extraction of <paramref name="key"/> in the first usable root, opened
    /// and share-locked (the descriptor the target inherits), or null. A tree found in a root
    /// that is not trusted costs one line on stderr; absent trees cost nothing.
    /// </summary>
    public PreparedTree? OpenExisting(string key)
    {
        foreach ((string candidate, bool shared) in Roots())
        {
            string? root = TrustedRoot(candidate, shared, create: false, out string? problem);
            if (root is null)
            {
                if (LibC.Stat(candidate + "/" + key, followSymlinks: false, out _) == 0)
                    XarexecCommand.WriteOut(2, $"xarexec: {_archivePath}: skipping cache {problem}\n");
                continue;
            }
            PreparedTree? tree = OpenTrusted(root, key, created: false);
            if (tree is not null)
                return tree;
        }
        return null;
    }

    /// <summary>
    /// The extraction of <paramref name="key"/>, made by <paramref name="extract"/> (which must
    /// create the directory it is given, with no access for group and others from the start, see
    /// <see cref="OpenToOthers"/>) in the first usable root unless a trusted one exists already.
    /// </summary>
    /// <exception cref="XarRuntimeException">No root is usable, the lock wait timed out, or extraction failed.</exception>
    public PreparedTree GetOrCreate(string key, Action<string> extract)
    {
        var problems = new List<string>();
        foreach ((string candidate, bool shared) in Roots())
        {
            string? root = TrustedRoot(candidate, shared, create: true, out string? problem);
            if (root is null)
            {
                problems.Add(problem!);
                continue;
            }
            string tree = root + "/" + key;
            using FileLock held = FileLock.Acquire(tree + LockSuffix, LockFileMode, requireOwnedMode: false, _settings.ExtractionLockTimeout, _archivePath, "extracting");
            PreparedTree? existing = OpenTrusted(root, key, created: false);
            if (existing is not null)
                return existing;
            // Whatever has the tree's name without a stamp naming it was not finished by an
            // extraction of ours (a launch died before stamping, or someone put it there): set
            // aside with the temporary trees and extracted anew.
            string temporary = $"{root}/.{key}.{Guid.NewGuid():N}{TemporarySuffix}";
            LibC.rename(tree, temporary);
            RemoveAbandoned(root, key);
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
            WriteStamp(root, key);
            return OpenTrusted(root, key, created: true)
                ?? throw new XarRuntimeException(XarExitCode.SystemError, _archivePath, $"{tree} changed while it was being extracted");
        }
        throw new XarRuntimeException(XarExitCode.CannotCreate, _archivePath,
            "no cache directory to extract to: " + string.Join("; ", problems));
    }

    /// <summary>
    /// The canonical path of <paramref name="root"/> when it is usable: a directory of the caller
    /// (exactly 0700 when <paramref name="shared"/>, else not writable by others) whose every
    /// ancestor is the caller's or root's and not writable by others unless sticky (/tmp), not on
    /// a noexec filesystem, and writable when <paramref name="create"/>; else null with why not.
    /// Nothing is created under a directory another user controls (root with <c>sudo -E</c> has
    /// that user's HOME).
    /// </summary>
    internal static unsafe string? TrustedRoot(string root, bool shared, bool create, out string? problem)
    {
        problem = null;
        if (create)
        {
            string nearest = NearestExisting(root);
            // Decided before anything is created there: a noexec filesystem gets no cache directory.
            StatFs ancestor;
            if (LibC.statfs(nearest, &ancestor) == 0 && (ancestor.Flags & LibC.ST_NOEXEC) != 0)
            {
                problem = $"{root}: it is on a filesystem mounted noexec";
                return null;
            }
            string? nearestProblem = AncestryProblem(LibC.RealPath(nearest) ?? nearest);
            problem = nearestProblem is null ? CreateDirectories(root) : $"{root}: {nearestProblem}";
            if (problem is not null)
                return null;
        }
        string? canonical = LibC.RealPath(root);
        if (canonical is null)
        {
            problem = $"{root}: {LibC.ErrorText(LibC.LastError)}";
            return null;
        }
        problem = RootProblem(canonical, shared, create);
        if (problem is not null)
        {
            problem = $"{root}: {problem}";
            return null;
        }
        return canonical;
    }

    private static unsafe string? RootProblem(string canonical, bool shared, bool create)
    {
        if (LibC.Stat(canonical, followSymlinks: false, out StatX stat) != 0)
            return LibC.ErrorText(LibC.LastError);
        string? ownership = shared
            ? UserIdentity.CheckOwnedEntry(stat, directory: true, RootMode)
            : !stat.IsDirectory ? "is not a directory"
            : stat.Uid != UserIdentity.EffectiveUid ? $"is owned by uid {stat.Uid}, not {UserIdentity.EffectiveUid}"
            : (stat.Permissions & WritableByOthers) != 0 ? $"has mode {UserIdentity.Octal(stat.Permissions)}, writable by others"
            : null;
        if (ownership is not null)
            return $"{canonical} {ownership}";
        string? parent = Path.GetDirectoryName(canonical);
        string? ancestry = parent is null ? null : AncestryProblem(parent);
        if (ancestry is not null)
            return ancestry;
        StatFs fs;
        if (LibC.statfs(canonical, &fs) == 0 && (fs.Flags & LibC.ST_NOEXEC) != 0)
            return "it is on a filesystem mounted noexec";
        if (create && LibC.access(canonical, LibC.W_OK | LibC.X_OK) != 0)
            return $"not writable: {LibC.ErrorText(LibC.LastError)}";
        return null;
    }

    /// <summary>Null when <paramref name="canonical"/> and its ancestors belong to the caller or root and only sticky ones are writable by others.</summary>
    private static string? AncestryProblem(string canonical)
    {
        for (string? directory = canonical; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (LibC.Stat(directory, followSymlinks: false, out StatX stat) != 0)
                return $"cannot stat {directory}: {LibC.ErrorText(LibC.LastError)}";
            if (stat.Uid != 0 && stat.Uid != UserIdentity.EffectiveUid)
                return $"{directory} is owned by uid {stat.Uid}";
            if ((stat.Permissions & WritableByOthers) != 0 && (stat.Permissions & Sticky) == 0)
                return $"{directory} has mode {UserIdentity.Octal(stat.Permissions)}, writable by others";
        }
        return null;
    }

    /// <summary>
    /// Opens <c>root/key</c> and takes a shared lock on it, then checks that it is still at that
    /// path (a prune may have moved it away while the lock was awaited), is the caller's, not
    /// writable by others, and named by its stamp — whose mtime is set to now (the last use).
    /// </summary>
    private PreparedTree? OpenTrusted(string root, string key, bool created)
    {
        string path = root + "/" + key;
        int fd = LibC.Open(path, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0, out _);
        if (fd < 0)
            return null;
        if (LibC.Stat(fd, out StatX tree) == 0 && tree.Uid == UserIdentity.EffectiveUid && (tree.Permissions & OpenToOthers) == 0
            && LibC.Flock(fd, LibC.LOCK_SH) == 0
            && LibC.Stat(path, followSymlinks: false, out StatX current) == 0 && LibC.SameFile(tree, current)
            && ReadStamp(root, key, touch: true) is { } stamp && StampNames(stamp, key, tree))
            return new PreparedTree(path, TreeKind.Extraction, created, fd);
        LibC.close(fd);
        return null;
    }

    private static string StampPrefix(string key, in StatX tree) =>
        string.Create(CultureInfo.InvariantCulture, $"{StampMagic}key {key}\ntree {tree.DevMajor}:{tree.DevMinor} {tree.Ino}\n");

    /// <summary>
    /// The stamp of <c>root/key</c> when it is the caller's regular file not writable by others,
    /// else null; <paramref name="touch"/> sets its mtime to now.
    /// </summary>
    internal static unsafe string? ReadStamp(string root, string key, bool touch)
    {
        int fd = LibC.Open(root + "/" + key + StampSuffix, LibC.O_RDONLY | LibC.O_NOFOLLOW, 0, out _);
        if (fd < 0)
            return null;
        try
        {
            if (LibC.Stat(fd, out StatX stat) != 0 || !stat.IsRegularFile || stat.Uid != UserIdentity.EffectiveUid
                || (stat.Permissions & WritableByOthers) != 0 || stat.Size > 8192)
                return null;
            byte* buffer = stackalloc byte[8192];
            int length = 0;
            while (length < (int)stat.Size)
            {
                nint read = LibC.read(fd, buffer + length, (int)stat.Size - length);
                if (read > 0)
                    length += (int)read;
                else if (read < 0 && LibC.LastError == LibC.EINTR)
                    continue;
                else
                    break;
            }
            if (touch)
                LibC.futimens(fd, null);
            return Encoding.UTF8.GetString(buffer, length);
        }
        finally
        {
            LibC.close(fd);
        }
    }

    /// <summary>Whether <paramref name="stamp"/> is a valid stamp of <paramref name="key"/> for the tree <paramref name="tree"/>.</summary>
    internal static bool StampNames(string stamp, string key, in StatX tree) => stamp.StartsWith(StampPrefix(key, tree), StringComparison.Ordinal);

    /// <summary>The archive the stamp says was extracted (for <c>xar cache list</c>), or null.</summary>
    internal static string? StampedArchive(string stamp)
    {
        int start = stamp.IndexOf("\n" + ArchiveLine, StringComparison.Ordinal);
        if (start < 0)
            return null;
        start += 1 + ArchiveLine.Length;
        int end = stamp.LastIndexOf('\n');
        return end > start ? stamp[start..end] : null;
    }

    /// <summary>
    /// Records that this process extracted <c>root/key</c>: its device and inode, so that no
    /// other directory put in its place passes, and the archive. Created O_EXCL|O_NOFOLLOW
    /// (after removing a stale one) under the key's lock, in a root only the caller can write.
    /// </summary>
    private void WriteStamp(string root, string key)
    {
        string tree = root + "/" + key;
        string path = tree + StampSuffix;
        if (LibC.Stat(tree, followSymlinks: false, out StatX stat) != 0)
            throw new XarRuntimeException(XarExitCode.SystemError, _archivePath, $"cannot stat {tree}: {LibC.ErrorText(LibC.LastError)}");
        LibC.unlink(path);
        int fd = LibC.Open(path, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW, LockFileMode, out int errno);
        if (fd >= 0)
        {
            errno = LibC.WriteAll(fd, Encoding.UTF8.GetBytes(StampPrefix(key, stat) + ArchiveLine + Path.GetFullPath(_archivePath) + "\n"));
            LibC.close(fd);
        }
        if (errno != 0)
        {
            LibC.unlink(path);
            throw new XarRuntimeException(XarExitCode.CannotCreate, _archivePath, $"cannot write {path}: {LibC.ErrorText(errno)}");
        }
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
