using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Xar.Interop;

namespace Xar.Fuse.Protocol;

/// <summary>
/// The kernel side of a FUSE connection: reads requests from a connected /dev/fuse descriptor on
/// a few worker threads (each with its own native buffers; the kernel hands every request to one
/// reader), negotiates INIT, decodes the read-only operations for an <see cref="IFuseFileSystem"/>
/// and writes each reply with one write(2). Unknown operations get ENOSYS, mutating ones EROFS,
/// and an exception from the file system (a malformed image) EIO: the server never dies of a request.
/// </summary>
public sealed unsafe class FuseSession
{
    /// <summary>READ replies up to 1 MiB (FUSE_MAX_PAGES); the kernel clamps to its own limit.</summary>
    private const int MaxPages = 256;
    private const int PageSize = 4096;
    private const int ReplyCapacity = FuseAbi.OutHeaderSize + MaxPages * PageSize;

    /// <summary>Requests of a read-only server are small: the kernel's minimum (FUSE_MIN_READ_BUFFER) with max_write 4096.</summary>
    private const int RequestCapacity = 8192 + PageSize;

    /// <summary>
    /// READDIRPLUS for every page of a listing, not only the first (no READDIRPLUS_AUTO): with
    /// AUTO, a page after the first comes without entries, and each subdirectory or file stat'ed
    /// from it costs a LOOKUP (1,620 of them in a fresh find over a 46,000-entry site-packages).
    /// </summary>
    private const FuseInitFlags WantedFlags = FuseInitFlags.AsyncRead | FuseInitFlags.DoReaddirplus
        | FuseInitFlags.ParallelDirops | FuseInitFlags.MaxPages | FuseInitFlags.CacheSymlinks;

    private const uint NoOpenSupport = 1 << 17;
    private const uint NoOpendirSupport = 1 << 24;

    private readonly int _device;
    private readonly IFuseFileSystem _fileSystem;
    private readonly int _threadCount;
    private readonly ManualResetEventSlim _initialized = new();
    private readonly Action? _served;
    private int _servedCalled;
    private readonly ulong _validSeconds;
    private readonly uint _validNanoseconds;
    private readonly bool _allowRoot;
    private readonly uint _owner = LibC.geteuid();
    private bool _noOpen;
    private bool _noOpendir;
    private volatile bool _stopping;
    private int _dispatching;
    private int _runningWorkers;
    private readonly ManualResetEventSlim _ended = new();
    private long _lastRequest = Stopwatch.GetTimestamp();
    private string? _failure;

    /// <param name="device">A connected /dev/fuse descriptor (the caller closes it after <see cref="Run"/>).</param>
    /// <param name="threads">How many threads read requests in parallel.</param>
    /// <param name="served">
    /// Called once the reply to INIT is written and the workers read requests: on a worker when one
    /// of them answered INIT, on the thread of <see cref="Run"/> after <see cref="AnswerInit"/>.
    /// </param>
    /// <param name="allowRoot">
    /// The mount lets other users' requests reach the server (the kernel's allow_other: how
    /// <see cref="FuseMounter.Mount"/> mounts allow_root for a user). Every session refuses them
    /// (<see cref="Admitted"/>); with this, opens are never zero-message and symlinks never kept
    /// by the kernel either, so that a file, directory or link another user reaches through the
    /// kernel's caches still costs them a request that is refused.
    /// </param>
    public FuseSession(int device, IFuseFileSystem fileSystem, int threads, Action? served = null, bool allowRoot = false)
    {
        _served = served;
        _allowRoot = allowRoot;
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _device = device;
        _fileSystem = fileSystem;
        _threadCount = threads;
        (_validSeconds, _validNanoseconds) = Split(fileSystem.CacheTimeout);
    }

    /// <summary>Set once INIT has been answered: the mount then serves requests.</summary>
    public WaitHandle Initialized => _initialized.WaitHandle;

    /// <summary>When the last request arrived (a <see cref="Stopwatch"/> timestamp).</summary>
    public long LastRequestTimestamp => Volatile.Read(ref _lastRequest);

    /// <summary>Requests answered, by opcode, and the time spent on them.</summary>
    public FuseRequestStatistics Statistics { get; } = new();

    /// <summary>Why the loop ended other than by unmount or DESTROY; null otherwise.</summary>
    public string? Failure => _failure;

