using Xar.Archive;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>
/// Provides an archive's tree by the first rung that works (docs/launcher.md):
/// <list type="number">
/// <item>a live mount of this image for this user and mount namespace;</item>
/// <item>a complete extraction in the per-user cache;</item>
/// <item>a new mount by our FUSE server (or squashfuse_ll, <see cref="MountBackend"/>), named and locked as the original xarexec_fuse does;</item>
/// <item>a new extraction into the cache.</item>
/// </list>
/// XAR_MODE=mount keeps to rungs 1 and 3, XAR_MODE=extract to 2 and 4. Rungs 1 and 2 take no
/// exclusive lock and read nothing but the header, so warm launches do not serialise.
/// </summary>
public static class RunLadder
{
    /// <param name="archive">The open archive.</param>
    /// <param name="imagePath">An absolute path of the archive file, handed to the FUSE server.</param>
    /// <param name="settings">What the environment asks for.</param>
    /// <exception cref="XarRuntimeException">No rung could provide the tree; the message names the archive and every cause.</exception>
    public static PreparedTree Prepare(XarArchive archive, string imagePath, RuntimeSettings settings)
    {
        string archivePath = archive.Path;
        string? mountProblem = null;
        MountLocation? location = null;
        // The device of a mount rung 1 found unresponsive: under the lock it is detached without a second wait.
        (uint Major, uint Minor)? unresponsive = null;

        if (settings.Mode != RunMode.Extract)
        {
            try
            {
                location = MountLocation.Resolve(archive.Header, settings, archivePath);
                // Only a per-user directory of our own guarantees that nobody else put a mount
                // there (the original checks it on every launch too).
                if (IsOwnedDirectory(location.UserDirectory, archivePath))
                {
                    MountState state = FuseMount.Probe(location.MountPath, archive.Superblock, settings, archivePath, out int pin);
                    if (state == MountState.Mounted)
                        return new PreparedTree(location.MountPath, TreeKind.Mount, created: false, pin);
                    if (state == MountState.Unresponsive && ArchiveMount.MountedOn(location.MountPath) is { } mount)
                        unresponsive = (mount.Major, mount.Minor);
                }
            }
            catch (XarRuntimeException e) when (settings.Mode == RunMode.Auto && e.ExitCode != XarExitCode.BadArchive)
            {
                mountProblem = e.Cause;
                location = null;
            }
        }

        var cache = new ExtractionCache(settings, archivePath);
        // Original archives carry no hash; computing one reads the whole image, which only pays
        // when extraction is the plan anyway.
        string? key = archive.Header.ImageSha256 ?? (settings.Mode == RunMode.Extract ? archive.ComputeImageSha256() : null);
        if (settings.Mode != RunMode.Mount)
        {
            PreparedTree? existing = key is null ? null : cache.OpenExisting(key);
            if (existing is not null)
                return existing;
        }

        // Set once MountNew has verified the image (or found it stamped as verified) in this
        // launch, so a failed mount is not followed by hashing the image again.
        bool verified = false;
        if (location is not null)
        {
            try
            {
                return MountNew(archive, imagePath, location, unresponsive, settings, ref verified);
            }
            catch (XarRuntimeException e) when (settings.Mode == RunMode.Auto && e.ExitCode != XarExitCode.BadArchive)
            {
                mountProblem = e.Cause;
            }
        }

        try
        {
            key ??= archive.ComputeImageSha256();
            // Verified while it is extracted, under GetOrCreate's per-key lock, by the one launch
            // that creates the tree: simultaneous first launches then hash the image once, not each.
            return cache.GetOrCreate(key, destination => ImageExtraction.Extract(archive, destination, verify: !verified));
        }
        catch (XarRuntimeException e) when (mountProblem is not null && e.ExitCode != XarExitCode.BadArchive)
        {
            throw new XarRuntimeException(e.ExitCode, archivePath, $"cannot mount ({mountProblem}) and cannot extract ({e.Cause})");
        }
    }

