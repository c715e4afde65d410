using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Xar.Interop;

namespace Xar.Fuse;

/// <summary>
/// Getting a connected /dev/fuse descriptor for a mount point, the way libfuse does without
/// libfuse: mount(2) when privileged, else the setuid fusermount3 (which mounts and hands the
/// descriptor back over a socket, SCM_RIGHTS); and unmounting again.
/// </summary>
public static unsafe class FuseMounter
{
    /// <summary>The file system type after "fuse." in /proc/mounts.</summary>
    public const string Subtype = "xar";

    /// <summary>
    /// Mounts an empty read-only FUSE file system on <paramref name="mountPoint"/>, nosuid and
    /// nodev, with default_permissions (the kernel checks modes); returns the descriptor to serve.
    /// INIT waits on it: every access to the mount point blocks until it is served.
    /// </summary>
    /// <param name="source">What /proc/mounts shows as the source (e.g. the image path).</param>
    /// <param name="allowRoot">
    /// Let root in to a user's mount, as libfuse's allow_root: the kernel knows only allow_other
    /// (which fusermount3 grants only with user_allow_other in /etc/fuse.conf), so the mount lets
    /// everyone's requests through and the server must refuse all but the owner's and root's
    /// (<see cref="Protocol.FuseSession"/>, constructed with allowRoot). Nothing for root's own mounts.
    /// </param>
    /// <param name="fusermount">fusermount3 to use when mount(2) is not permitted; null to fail then.</param>
    /// <exception cref="IOException">Neither way worked; the message says why.</exception>
    public static int Mount(string mountPoint, string source, bool allowRoot, string? fusermount)
    {
        bool allowOther = allowRoot && LibC.geteuid() != 0;
        if (LibC.geteuid() == 0 || fusermount is null)
        {
            int device = LibC.open("/dev/fuse", LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            if (device < 0)
                throw new IOException("cannot open /dev/fuse: " + LibC.ErrorText(LibC.LastError));
            string data = string.Create(CultureInfo.InvariantCulture,
                $"fd={device},rootmode=40000,user_id={LibC.geteuid()},group_id={LibC.getegid()},default_permissions{(allowOther ? ",allow_other" : "")}");
            if (LibC.mount(source, mountPoint, "fuse." + Subtype, LibC.MS_RDONLY | LibC.MS_NOSUID | LibC.MS_NODEV, data) == 0)
                return device;
            int errno = LibC.LastError;
            LibC.close(device);
            if (errno != LibC.EPERM || fusermount is null)
                throw new IOException($"cannot mount on {mountPoint}: {LibC.ErrorText(errno)}");
        }
        return MountWithFusermount(fusermount, mountPoint, source, allowOther);
    }

    /// <summary>
    /// Unmounts <paramref name="mountPoint"/> — lazily with <paramref name="lazy"/>, else only if
    /// nothing uses it — by umount2, or fusermount3 -u when that is not permitted. Returns 0, or
    /// an errno (EBUSY: in use; EPERM: fusermount3 failed or is missing).
    /// </summary>
    public static int Unmount(string mountPoint, bool lazy, string? fusermount)
    {
        if (LibC.umount2(mountPoint, LibC.UMOUNT_NOFOLLOW | (lazy ? LibC.MNT_DETACH : 0)) == 0)
            return 0;
        int errno = LibC.LastError;
        if (errno != LibC.EPERM || fusermount is null)
            return errno;
        string[] arguments = lazy ? ["fusermount3", "-u", "-z", "-q", "--", mountPoint] : ["fusermount3", "-u", "-q", "--", mountPoint];
        return Spawn(fusermount, arguments, [], -1, out int pid) == 0 && Wait(pid) == 0 ? 0 : LibC.EBUSY;
    }

    /// <param name="allowOther">The kernel's allow_other (see <see cref="Mount"/>'s allowRoot).</param>
    internal static int MountWithFusermount(string fusermount, string mountPoint, string source, bool allowOther)
    {
        int* pair = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, pair) != 0)
            throw new IOException("socketpair: " + LibC.ErrorText(LibC.LastError));
        try
        {
            string options = "ro,nosuid,nodev,default_permissions,subtype=" + Subtype + ",fsname=" + EscapeOption(source)
                + (allowOther ? ",allow_other" : "");
            // The child's end becomes its fd 3, named by _FUSE_COMMFD; nothing else is inherited.
            int error = Spawn(fusermount, ["fusermount3", "-o", options, "--", mountPoint], ["_FUSE_COMMFD=3"], pair[1], out int pid);
            if (error != 0)
                throw new IOException($"cannot run {fusermount}: {LibC.ErrorText(error)}");
            LibC.close(pair[1]);
            pair[1] = -1;
            int device = ReceiveDescriptor(pair[0]);
            int status = Wait(pid);
            if (device < 0)
                throw new IOException($"fusermount3 did not mount on {mountPoint} ({(status >= 0 ? "exit status " + status : "killed")}; it says why on stderr)");
            return device;
        }
        finally
        {
            LibC.close(pair[0]);
            if (pair[1] >= 0)
                LibC.close(pair[1]);
        }
    }

    /// <summary>The descriptor fusermount3 sends (one byte, SCM_RIGHTS with one int); -1 on EOF.</summary>
    private static int ReceiveDescriptor(int socket)
    {
        byte data;
        nint received = LibC.ReceiveWithDescriptor(socket, &data, 1, out int fd);
        if (received > 0 || fd < 0)
            return fd;
        LibC.close(fd);
        return -1;
    }

    /// <summary>posix_spawn with stdin/stdout/stderr inherited and <paramref name="passed"/> (if ≥ 0) as fd 3.</summary>
    private static int Spawn(string path, string[] arguments, string[] environment, int passed, out int pid)
    {
        using var strings = new NativeStrings();
        byte* actions = stackalloc byte[256]; // glibc's posix_spawn_file_actions_t is 80 bytes
        LibC.posix_spawn_file_actions_init(actions);
        try
        {
            if (passed >= 0)
                LibC.posix_spawn_file_actions_adddup2(actions, passed, 3);
            byte** argv = strings.AddAll(arguments);
            byte** envp = strings.AddAll(environment);
            int child;
            int error = LibC.posix_spawn(&child, strings.Add(path), actions, null, argv, envp);
            pid = child;
            return error;
        }
        finally
        {
            LibC.posix_spawn_file_actions_destroy(actions);
        }
    }

    /// <summary>Waits for <paramref name="pid"/>; its exit status, or -1 when it was killed.</summary>
    private static int Wait(int pid)
    {
        int status;
        while (LibC.waitpid(pid, &status, 0) < 0)
        {
            if (LibC.LastError != LibC.EINTR)
                return -1;
        }
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1;
    }

    /// <summary>fusermount3 splits options at commas; a backslash escapes one.</summary>
    private static string EscapeOption(string value) => value.Replace("\\", "\\\\").Replace(",", "\\,");
}