    /// <summary>
    /// Serves until the file system is unmounted (read returns ENODEV), DESTROY, a device error, or
    /// <see cref="Stop"/>. After a stop, readers still blocked on the device are left to the
    /// process's end (background threads): they answer nothing more and never touch the file system.
    /// </summary>
    public void Run()
    {
        _runningWorkers = _threadCount;
        for (int i = 0; i < _threadCount; i++)
            new Thread(Serve) { IsBackground = true, Name = "fuse worker " + i }.Start();
        // INIT answered by AnswerInit: the mount serves now that the workers read.
        if (_initialized.IsSet && Interlocked.Exchange(ref _servedCalled, 1) == 0)
            _served?.Invoke();
        _ended.Wait();
        // Set by the last worker or by Stop: in the second case, requests being answered finish first.
        SpinWait spin = default;
        while (Volatile.Read(ref _dispatching) != 0)
            spin.SpinOnce();
    }

    /// <summary>
    /// Reads requests on the calling thread and answers them until INIT is answered (the kernel
    /// sends it first, at mount time), before <see cref="Run"/> starts the workers: the mount's
    /// first requests, which a cold start waits for, then do not wait for threads to start (a
    /// thread's start waits for it to be scheduled, milliseconds each on a busy host). Returns
    /// at once when INIT is already answered or the connection ended (<see cref="Run"/> then ends too).
    /// </summary>
    public void AnswerInit()
    {
        byte* request = (byte*)NativeMemory.AlignedAlloc(RequestCapacity, PageSize);
        byte* reply = (byte*)NativeMemory.AlignedAlloc(ReplyCapacity, PageSize);
        try
        {
            while (!_initialized.IsSet && !_stopping)
            {
                nint length = LibC.read(_device, request, RequestCapacity);
                if (length < 0)
                {
                    if (ReadAgain(LibC.LastError))
                        continue;
                    _stopping = true;
                    break;
                }
                if (HoldsRequest(request, length))
                    Answer(request, length, reply, callServed: false);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(request);
            NativeMemory.AlignedFree(reply);
        }
    }

    /// <summary>
    /// Ends <see cref="Run"/> without waiting for the kernel to end the connection: once this
    /// server unmounted its mount point, a copy of the mount in another mount namespace (made by
    /// unshare or clone while it was mounted) would keep the connection, and the server, alive for
    /// as long as that namespace lives. The connection ends with the process (the device's last
    /// descriptor closes), and requests through such copies then fail with ENOTCONN.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        _ended.Set();
    }

