using System.Runtime.InteropServices;
using System.Text;

// libc comes from the system's library path only, never from the directory of the program (for
// the launcher, wherever a self-layout archive was downloaded to; it often runs as root).
[assembly: DefaultDllImportSearchPaths(DllImportSearchPath.System32)]

namespace Xar.Interop;

/// <summary>
/// Every libc call, struct and constant the projects use, in one class split by topic over the
/// LibC.*.cs files (docs/interop.md). The calls are made directly rather than through
/// System.IO/System.Diagnostics where the semantics must be exact (names as raw bytes, *at calls
/// that never follow symlinks, O_EXCL|O_NOFOLLOW), where the launcher must stay small and start
/// fast (no Process class, no FileStream on the warm path), and where .NET has no equivalent at
/// all (flock, statfs, mount, execve, posix_spawn). The generated <c>[LibraryImport]</c> stubs need
/// no reflection or runtime marshalling, so the Native AOT launcher binds them at link time
/// (<c>DirectPInvoke</c> in Xar.Exec.csproj). Values and layouts are those of 64-bit Linux, which
/// x86-64 and arm64 share but for what LibC.Machine.cs defines per machine.
/// </summary>
public static unsafe partial class LibC
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int ENOEXEC = 8;
    public const int EAGAIN = 11;
    public const int EWOULDBLOCK = EAGAIN;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EROFS = 30;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ENODATA = 61;
    public const int EPROTO = 71;
    public const int ENOTSUP = 95;
    public const int ECONNABORTED = 103;
    public const int ENOTCONN = 107;

    /// <summary>The errno of the last call on this thread declared with <c>SetLastError</c>.</summary>
    public static int LastError => Marshal.GetLastPInvokeError();

    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>An <see cref="IOException"/> for a failed call, naming the operation and the path.</summary>
    public static IOException Failure(string operation, string path, int errno) =>
        new($"{operation} '{path}' failed: {ErrorText(errno)} (errno {errno})", errno);

    /// <summary>glibc's own version, "2.36": static storage, not to be freed.</summary>
    [LibraryImport("libc")]
    public static partial byte* gnu_get_libc_version();

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/>.</summary>
    public static byte[] Utf8Z(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>
    /// Paths and names are passed as NUL-terminated byte spans; a missing terminator would make the
    /// kernel read past the span.
    /// </summary>
    private static ReadOnlySpan<byte> Terminated(ReadOnlySpan<byte> value) =>
        !value.IsEmpty && value[^1] == 0 ? value : throw new ArgumentException("native strings must end with NUL");

    /// <summary>0 on success, else the errno (so callers can branch on EEXIST without exceptions).</summary>
    private static int Check(int result) => result == 0 ? 0 : LastError;
}
