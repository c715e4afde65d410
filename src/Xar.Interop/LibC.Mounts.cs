using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>
/// Mounts and FUSE: mount(2)/umount2, statfs (what a mount is, whether it answers), and the
/// fusermount3 hand-over of the /dev/fuse descriptor over a socket (SCM_RIGHTS).
/// </summary>
public static unsafe partial class LibC
{
    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const int MNT_DETACH = 2;
    public const int UMOUNT_NOFOLLOW = 8;

    /// <summary>statfs f_type of every FUSE filesystem (linux/magic.h).</summary>
    public const long FuseSuperMagic = 0x65735546;

    /// <summary>statfs f_flags bit: the filesystem is mounted noexec.</summary>
    public const long ST_NOEXEC = 8;

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_SEQPACKET = 5;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string source, string target, string fileSystemType, ulong flags, string? data);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statfs(string path, StatFs* buffer);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recvmsg(int fd, MessageHeader* message, int flags);

    /// <summary>
    /// recvmsg of up to <paramref name="length"/> bytes and at most one descriptor sent with
    /// SCM_RIGHTS (received close-on-exec), again on EINTR: how fusermount3 hands over /dev/fuse and
    /// the mount probe its open mount directory.
    /// </summary>
    /// <returns>The bytes received, 0 at end of file, or -1 (<see cref="LastError"/>); <paramref name="fd"/> is the descriptor, or -1.</returns>
    public static nint ReceiveWithDescriptor(int socket, void* data, nuint length, out int fd)
    {
        DescriptorMessage control = default;
        var vector = new IoVector { Base = data, Length = length };
        var message = new MessageHeader { Vectors = &vector, VectorCount = 1, Control = &control, ControlLength = (nuint)sizeof(DescriptorMessage) };
        nint received;
        while ((received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC)) < 0 && LastError == EINTR)
        {
        }
        fd = received >= 0 && message.ControlLength >= DescriptorMessage.UsedLength && control.Level == SOL_SOCKET && control.Type == SCM_RIGHTS
            ? control.Descriptor
            : -1;
        return received;
    }
}