    private void Serve()
    {
        byte* request = (byte*)NativeMemory.AlignedAlloc(RequestCapacity, PageSize);
        byte* reply = (byte*)NativeMemory.AlignedAlloc(ReplyCapacity, PageSize);
        try
        {
            while (!_stopping)
            {
                nint length = LibC.read(_device, request, RequestCapacity);
                // Counted before _stopping is checked, and Stop sets it before Run reads the count:
                // a request either ends here or is answered before Run returns.
                Interlocked.Increment(ref _dispatching);
                try
                {
                    if (_stopping)
                        break;
                    if (length < 0)
                    {
                        if (ReadAgain(LibC.LastError))
                            continue;
                        break;
                    }
                    if (HoldsRequest(request, length))
                        Answer(request, length, reply);
                }
                finally
                {
                    Interlocked.Decrement(ref _dispatching);
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(request);
            NativeMemory.AlignedFree(reply);
        }
        _stopping = true;
        if (Interlocked.Decrement(ref _runningWorkers) == 0)
            _ended.Set();
    }

    /// <summary>
    /// After a failed read of the device: true to read again (EINTR: a signal; ENOENT: the request
    /// was interrupted before it was read), false when the connection ended (ENODEV: unmounted) or
    /// failed, which <see cref="Failure"/> then says.
    /// </summary>
    private bool ReadAgain(int errno)
    {
        if (errno is LibC.EINTR or LibC.ENOENT or LibC.EAGAIN)
            return true;
        if (errno != LibC.ENODEV)
            _failure ??= "reading /dev/fuse: " + LibC.ErrorText(errno);
        return false;
    }

    /// <summary>Whether the <paramref name="length"/> bytes read into <paramref name="request"/> hold a request's header.</summary>
    private static bool HoldsRequest(byte* request, nint length) =>
        length >= FuseAbi.InHeaderSize && Unsafe.AsRef<FuseInHeader>(request).Length >= FuseAbi.InHeaderSize;

    /// <summary>Decodes one request, answers it and records it.</summary>
    /// <param name="callServed">Whether answering INIT calls the served callback (a worker's), or <see cref="Run"/> does once its workers read (<see cref="AnswerInit"/>).</param>
    private void Answer(byte* request, nint length, byte* reply, bool callServed = true)
    {
        long start = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastRequest, start);
        ref FuseInHeader header = ref Unsafe.AsRef<FuseInHeader>(request);
        var body = new ReadOnlySpan<byte>(request + FuseAbi.InHeaderSize, (int)Math.Min(length, header.Length) - FuseAbi.InHeaderSize);
        var payload = new Span<byte>(reply + FuseAbi.OutHeaderSize, ReplyCapacity - FuseAbi.OutHeaderSize);
        int result;
        int replyLength;
        try
        {
            replyLength = 0;
            result = Admitted(in header) ? Dispatch(in header, body, payload, out replyLength) : LibC.EACCES;
        }
        catch (Exception)
        {
            // The reader raises on a malformed image: that request fails, the server lives on.
            result = LibC.EIO;
            replyLength = 0;
        }
        if (result != NoReply)
            Reply(reply, header.Unique, result, result == 0 ? replyLength : 0);
        Statistics.Record(header.Opcode, start);
        if (result == NoReply)
            return;
        if (callServed && header.Opcode == FuseOpcode.Init && _initialized.IsSet && Interlocked.Exchange(ref _servedCalled, 1) == 0)
            _served?.Invoke();
        if (header.Opcode == FuseOpcode.Destroy)
            _stopping = true;
    }

    private const int NoReply = -1;

    /// <summary>
    /// Whether a request may be answered, as libfuse's allow_root does it: the owner's (this
    /// process's user) and root's, and anyone's on what one of them opened (READ, READDIR, RELEASE,
    /// …: a descriptor passed on) and the kernel's own (INIT, FORGET, INTERRUPT, DESTROY). Without
    /// allow_other the kernel sends no other requests; with it, everyone else gets EACCES.
    /// </summary>
    private bool Admitted(in FuseInHeader header) =>
        header.Uid == _owner || header.Uid == 0 || header.Opcode is FuseOpcode.Init or FuseOpcode.Forget or FuseOpcode.BatchForget
            or FuseOpcode.Interrupt or FuseOpcode.Destroy or FuseOpcode.Read or FuseOpcode.ReadDir or FuseOpcode.ReadDirPlus
            or FuseOpcode.Flush or FuseOpcode.Release or FuseOpcode.ReleaseDir or FuseOpcode.FSync or FuseOpcode.FSyncDir;

    private void Reply(byte* reply, ulong unique, int errno, int payloadLength)
    {
        ref FuseOutHeader header = ref Unsafe.AsRef<FuseOutHeader>(reply);
        header.Length = (uint)(FuseAbi.OutHeaderSize + payloadLength);
        header.Error = -errno;
        header.Unique = unique;
        // ENOENT: the request was interrupted meanwhile; nothing else can be done about a failed reply.
        while (LibC.write(_device, reply, (nint)header.Length) < 0 && LibC.LastError == LibC.EINTR)
        {
        }
    }

    /// <summary>Handles one request; returns 0 with <paramref name="length"/> payload bytes, an errno, or <see cref="NoReply"/>.</summary>
    private int Dispatch(in FuseInHeader header, ReadOnlySpan<byte> body, Span<byte> payload, out int length)
    {
        length = 0;
        ulong node = header.NodeId;
        switch (header.Opcode)
        {
            case FuseOpcode.Init:
                return Init(body, payload, out length);
            case FuseOpcode.Lookup:
            {
                int errno = _fileSystem.Lookup(node, CString(body), out ulong child, out FuseNodeAttributes attributes);
                if (errno == LibC.ENOENT)
                {
                    // A negative entry (node id 0) is cached by the kernel for the timeout; ENOENT is not.
                    child = 0;
                    attributes = default;
                }
                else if (errno != 0)
                {
                    return errno;
                }
                var entry = new FuseEntryOut
                {
                    NodeId = child,
                    EntryValid = _validSeconds,
                    EntryValidNsec = _validNanoseconds,
                    AttrValid = child == 0 ? 0 : _validSeconds,
                    AttrValidNsec = child == 0 ? 0 : _validNanoseconds,
                    Attr = child == 0 ? default : ToKernel(attributes),
                };
                return Write(payload, in entry, out length);
            }
            case FuseOpcode.Forget:
                _fileSystem.Forget(node, MemoryMarshal.Read<ulong>(body));
                return NoReply;
            case FuseOpcode.BatchForget:
            {
                uint count = MemoryMarshal.Read<uint>(body);
                ReadOnlySpan<FuseForgetOne> forgets = MemoryMarshal.Cast<byte, FuseForgetOne>(body[8..]);
                for (int i = 0; i < forgets.Length && i < count; i++)
                    _fileSystem.Forget(forgets[i].NodeId, forgets[i].Count);
                return NoReply;
            }
            case FuseOpcode.GetAttr:
            {
                int errno = _fileSystem.GetAttributes(node, out FuseNodeAttributes attributes);
                if (errno != 0)
                    return errno;
                var attr = new FuseAttrOut { AttrValid = _validSeconds, AttrValidNsec = _validNanoseconds, Attr = ToKernel(attributes) };
                return Write(payload, in attr, out length);
            }
            case FuseOpcode.Open:
            case FuseOpcode.OpenDir:
            {
                bool directory = header.Opcode == FuseOpcode.OpenDir;
                // Zero-message opens where the kernel supports them: no OPEN/RELEASE round trips, page cache kept.
                if (directory ? _noOpendir : _noOpen)
                    return LibC.ENOSYS;
                const uint accessMode = 3;
                if ((MemoryMarshal.Read<uint>(body) & accessMode) != 0)
                    return LibC.EROFS;
                var open = new FuseOpenOut { OpenFlags = FuseAbi.FOPEN_KEEP_CACHE | (directory ? FuseAbi.FOPEN_CACHE_DIR : 0) };
                return Write(payload, in open, out length);
            }
            case FuseOpcode.Read:
            {
                FuseReadIn read = MemoryMarshal.Read<FuseReadIn>(body);
                int size = (int)Math.Min(read.Size, (uint)payload.Length);
                if (read.Offset > long.MaxValue)
                    return LibC.EINVAL;
                int errno = _fileSystem.Read(node, (long)read.Offset, payload[..size], out length);
                Statistics.AddReadBytes(length);
                return errno;
            }
            case FuseOpcode.ReadDir:
            case FuseOpcode.ReadDirPlus:
            {
                FuseReadIn read = MemoryMarshal.Read<FuseReadIn>(body);
                int size = (int)Math.Min(read.Size, (uint)payload.Length);
                if (read.Offset > long.MaxValue)
                    return LibC.EINVAL;
                var filler = new DirectoryFiller(payload[..size], header.Opcode == FuseOpcode.ReadDirPlus, _fileSystem.CacheTimeout);
                int errno = _fileSystem.ReadDirectory(node, (long)read.Offset, ref filler);
                length = filler.Length;
                return errno;
            }
            case FuseOpcode.ReadLink:
            {
                int errno = _fileSystem.ReadLink(node, out ReadOnlyMemory<byte> target);
                if (errno != 0)
                    return errno;
                if (target.Length > payload.Length)
                    return LibC.EIO;
                target.Span.CopyTo(payload);
                length = target.Length;
                return 0;
            }
            case FuseOpcode.StatFs:
            {
                int errno = _fileSystem.GetStatistics(out FuseFileSystemStatistics statistics);
                if (errno != 0)
                    return errno;
                var statfs = new FuseKStatFs
                {
                    Blocks = statistics.Blocks,
                    Files = statistics.Files,
                    BlockSize = statistics.BlockSize,
                    FragmentSize = statistics.BlockSize,
                    NameLength = statistics.NameLength,
                };
                return Write(payload, in statfs, out length);
            }
            case FuseOpcode.GetXattr:
            case FuseOpcode.ListXattr:
                return Xattr(in header, body, payload, out length);
            case FuseOpcode.Flush:
                // ENOSYS once: the kernel stops sending FLUSH (no_flush), which otherwise costs a round trip per close(2).
                return LibC.ENOSYS;
            case FuseOpcode.Release:
            case FuseOpcode.ReleaseDir:
            case FuseOpcode.FSync:
            case FuseOpcode.FSyncDir:
            case FuseOpcode.Destroy:
                return 0;
            case FuseOpcode.Access:
                // Only sent without default_permissions; a read-only tree refuses nothing else.
                return (MemoryMarshal.Read<uint>(body) & 2) != 0 ? LibC.EROFS : 0;
            case FuseOpcode.Interrupt:
                // Every operation is short and never waits on another request: the kernel may stop sending these.
                return LibC.ENOSYS;
            case FuseOpcode.SetAttr:
            case FuseOpcode.Symlink:
            case FuseOpcode.MkNod:
            case FuseOpcode.MkDir:
            case FuseOpcode.Unlink:
            case FuseOpcode.RmDir:
            case FuseOpcode.Rename:
            case FuseOpcode.Rename2:
            case FuseOpcode.Link:
            case FuseOpcode.Write:
            case FuseOpcode.SetXattr:
            case FuseOpcode.RemoveXattr:
            case FuseOpcode.Create:
            case FuseOpcode.Fallocate:
            case FuseOpcode.CopyFileRange:
            case FuseOpcode.TmpFile:
                return LibC.EROFS;
            default:
                return LibC.ENOSYS;
        }
    }

    private int Init(ReadOnlySpan<byte> body, Span<byte> payload, out int length)
    {
        FuseInitIn init = MemoryMarshal.Read<FuseInitIn>(body);
        var reply = new FuseInitOut { Major = FuseAbi.KernelMajor, Minor = Math.Min(FuseAbi.KernelMinor, init.Minor) };
        if (init.Major > FuseAbi.KernelMajor)
        {
            // The kernel offers a newer major: answer with ours and wait for its second INIT.
            MemoryMarshal.Write(payload, in reply);
            length = 8;
            return 0;
        }
        if (init.Major < FuseAbi.KernelMajor)
        {
            _failure = $"the kernel speaks FUSE {init.Major}.{init.Minor}, this server 7.x";
            length = 0;
            return LibC.EPROTO;
        }
        _noOpen = !_allowRoot && (init.Flags & NoOpenSupport) != 0;
        _noOpendir = !_allowRoot && (init.Flags & NoOpendirSupport) != 0;
        reply.MaxReadahead = init.MaxReadahead;
        reply.Flags = init.Flags & (uint)(_allowRoot ? WantedFlags & ~FuseInitFlags.CacheSymlinks : WantedFlags);
        reply.MaxBackground = 64;
        reply.CongestionThreshold = 48;
        reply.MaxWrite = PageSize;
        reply.TimeGranularity = 1;
        reply.MaxPages = MaxPages;
        MemoryMarshal.Write(payload, in reply);
        length = init.Minor < 23 ? FuseAbi.Compat22InitOutSize : Unsafe.SizeOf<FuseInitOut>();
        _initialized.Set();
        return 0;
    }

    private int Xattr(in FuseInHeader header, ReadOnlySpan<byte> body, Span<byte> payload, out int length)
    {
        length = 0;
        // ENOSYS once: the kernel then stops asking (ls -l probes three attributes per file).
        if (!_fileSystem.HasXattrs)
            return LibC.ENOSYS;
        FuseGetxattrIn request = MemoryMarshal.Read<FuseGetxattrIn>(body);
        ReadOnlyMemory<byte> value;
        int errno = header.Opcode == FuseOpcode.GetXattr
            ? _fileSystem.GetXattr(header.NodeId, CString(body[Unsafe.SizeOf<FuseGetxattrIn>()..]), out value)
            : _fileSystem.ListXattrs(header.NodeId, out value);
        if (errno != 0)
            return errno;
        if (request.Size == 0)
            return Write(payload, new FuseGetxattrOut { Size = (uint)value.Length }, out length);
        if (value.Length > request.Size || value.Length > payload.Length)
            return LibC.ERANGE;
        value.Span.CopyTo(payload);
        length = value.Length;
        return 0;
    }

    private static int Write<T>(Span<byte> payload, in T value, out int length) where T : unmanaged
    {
        MemoryMarshal.Write(payload, in value);
        length = Unsafe.SizeOf<T>();
        return 0;
    }

    /// <summary>A NUL-terminated name in a request (the whole span if the NUL is missing).</summary>
    private static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return end < 0 ? bytes : bytes[..end];
    }

    internal static FuseAttr ToKernel(in FuseNodeAttributes attributes)
    {
        ulong time = (ulong)attributes.ModificationTime;
        return new FuseAttr
        {
            Ino = attributes.Ino,
            Size = attributes.Size,
            Blocks = (attributes.Size + 511) / 512,
            ATime = time,
            MTime = time,
            CTime = time,
            Mode = attributes.Mode,
            NLink = attributes.LinkCount,
            Uid = attributes.Uid,
            Gid = attributes.Gid,
            RDev = attributes.DeviceNumber,
            BlockSize = PageSize,
        };
    }

    /// <summary>A timeout as the kernel's seconds and nanoseconds.</summary>
    internal static (ulong Seconds, uint Nanoseconds) Split(TimeSpan timeout)
    {
        long ticks = Math.Max(0, timeout.Ticks);
        return ((ulong)(ticks / TimeSpan.TicksPerSecond), (uint)(ticks % TimeSpan.TicksPerSecond * 100));
    }
}