    /// <summary>The mount directory the original naming gives this archive, without creating anything (<c>xarexec -n</c>).</summary>
    /// <exception cref="XarRuntimeException">No usable mount root.</exception>
    public static string MountPath(XarArchive archive, RuntimeSettings settings) =>
        MountLocation.Resolve(archive.Header, settings, archive.Path).MountPath;

    /// <param name="unresponsive">The device of the mount this launch found unresponsive on the mount directory, if it did.</param>
    /// <param name="verified">Set when the image has been verified (or was stamped as verified), even if mounting then fails.</param>
    private static PreparedTree MountNew(XarArchive archive, string imagePath, MountLocation location, (uint Major, uint Minor)? unresponsive,
        RuntimeSettings settings, ref bool verified)
    {
        string archivePath = archive.Path;
        IReadOnlyList<MountBackend> backends = MountBackend.Candidates(settings);
        if (!backends.Any(b => b.Unavailability(settings) is null))
            throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, string.Join("; ", backends.Select(b => b.Unavailability(settings))));

        uint previousMask = LibC.umask(0x12); // 022, as the original: the directories must come out 0755
        try
        {
            EnsureOwnedDirectory(location.UserDirectory, archivePath);
            using FileLock held = FileLock.Acquire(location.LockPath, MountLocation.LockFileMode, requireOwnedMode: true,
                settings.MountLockTimeout, archivePath, "mounting");
            // Another launch may have mounted while this one waited for the lock; if the lock was
            // free and the mount found unresponsive is still the one there (mountinfo says, without
            // touching it), it is not probed again: a launch that meets a stopped server waits for
            // one probe, not two. A lock that was held may have been held by the server of that very
            // mount, starting: ours keeps the lock until it answers INIT, and then it answers.
            int pin = -1;
            MountState state = unresponsive is not null && !held.Contended
                && ArchiveMount.MountedOn(location.MountPath) is { } mount && (mount.Major, mount.Minor) == unresponsive
                ? MountState.Unresponsive
                : FuseMount.Probe(location.MountPath, archive.Superblock, settings, archivePath, out pin);
            if (state == MountState.Mounted)
            {
                held.Touch();
                return new PreparedTree(location.MountPath, TreeKind.Mount, created: false, pin);
            }
            if (state is MountState.Stale or MountState.Unresponsive)
            {
                settings.Note(archivePath, $"detaching the {(state == MountState.Stale ? "stale" : "unresponsive")} mount on {location.MountPath}");
                FuseMount.DetachStale(location.MountPath, settings, archivePath);
            }
            ImageHash.VerifyUnlessStamped(archive, location.VerifiedStampPath);
            verified = true;
            bool createdDirectory = EnsureOwnedDirectory(location.MountPath, archivePath);
            try
            {
                pin = MountWithFirstWorking(backends, imagePath, archive, location.MountPath, settings.MountTimeoutSeconds, settings, held.Descriptor);
            }
            catch (XarRuntimeException) when (createdDirectory)
            {
                LibC.rmdir(location.MountPath); // Only if still empty: nothing of a failed mount stays behind.
                throw;
            }
            held.Touch();
            return new PreparedTree(location.MountPath, TreeKind.Mount, created: true, pin);
        }
        finally
        {
            LibC.umask(previousMask);
        }
    }

    /// <summary>
    /// Asks the kernel to read the image's tables (inodes, directories, fragments, ids: from the
    /// inode table to bytes_used) into the page cache, without waiting: a server reads them before
    /// it answers INIT and for every LOOKUP, and on a cold start (the archive not cached) each of
    /// its first reads would wait for the disk. Issued before the server starts, through the
    /// descriptor the launcher verified, the reading overlaps the server's own start. A hint:
    /// nothing fails for want of it.
    /// </summary>
    private static void ReadTablesAhead(XarArchive archive)
    {
        var superblock = archive.Superblock;
        // The superblock was checked: InodeTableStart < BytesUsed <= the image's length.
        LibC.posix_fadvise((int)archive.Image.Handle.DangerousGetHandle(), archive.ImageOffset + (long)superblock.InodeTableStart,
            (long)(superblock.BytesUsed - superblock.InodeTableStart), LibC.POSIX_FADV_WILLNEED);
    }

    /// <summary>
    /// Mounts with the first of <paramref name="backends"/> that is available and succeeds (our
    /// server, then squashfuse_ll); returns the pin descriptor. Passing one by is noted with XAR_DEBUG.
    /// </summary>
    /// <param name="mountLock">The mount lock's descriptor, or -1 (<see cref="MountBackend.Mount"/>).</param>
    /// <exception cref="XarRuntimeException">None succeeded; the message gives each one's cause.</exception>
    internal static int MountWithFirstWorking(IReadOnlyList<MountBackend> backends, string imagePath, XarArchive archive, string mountPath,
        int timeoutSeconds, RuntimeSettings settings, int mountLock)
    {
        var causes = new List<string>();
        XarRuntimeException? last = null;
        ReadTablesAhead(archive);
        foreach (MountBackend backend in backends)
        {
            string? unavailable = backend.Unavailability(settings);
            if (unavailable is not null)
            {
                settings.Note(archive.Path, $"not mounting with {backend.Name}: {unavailable}");
                causes.Add(unavailable);
                continue;
            }
            try
            {
                return backend.Mount(archive, imagePath, mountPath, timeoutSeconds, settings, mountLock);
            }
            catch (XarRuntimeException e) when (e.ExitCode == XarExitCode.Unavailable)
            {
                settings.Note(archive.Path, $"{backend.Name} could not mount: {e.Cause}");
                causes.Add(e.Cause);
                last = e;
            }
        }
        if (causes.Count == 1 && last is not null)
            throw last;
        throw new XarRuntimeException(XarExitCode.Unavailable, archive.Path, string.Join("; ", causes));
    }

    /// <summary>False when <paramref name="path"/> does not exist; true when it is the caller's own directory with mode 0755.</summary>
    /// <exception cref="XarRuntimeException">It exists but is someone else's or has another mode (<see cref="XarExitCode.UnsafePermissions"/>).</exception>
    private static bool IsOwnedDirectory(string path, string archivePath)
    {
        int error = LibC.Stat(path, followSymlinks: false, out StatX stat);
        if (error == LibC.ENOENT)
            return false;
        if (error != 0)
            throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"cannot stat {path}: {LibC.ErrorText(error)}");
        string? problem = UserIdentity.CheckOwnedEntry(stat, directory: true, MountLocation.DirectoryMode);
        if (problem is not null)
            throw new XarRuntimeException(XarExitCode.UnsafePermissions, archivePath, $"{path} {problem}");
        return true;
    }

    /// <summary>mkdir 0755, then the original's check: the caller's own directory with mode exactly 0755. Returns whether it was created.</summary>
    private static bool EnsureOwnedDirectory(string path, string archivePath)
    {
        bool created = LibC.mkdir(path, MountLocation.DirectoryMode) == 0;
        if (!created)
        {
            int errno = LibC.LastError;
            if (errno != LibC.EEXIST)
                throw new XarRuntimeException(errno is LibC.EACCES or LibC.EROFS or LibC.EPERM ? XarExitCode.CannotCreate : XarExitCode.SystemError,
                    archivePath, $"cannot create {path}: {LibC.ErrorText(errno)}");
        }
        // IsOwnedDirectory's checks; only if the directory vanished since mkdir does it return
        // false, which was a failed stat (SystemError) before it was shared and stays one.
        if (!IsOwnedDirectory(path, archivePath))
            throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"cannot stat {path}: {LibC.ErrorText(LibC.ENOENT)}");
        return created;
    }
}
