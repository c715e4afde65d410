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
internal static class FuseMount
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
    /// debugger, a frozen cgroup) or hung: they run in a child process (<see cref="MountProbe"/>),
    /// and a mount that has not answered by the deadline (<see cref="RuntimeSettings.MountProbeTimeout"/>
    /// at least, longer on a busy host) is reported <see cref="MountState.Unresponsive"/>.
    /// </remarks>
    /// <exception cref="XarRuntimeException">The directory cannot be examined, or a FUSE filesystem of another image is mounted there.</exception>
    public static MountState Probe(string mountPath, Superblock superblock, RuntimeSettings settings, string archivePath, out int pinFd)
    {
        pinFd = -1;
        if (NothingMountedOn(mountPath))
            return MountState.NotMounted;
        ProbeOutcome probe;
        try
        {
            probe = MountProbe.Run(mountPath, settings.MountProbeTimeout);
        }
        catch (IOException e)
        {
            throw new XarRuntimeException(XarExitCode.SystemError, archivePath, e.Message);
        }
        if (!probe.Answered)
        {
            settings.Note(archivePath, $"{mountPath} did not answer within {probe.Deadline.TotalMilliseconds:0} ms: unresponsive");
            return MountState.Unresponsive;
        }
        if (probe.Fd < 0)
        {
            return probe.OpenErrno switch
            {
                LibC.ENOENT => MountState.NotMounted,
                LibC.ENOTCONN or LibC.ECONNABORTED => MountState.Stale,
                _ => throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"cannot open the mount directory {mountPath}: {LibC.ErrorText(probe.OpenErrno)}"),
            };
        }
        if (probe.StatfsErrno != 0)
        {
            LibC.close(probe.Fd);
            if (probe.StatfsErrno is LibC.ENOTCONN or LibC.ECONNABORTED)
                return MountState.Stale;
            throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"statfs {mountPath}: {LibC.ErrorText(probe.StatfsErrno)}");
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

    /// <summary>
    /// Whether /proc/self/mountinfo shows no mount on <paramref name="mountPath"/> — read without
    /// touching the directory, which may be a hung mount (it names mount points by their real path;
    /// the parent's is safe to resolve). Then no probe is needed, whose fork and wait for the child
    /// cost most on a busy host, twice on every cold start. False when mountinfo cannot be read: the probe decides.
    /// </summary>
    private static bool NothingMountedOn(string mountPath)
    {
        try
        {
            return LibC.RealPath(Path.GetDirectoryName(mountPath) ?? "/") is not { } parent
                || ArchiveMount.MountedOn(Path.Join(parent, Path.GetFileName(mountPath))) is null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
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
}
