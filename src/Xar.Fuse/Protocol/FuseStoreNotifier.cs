using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xar.Interop;

namespace Xar.Fuse.Protocol;

/// <summary><c>struct fuse_notify_store_out</c> (protocol 7.15): what FUSE_NOTIFY_STORE puts where.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FuseNotifyStoreOut
{
    public ulong NodeId;
    public ulong Offset;
    public uint Size;
    public uint Padding;
}

/// <summary>
/// Pushes a file's bytes into the kernel's page cache without being asked (FUSE_NOTIFY_STORE,
/// fs/fuse/dev.c <c>fuse_notify_store</c>): the pages become up to date, so the page faults and
/// reads that meet them cost no READ round trip. The kernel stores only into an inode it holds
/// (ENOENT otherwise: nothing happens) and grows the file's size to the end of what is stored, so
/// callers store only bytes of the file as it is, never past its end.
/// </summary>
/// <remarks>
/// A store locks each page it fills, and waits for a page the kernel is reading through a READ
/// request: it must never be written from a thread the READs need (the session's workers), or a
/// READ could wait for its own answer.
/// </remarks>
public sealed unsafe class FuseStoreNotifier(int device)
{
    /// <summary>FUSE_NOTIFY_STORE, sent in <c>fuse_out_header.error</c> with unique 0.</summary>
    private const int NotifyStore = 4;

    /// <summary>Bytes a message needs in front of its data: the out header and <see cref="FuseNotifyStoreOut"/>.</summary>
    public static readonly int HeaderSize = FuseAbi.OutHeaderSize + Unsafe.SizeOf<FuseNotifyStoreOut>();

    private volatile bool _refused;
    private long _storedBytes;

    /// <summary>Bytes the kernel took into its page cache.</summary>
    public long StoredBytes => Interlocked.Read(ref _storedBytes);

    /// <summary>
    /// Stores <paramref name="length"/> bytes at <paramref name="offset"/> of node
    /// <paramref name="node"/>, read from <paramref name="message"/> after its first
    /// <see cref="HeaderSize"/> bytes (which this fills); one write(2). Returns whether the kernel
    /// took them. A kernel that refuses stores altogether (EINVAL, ENOSYS: older than 7.15) is not
    /// asked again.
    /// </summary>
    public bool Store(ulong node, long offset, byte* message, int length)
    {
        if (_refused || length <= 0 || offset < 0)
            return false;
        int total = HeaderSize + length;
        Unsafe.AsRef<FuseOutHeader>(message) = new FuseOutHeader { Length = (uint)total, Error = NotifyStore, Unique = 0 };
        Unsafe.AsRef<FuseNotifyStoreOut>(message + FuseAbi.OutHeaderSize) = new FuseNotifyStoreOut { NodeId = node, Offset = (ulong)offset, Size = (uint)length };
        nint written;
        while ((written = LibC.write(device, message, total)) < 0 && LibC.LastError == LibC.EINTR)
        {
        }
        if (written == total)
        {
            Interlocked.Add(ref _storedBytes, length);
            return true;
        }
        // ENOENT: the kernel does not hold the inode (forgotten meanwhile); ENODEV: unmounted.
        if (written < 0 && LibC.LastError is LibC.EINVAL or LibC.ENOSYS)
            _refused = true;
        return false;
    }
}
