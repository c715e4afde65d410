using Xar.Interop;
using Xar.SquashFs.Format;

namespace Xar.Runtime;

/// <summary>What is at a mount directory.</summary>
internal enum MountState
{
    /// <summary>A live FUSE mount serving this image; a descriptor on it is open.</summary>
    Mounted,

    /// <summary>Nothing is mounted there (or the directory does not exist yet).</summary>
    NotMounted,

    /// <summary>A FUSE mount whose server died: every access fails with ENOTCONN.</summary>
    Stale,

    /// <summary>A mount whose server did not answer in time (stopped, or hung): treated as stale.</summary>
    Unresponsive,
}

/// <summary>
/// The FUSE rung: finding a live mount of the image (served by our server or squashfuse_ll) and
/// lazily unmounting a stale one; <see cref="MountBackend"/> makes new ones.
/// </summary>
internal static unsafe class FuseMount
{
    /// <summary>
    /// Opens the mount directory and checks that a live FUSE filesystem serving this image is
    /// there. On <see cref="MountState.Mounted"/>, <paramref name="pinFd"/> is an open descriptor
    /// on its root: a busy mount is not unmounted by the server's idle timeout (squashfuse_ll counts
    /// open directories; ours unmounts without MNT_DETACH, which the kernel refuses while it is in use),
    /// so the tree stays while the descriptor (or a copy inherited across exec) is open.
    /// </summary>
    /// <remarks>
    /// The open and fstatfs wait for the FUSE server, forever if it is stopped (SIGSTOP, a
    /// debugger, a frozen cgroup): they run on a thread of their own, and one that has not
    /// answered within <paramref name="timeout"/> is left behind and the mount reported
    /// <see cref="MountState.Unresponsive"/>. A thread blocked in a FUSE request dies with the
    /// process, at its execve or exit; should it finish first, it closes what it opened.
    /// </remarks>
    /// <exception cref="XarRuntimeException">The directory cannot be examined, or a FUSE filesystem of another image is mounted there.</exception>
    public static MountState Probe(string mountPath, Superblock superblock, TimeSpan timeout, string archivePath, out int pinFd)
    {
        pinFd = -1;
        var probe = new PendingProbe(mountPath);
        var thread = new Thread(probe.Run) { IsBackground = true, Name = "xar mount probe" };
        thread.Start();
        if (!thread.Join(timeout) && probe.Abandon())
            return MountState.Unresponsive;

        if (probe.Fd < 0)
        {
            return probe.Errno switch
            {
                LibC.ENOENT => MountState.NotMounted,
                LibC.ENOTCONN or LibC.ECONNABORTED => MountState.Stale,
                _ => throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"cannot open the mount directory {mountPath}: {LibC.ErrorText(probe.Errno)}"),
            };
        }
        if (probe.Errno != 0)
        {
            LibC.close(probe.Fd);
            if (probe.Errno is LibC.ENOTCONN or LibC.ECONNABORTED)
                return MountState.Stale;
            throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"statfs {mountPath}: {LibC.ErrorText(probe.Errno)}");
        }
        StatFs fs = probe.FileSystem;
        if (fs.Type != LibC.FuseSuperMagic)
        {
            LibC.close(probe.Fd);
            return MountState.NotMounted;
        }
        // squashfuse reports the image's block size and inode count; the original accepted any
        // FUSE filesystem (docs/xar-format.md R5). A server that reports no inode count is not judged.
        if (fs.Files != 0 && (fs.Files != superblock.InodeCount || fs.BlockSize != superblock.BlockSize))
        {
            LibC.close(probe.Fd);
            throw new XarRuntimeException(XarExitCode.Unavailable, archivePath,
                $"{mountPath} holds a FUSE filesystem that is not this image ({fs.Files} inodes of block size {fs.BlockSize}, the image has {superblock.InodeCount} of {superblock.BlockSize}); unmount it");
        }
        pinFd = probe.Fd;
        return MountState.Mounted;
    }

    /// <summary>open(O_DIRECTORY) and fstatfs of a mount directory, on the probe's thread.</summary>
    private sealed class PendingProbe(string mountPath)
    {
        private readonly Lock _gate = new();
        private bool _finished;
        private bool _abandoned;

        /// <summary>The open descriptor, or -1 when open failed with <see cref="Errno"/>.</summary>
        public int Fd { get; private set; } = -1;

        /// <summary>Why open or (with <see cref="Fd"/> open) fstatfs failed; 0 when both succeeded.</summary>
        public int Errno { get; private set; }

        public StatFs FileSystem { get; private set; }

        public void Run()
        {
            int fd = LibC.Open(mountPath, LibC.O_RDONLY | LibC.O_DIRECTORY, 0, out int errno);
            StatFs fs = default;
            if (fd >= 0 && LibC.fstatfs(fd, &fs) != 0)
                errno = LibC.LastError;
            lock (_gate)
            {
                if (_abandoned)
                {
                    if (fd >= 0)
                        LibC.close(fd);
                    return;
                }
                (Fd, Errno, FileSystem, _finished) = (fd, errno, fs, true);
            }
        }

        /// <summary>Gives the probe up unless it finished after all; true when it was given up.</summary>
        public bool Abandon()
        {
            lock (_gate)
            {
                _abandoned = !_finished;
                return _abandoned;
            }
        }
    }

    /// <summary>
    /// Detaches a mount whose server died or does not answer — neither needs the server:
    /// umount2(MNT_DETACH) when permitted (root), else
    /// fusermount3 -u -z (or fusermount), run without a shell (the original used system() with
    /// an unquoted path, docs/xar-format.md R6).
    /// </summary>
    /// <exception cref="XarRuntimeException">The stale mount could not be removed.</exception>
    public static void DetachStale(string mountPath, RuntimeSettings settings, string archivePath)
    {
        AbortConnection(mountPath);
        if (LibC.umount2(mountPath, LibC.MNT_DETACH) == 0)
            return;
        int errno = LibC.LastError;
        string? fusermount = MountBackend.FindFusermount(settings);
        if (fusermount is null)
            throw new XarRuntimeException(XarExitCode.Unavailable, archivePath,
                $"{mountPath} is a dead FUSE mount; umount2 failed ({LibC.ErrorText(errno)}) and no fusermount3 is on PATH");
        ProgramResult result;
        try
        {
            result = ProgramRunner.Run(fusermount, Path.GetFileName(fusermount), "-u", "-z", "-q", mountPath);
        }
        catch (IOException e)
        {
            throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, e.Message);
        }
        if (!result.Succeeded)
            throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, $"{mountPath} is a dead FUSE mount that cannot be unmounted: {result.Describe(Path.GetFileName(fusermount))}");
    }

    /// <summary>
    /// As root, aborts the FUSE connection of the mount on <paramref name="mountPath"/> through the
    /// kernel's fusectl file system, so that every request of it ends with ECONNABORTED. A request
    /// that a stopped server had already read is otherwise waited out uninterruptibly
    /// (fs/fuse/dev.c, request_wait_answer), and the probe thread left blocked in it would hold up
    /// the launcher's execve, which waits for every other thread to die. fusectl is mounted on a
    /// directory of the launcher's own for the moment of the write (a system may have none at
    /// /sys/fs/fuse/connections); users who are not root cannot abort (docs/fuse-server.md).
    /// </summary>
    private static void AbortConnection(string mountPath)
    {
        if (UserIdentity.EffectiveUid != 0 || ArchiveMount.MountedOn(mountPath) is not { } mount || !mount.Type.StartsWith("fuse", StringComparison.Ordinal))
            return;
        // The connection's name is the kernel's dev_t of the mount (MKDEV: major << 20 | minor).
        string connection = ((mount.Major << 20) | mount.Minor).ToString(System.Globalization.CultureInfo.InvariantCulture);
        string control = $"{Path.GetDirectoryName(mountPath)}/.fusectl-{Environment.ProcessId}";
        if (LibC.mkdir(control, 0x1C0) != 0) // 0700, fresh: an existing name (a leftover, a planted link) is not used
            return;
        try
        {
            if (LibC.mount("fusectl", control, "fusectl", LibC.MS_NOSUID | LibC.MS_NODEV | LibC.MS_NOEXEC, null) != 0)
                return;
            int fd = LibC.Open($"{control}/{connection}/abort", LibC.O_WRONLY | LibC.O_NOFOLLOW, 0, out _);
            if (fd >= 0)
            {
                LibC.WriteAll(fd, "1"u8);
                LibC.close(fd);
            }
            LibC.umount2(control, LibC.MNT_DETACH);
        }
        finally
        {
            LibC.rmdir(control);
        }
    }
}
