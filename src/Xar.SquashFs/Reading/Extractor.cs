using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.ExceptionServices;
using System.Text;
using Xar.Interop;

namespace Xar.SquashFs.Reading;

/// <summary>
/// Writes (part of) an image to a directory. Everything is created relative to one directory
/// descriptor for the destination with *at system calls, and nothing is ever followed:
/// <list type="bullet">
/// <item>names are single components (the directory reader rejects '/', '.', '..', empty, NUL) and
/// unique per directory (it enforces strict byte order), and each directory is visited once, so
/// every destination path belongs to exactly one image entry;</item>
/// <item>every directory on a path is either created here or verified to be a real directory with
/// O_NOFOLLOW before anything is created in it;</item>
/// <item>leaves are created with O_CREAT|O_EXCL|O_NOFOLLOW, symlink, mknod and link (none of which
/// follow a final symlink); times and owners are set with AT_SYMLINK_NOFOLLOW.</item>
/// </list>
/// Concurrent changes to the destination by other processes are outside this model.
/// Phases: the calling thread walks the tree a directory at a time, creating its subdirectories,
/// symlinks and special files as it lists them and queueing its regular files as one batch, while
/// worker threads create and fill the queued files, big batches first (the calling
/// thread joins them when the walk ends); then hard links are added and directory modes and times
/// applied once all content exists, by all threads (deepest first on one thread when a directory
/// may lose its owner's search permission).
/// A batch holds the files of one directory because creating a file holds its directory's lock
/// (i_rwsem) for the whole creation: threads creating in one directory spin on each other (on ext4,
/// 40 % more CPU per file with two threads), while in different directories they scale (ext4,
/// 12,000 files of 2 KB: the same CPU per file with one and two threads, and neither waits on the
/// other). A file of more than <see cref="PartBlocks"/> blocks is queued in parts instead, created
/// by the first part to run, so that several threads decompress it. Each thread holds open only
/// the file it writes (and large files until their last part is written): none are created ahead.
/// Regular files are created with their final mode where the kernel is known to give exactly that
/// mode (see <see cref="CreatedWithFinalMode"/>), which saves one fchmod per file; the others are
/// created private (0600) and get their mode once written.
/// </summary>
internal sealed class Extractor
{
    /// <summary>Files with more blocks are written by several workers, this many blocks each.</summary>
    private const int PartBlocks = 16;
    /// <summary>
    /// What creating a file costs in the units of a batch's cost, bytes written: on ext4 about
    /// 20 µs of CPU, as much as filling 8-16 KB of new page cache and decompressing it.
    /// </summary>
    private const long FileCreationCost = 16 << 10;
    /// <summary>
    /// A batch this costly (256 small files) is written before the others, so that a big directory
    /// found late in the walk is not written alone at the end while the other threads have nothing
    /// left: cfn-lint's 2,204-file schema directory was the last 110 ms of a 520 ms extraction.
    /// The walk ends long before the files are written (it only lists and makes directories), so
    /// every big batch is taken while small ones still wait, and the tail is at most one batch
    /// below this cost (about 8 ms of CPU).
    /// </summary>
    private const long BigBatchCost = 4L << 20;
    private const uint SetIdBits = 0xC00; // S_ISUID | S_ISGID
    private const uint PermissionBits = 0x1FF; // 0777
    private const uint PrivateFileMode = 0x180; // 0600
    private const uint PrivateDirectoryMode = 0x1C0; // 0700
    private const uint GroupAndOtherBits = 0x3F; // 077
    private const uint OwnerSearch = 0x40; // S_IXUSR
    /// <summary>Fewer directories are finished by the calling thread alone (a thread costs more than they do).</summary>
    private const int MinimumDirectoriesPerThread = 64;

    private static readonly byte[] Dot = [(byte)'.', 0];

    private readonly SquashFsImage _image;
    private readonly ExtractOptions _options;
    private readonly bool _isRoot;
    private readonly bool _restoreOwners;
    private readonly int _blockLog;
    private int _rootFd = -1;
    /// <summary>
    /// The bits the calling thread's umask clears from a creation mode, or null when files must
    /// get their mode with fchmod (the umask is unknown, or a default ACL rules instead of it).
    /// </summary>
    private uint? _creationMask;
    private byte[] _destinationPrefix = [];

    private readonly List<(SquashFsEntry Entry, byte[] Path)> _directories = [];
    private readonly List<FileTask> _largeFiles = [];

    private readonly BlockingPriorityQueue<WorkItem[]> _queue = new();
    /// <summary>Batches queued so far: the priority of batches that are not big (walk order).</summary>
    private long _queued;
    private bool _hasWorkers;
    /// <summary>The regular files of the directory being listed (or of selected single files), queued as one batch.</summary>
    private readonly List<WorkItem> _batch = [];
    private readonly ConcurrentQueue<Exception> _failures = new();
    private readonly CancellationTokenSource _abort;
    private int _files;
    private long _fileBytes;
    private readonly List<(SquashFsEntry Entry, byte[] Path, LinkOrigin Origin)> _hardLinks = [];
    private readonly Dictionary<uint, LinkOrigin> _origins = [];
    private readonly HashSet<ulong> _visited = [];
    private readonly HashSet<ulong> _ancestors = [];
    private int _symlinks, _devices, _fifos, _sockets, _skipped;

    private sealed class LinkOrigin(ulong reference, byte[] path)
    {
        public ulong Reference { get; } = reference;
        public byte[] Path { get; } = path;
        public bool Skipped { get; set; }
    }

    private sealed class FileTask(SquashFsEntry entry, byte[] path)
    {
        public SquashFsEntry Entry { get; } = entry;
        public byte[] Path { get; } = path;
        public FileLayout? Layout { get; set; }
        /// <summary>A file written in parts: created by the first part to run, closed by whoever finishes the file.</summary>
        public int Fd = -1;
        public int PendingParts;
    }

    private readonly record struct WorkItem(FileTask Task, int FirstBlock, int EndBlock, bool WithTail, bool Whole);

    public Extractor(SquashFsImage image, ExtractOptions options)
    {
        _image = image;
        _options = options;
        _blockLog = BitOperations.Log2((uint)image.BlockSize);
        _abort = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        _isRoot = LibC.geteuid() == 0;
        _restoreOwners = options.RestoreOwners && _isRoot;
    }

    public ExtractionSummary Run(string destination, IReadOnlyList<List<SquashFsEntry>> selections)
    {
        string full = Path.GetFullPath(destination);
        bool createdDestination = CreateDestination(full);
        _destinationPrefix = Encoding.UTF8.GetBytes(full.EndsWith('/') ? full : full + "/");
        try
        {
            _rootFd = LibC.OpenAt(LibC.AT_FDCWD, Terminate(Encoding.UTF8.GetBytes(full)), LibC.O_RDONLY | LibC.O_DIRECTORY, 0);
            if (_rootFd < 0) throw LibC.Failure("open destination", full, LibC.LastError);
            _creationMask = createdDestination ? CreationMask(full) : null;
            _options.Progress?.Begin("extracting");
            if (_options.RestoreOwners && !_restoreOwners)
                Warn(_image.Root, "owners not restored: not running as root");
            WalkAndWriteFiles(selections, createdDestination);
            CreateHardLinks();
            FinishDirectories();
            return new ExtractionSummary
            {
                Directories = _directories.Count,
                Files = _files,
                Symlinks = _symlinks,
                HardLinks = _hardLinks.Count - _hardLinks.Count(l => l.Origin.Skipped),
                Devices = _devices,
                Fifos = _fifos,
                Sockets = _sockets,
                Skipped = _skipped,
                FileBytes = _fileBytes,
            };
        }
        finally
        {
            _abort.Dispose();
            if (_rootFd >= 0) LibC.close(_rootFd);
            _rootFd = -1;
        }
    }

    /// <summary>
    /// Walks the selections on this thread while workers write the files it queues, then helps
    /// drain the queue. The first failure (walk or worker) stops everything and is rethrown.
    /// </summary>
    private void WalkAndWriteFiles(IReadOnlyList<List<SquashFsEntry>> selections, bool createdDestination)
    {
        int parallelism = Parallelism;
        var workers = new Task[parallelism - 1];
        _hasWorkers = workers.Length > 0;
        for (int i = 0; i < workers.Length; i++)
            workers[i] = Task.Factory.StartNew(WriteQueuedFiles, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            foreach (var chain in selections)
                ExtractSelection(chain, createdDestination);
            FlushBatch();
        }
        catch (Exception e)
        {
            Fail(e);
            _batch.Clear();
        }
        finally
        {
            _queue.CompleteAdding();
        }
        WriteQueuedFiles();
        Task.WaitAll(workers);

        foreach (var task in _largeFiles)
        {
            if (task.Fd >= 0)
            {
                LibC.close(task.Fd);
                task.Fd = -1;
            }
        }
        if (!_failures.IsEmpty)
        {
            // Report the cause, not the cancellations it triggered in the other threads.
            var cause = _failures.FirstOrDefault(e => e is not OperationCanceledException) ?? _failures.First();
            ExceptionDispatchInfo.Capture(cause).Throw();
        }
        // Workers stop early when cancelled without anything failing.
        _options.CancellationToken.ThrowIfCancellationRequested();
    }

    private int Parallelism => _options.MaxDegreeOfParallelism > 0 ? _options.MaxDegreeOfParallelism : Environment.ProcessorCount;

    private void Fail(Exception e)
    {
        _failures.Enqueue(e);
        _abort.Cancel();
    }

    private void ExtractSelection(List<SquashFsEntry> chain, bool createdDestination)
    {
        byte[] path = Dot;
        for (int i = 0; i < chain.Count - 1; i++)
        {
            var ancestor = chain[i];
            if (i > 0) path = Join(path, ancestor.NameBytes.Span);
            if (!_ancestors.Add(ancestor.InodeReference)) continue;
            if (!_visited.Add(ancestor.InodeReference))
                throw new SquashFsException($"directory table: directory '{ancestor.Path}' is reached a second time: the directory tree contains a cycle");
            if (i > 0) MakeDirectory(ancestor, path);
            if (i > 0 || createdDestination) _directories.Add((ancestor, path));
        }
        var target = chain[^1];
        if (chain.Count > 1) path = Join(path, target.NameBytes.Span);
        if (target.IsDirectory)
            ExtractTree(target, path, chain.Count - 1, createdDestination);
        else
            CreateLeaf(target, path);
    }

    /// <summary>
    /// Lists one directory at a time: its subdirectories are created (and listed later), its
    /// other entries created or, for regular files, queued as the directory's batch.
    /// </summary>
    private void ExtractTree(SquashFsEntry top, byte[] topPath, int depth, bool createdDestination)
    {
        SquashFsImage.EnterDirectory(_visited, top, depth);
        bool isDestination = ReferenceEquals(topPath, Dot);
        if (!isDestination) MakeDirectory(top, topPath);
        if (!isDestination || createdDestination) _directories.Add((top, topPath));

        var pending = new Stack<(SquashFsEntry Directory, byte[] Path, int Depth)>();
        pending.Push((top, topPath, depth));
        while (pending.TryPop(out var directory))
        {
            _abort.Token.ThrowIfCancellationRequested();
            int childDepth = directory.Depth + 1;
            foreach (var child in _image.ListDirectory(directory.Directory))
            {
                byte[] path = Join(directory.Path, child.NameBytes.Span);
                if (child.IsDirectory)
                {
                    SquashFsImage.EnterDirectory(_visited, child, childDepth);
                    MakeDirectory(child, path);
                    _directories.Add((child, path));
                    pending.Push((child, path, childDepth));
                }
                else
                {
                    CreateLeaf(child, path);
                }
            }
            FlushBatch();
        }
    }

    private void CreateLeaf(SquashFsEntry entry, byte[] path)
    {
        if (_origins.TryGetValue(entry.InodeNumber, out var origin))
        {
            if (origin.Reference != entry.InodeReference)
                throw new SquashFsException(
                    $"inode table: inode number {entry.InodeNumber} belongs to two different inodes (references 0x{origin.Reference:x} and 0x{entry.InodeReference:x}, at '{entry.Path}')");
            _hardLinks.Add((entry, path, origin));
            return;
        }
        origin = new LinkOrigin(entry.InodeReference, path);
        _origins.Add(entry.InodeNumber, origin);

        switch (entry.Type)
        {
            case SquashFsEntryType.RegularFile:
                QueueFile(new FileTask(entry, path));
                break;
            case SquashFsEntryType.Symlink:
                CreateOrReplace(entry, path, "symlink", () => LibC.SymlinkAt(Terminate(entry.SymlinkTargetBytes.Span), _rootFd, path));
                ApplyAttributes(entry, path, mode: null);
                _symlinks++;
                break;
            case SquashFsEntryType.Fifo:
                MakeNode(entry, path, LibC.S_IFIFO, 0);
                _fifos++;
                break;
            case SquashFsEntryType.Socket:
                // unsquashfs creates socket nodes too (mknod S_IFSOCK); nothing listens on them.
                MakeNode(entry, path, LibC.S_IFSOCK, 0);
                _sockets++;
                break;
            default:
                if (!_isRoot)
                {
                    Warn(entry, $"{entry.Type} {entry.DeviceMajor}:{entry.DeviceMinor} not created: only root may create device nodes");
                    origin.Skipped = true;
                    _skipped++;
                    break;
                }
                uint kind = entry.Type == SquashFsEntryType.CharacterDevice ? LibC.S_IFCHR : LibC.S_IFBLK;
                MakeNode(entry, path, kind, LibC.MakeDevice(entry.DeviceMajor, entry.DeviceMinor));
                _devices++;
                break;
        }
    }

    private void MakeNode(SquashFsEntry entry, byte[] path, uint kind, ulong device)
    {
        CreateOrReplace(entry, path, "mknod", () => LibC.MknodAt(_rootFd, path, kind | 0x180, device));
        ApplyAttributes(entry, path, Mode(entry));
    }

    /// <summary>
    /// Creates the destination and any missing parents; false when it exists already. Private
    /// (0700) like every directory created here until its content is written, when it gets its mode.
    /// </summary>
    private static bool CreateDestination(string full)
    {
        if (Directory.Exists(full)) return false;
        if (Path.GetDirectoryName(full) is { } parent) Directory.CreateDirectory(parent);
        if (LibC.mkdir(full, PrivateDirectoryMode) == 0) return true;
        int error = LibC.LastError;
        if (error == LibC.EEXIST) return false;
        throw LibC.Failure("create destination", full, error);
    }

    private void MakeDirectory(SquashFsEntry entry, byte[] path)
    {
        // Private until finished: the final mode is applied after the content is written.
        int error = LibC.MkdirAt(_rootFd, path, PrivateDirectoryMode);
        if (error == 0) return;
        if (error == LibC.EEXIST)
        {
            int fd = LibC.OpenAt(_rootFd, path, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0);
            if (fd >= 0)
            {
                LibC.close(fd);
                return; // a real directory (not a symlink to one): merge into it
            }
            if (!_options.Overwrite)
                throw new IOException($"'{Display(path)}' already exists and is not a directory (a symlink is never followed); use Overwrite to replace it");
            Remove(path);
            error = LibC.MkdirAt(_rootFd, path, PrivateDirectoryMode);
            if (error == 0) return;
        }
        throw LibC.Failure($"mkdir for '{entry.Path}'", Display(path), error);
    }

    /// <summary>Runs a creating call; an existing entry is replaced with <see cref="ExtractOptions.Overwrite"/>, else an error.</summary>
    private void CreateOrReplace(SquashFsEntry entry, byte[] path, string operation, Func<int> create)
    {
        int error = create();
        if (error == LibC.EEXIST && _options.Overwrite)
        {
            Remove(path);
            error = create();
        }
        if (error != 0) throw LibC.Failure($"{operation} for '{entry.Path}'", Display(path), error);
    }

    private void Remove(byte[] path)
    {
        int error = LibC.UnlinkAt(_rootFd, path, 0);
        if (error == LibC.EISDIR) error = LibC.UnlinkAt(_rootFd, path, LibC.AT_REMOVEDIR);
        if (error != 0) throw LibC.Failure("remove existing", Display(path), error);
    }

    /// <summary>Owner, xattrs, <paramref name="mode"/> (unless null), then times (each step can change what the next one sees), never following a symlink.</summary>
    private void ApplyAttributes(SquashFsEntry entry, byte[] path, uint? mode)
    {
        if (_restoreOwners)
            Check(LibC.LChownAt(_rootFd, path, entry.Uid, entry.Gid), "chown", path);
        if (_options.RestoreXattrs && entry.XattrIndex is not null)
        {
            byte[] absolute = new byte[_destinationPrefix.Length + path.Length];
            _destinationPrefix.CopyTo(absolute, 0);
            path.CopyTo(absolute, _destinationPrefix.Length);
            foreach (var xattr in _image.GetXattrs(entry))
            {
                int error = LibC.LSetXattr(absolute, Terminate(xattr.NameBytes.Span), xattr.Value.Span);
                if (error != 0) Warn(entry, $"xattr {xattr.Name} not restored: {LibC.ErrorText(error)}");
            }
        }
        if (mode is { } permissions)
            Check(LibC.FChmodAt(_rootFd, path, permissions), "chmod", path);
        Check(LibC.LUtimesAt(_rootFd, path, entry.ModificationTimeSeconds), "set times on", path);
    }

    private uint Mode(SquashFsEntry entry)
    {
        uint mode = (uint)entry.Permissions;
        return _restoreOwners ? mode : mode & ~SetIdBits;
    }

    /// <summary>
    /// Whether a regular file is created with its final mode instead of 0600 and fchmod once
    /// written: only plain permission bits (set-id bits are applied after the owner, and
    /// creation would drop the sticky bit) that the umask keeps, and no xattrs to restore (a
    /// read-only file refuses user.* attributes to anyone but root). Writing needs no permission:
    /// the descriptor O_CREAT returns is writable whatever the mode.
    /// </summary>
    private bool CreatedWithFinalMode(SquashFsEntry entry)
    {
        uint mode = Mode(entry);
        return _creationMask is { } mask && (mode & ~PermissionBits) == 0 && (mode & mask) == 0
            && !(_options.RestoreXattrs && entry.XattrIndex is not null);
    }

    /// <summary>
    /// The calling thread's umask, when it alone decides what open(O_CREAT) does to a mode in
    /// the new destination <paramref name="root"/>: it is readable (/proc/thread-self/status;
    /// asking umask(2) would change it for every thread) and the root has no default ACL (whose
    /// entries replace the umask, and which every directory created below inherits). Null otherwise.
    /// </summary>
    private static unsafe uint? CreationMask(string root)
    {
        uint? umask = null;
        try
        {
            foreach (string line in File.ReadLines("/proc/thread-self/status"))
            {
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                {
                    umask = Convert.ToUInt32(line["Umask:".Length..].Trim(), 8);
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
        byte[] path = Terminate(Encoding.UTF8.GetBytes(root));
        fixed (byte* p = path)
        fixed (byte* name = "system.posix_acl_default\0"u8)
        {
            if (LibC.lgetxattr(p, name, null, 0) >= 0) return null;
            int error = LibC.LastError;
            return error is LibC.ENODATA or LibC.ENOTSUP ? umask : null;
        }
    }

    /// <summary>Adds a file to the directory's batch, or queues it in parts of <see cref="PartBlocks"/> blocks.</summary>
    private void QueueFile(FileTask task)
    {
        var entry = task.Entry;
        _files++;
        _fileBytes += entry.Size;
        _options.Progress?.Found(1, entry.Size);
        if (entry.BlockCount <= PartBlocks)
        {
            _batch.Add(new WorkItem(task, 0, entry.BlockCount, true, Whole: true));
            return;
        }
        task.Layout = _image.ReadLayout(entry); // before the file exists: it can throw
        int parts = (entry.BlockCount + PartBlocks - 1) / PartBlocks;
        task.PendingParts = parts;
        _largeFiles.Add(task);
        for (int p = 0; p < parts; p++)
        {
            int first = p * PartBlocks;
            var part = new WorkItem(task, first, Math.Min(entry.BlockCount, first + PartBlocks), p == parts - 1, Whole: false);
            Queue([part], (long)(part.EndBlock - part.FirstBlock) << _blockLog);
        }
    }

    private void FlushBatch()
    {
        if (_batch.Count == 0) return;
        long cost = 0;
        foreach (var item in _batch) cost += FileCreationCost + item.Task.Entry.Size;
        Queue([.. _batch], cost);
        _batch.Clear();
    }

    /// <summary>
    /// Hands a batch to the workers, or with one thread writes it now. Big batches are taken
    /// first, costliest first; the others in the order queued, which is the image's order of
    /// directories and so of the fragment blocks that their small files share (taking all
    /// batches costliest first decompressed cached fragments again: awscli's zstd CPU doubled).
    /// </summary>
    private void Queue(WorkItem[] batch, long cost)
    {
        if (_hasWorkers)
        {
            _queue.Add(batch, cost >= BigBatchCost ? -cost : _queued++);
            return;
        }
        byte[] buffer = _image.Buffers.Rent();
        try
        {
            foreach (var item in batch) Write(item, buffer);
        }
        finally
        {
            _image.Buffers.Return(buffer);
        }
    }

    /// <summary>
    /// A worker: writes queued batches until the queue is complete. Once anything has failed (or
    /// the caller cancelled) the remaining batches are consumed without writing, so the walk and
    /// the other workers finish promptly; a worker that fails itself records why and stops.
    /// </summary>
    private void WriteQueuedFiles()
    {
        byte[] buffer = _image.Buffers.Rent();
        try
        {
            while (_queue.TryTake(out var batch))
            {
                foreach (var item in batch)
                {
                    if (_abort.IsCancellationRequested) break;
                    Write(item, buffer);
                }
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            _image.Buffers.Return(buffer);
        }
    }

    private void Write(in WorkItem item, byte[] buffer)
    {
        var task = item.Task;
        var entry = task.Entry;
        if (item.Whole)
        {
            int fd = CreateFile(task);
            try
            {
                var layout = _image.ReadLayout(entry);
                MakeHoles(fd, task, layout);
                WriteBlocks(fd, task, layout, 0, entry.BlockCount, buffer);
                if (entry.HasFragment) WriteTail(fd, task);
                FinishFile(fd, task);
            }
            finally
            {
                LibC.close(fd);
            }
            return;
        }

        int shared;
        lock (task)
        {
            if (task.Fd < 0) task.Fd = CreateFile(task);
            shared = task.Fd;
        }
        WriteBlocks(shared, task, task.Layout!, item.FirstBlock, item.EndBlock, buffer);
        if (item.WithTail && entry.HasFragment) WriteTail(shared, task);
        if (Interlocked.Decrement(ref task.PendingParts) == 0)
        {
            lock (task)
            {
                MakeHoles(shared, task, task.Layout!); // sizing after the writes gives the same file
                FinishFile(shared, task);
                LibC.close(shared);
                task.Fd = -1;
            }
        }
    }

    /// <summary>Creates the (empty) file, with its final mode or private.</summary>
    private int CreateFile(FileTask task)
    {
        int flags = LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW;
        uint mode = CreatedWithFinalMode(task.Entry) ? Mode(task.Entry) : PrivateFileMode;
        int fd = LibC.OpenAt(_rootFd, task.Path, flags, mode);
        if (fd < 0 && LibC.LastError == LibC.EEXIST && _options.Overwrite)
        {
            Remove(task.Path);
            fd = LibC.OpenAt(_rootFd, task.Path, flags, mode);
        }
        if (fd < 0) throw LibC.Failure($"create file for '{task.Entry.Path}'", Display(task.Path), LibC.LastError);
        return fd;
    }

    /// <summary>Sparse blocks are holes: size the file first and write only the blocks with data.</summary>
    private void MakeHoles(int fd, FileTask task, FileLayout layout)
    {
        if (Array.IndexOf(layout.Words, 0u) < 0) return;
        int error = LibC.FTruncate(fd, task.Entry.Size);
        if (error != 0) throw LibC.Failure("ftruncate", Display(task.Path), error);
    }

    private void WriteBlocks(int fd, FileTask task, FileLayout layout, int first, int end, byte[] buffer)
    {
        var entry = task.Entry;
        for (int i = first; i < end; i++)
        {
            uint word = layout.Words[i];
            if (word == 0) continue;
            var block = buffer.AsSpan(0, _image.BlockLength(entry, i));
            try
            {
                _image.LoadDataBlock(layout.Starts[i], word, block);
            }
            catch (SquashFsException e)
            {
                throw SquashFsImage.FileError(entry, e);
            }
            int error = LibC.PWriteAll(fd, block, (long)i << _blockLog);
            if (error != 0) throw LibC.Failure("write", Display(task.Path), error);
        }
    }

    private void WriteTail(int fd, FileTask task)
    {
        var entry = task.Entry;
        BlockLease lease;
        try
        {
            lease = _image.AcquireFragment(entry);
        }
        catch (SquashFsException e)
        {
            throw SquashFsImage.FileError(entry, e);
        }
        using (lease)
        {
            var tail = lease.Data.Slice(entry.FragmentOffset, _image.TailLength(entry));
            int error = LibC.PWriteAll(fd, tail, (long)entry.BlockCount << _blockLog);
            if (error != 0) throw LibC.Failure("write", Display(task.Path), error);
        }
    }

    private void FinishFile(int fd, FileTask task)
    {
        var entry = task.Entry;
        _options.Progress?.Advance(1, entry.Size);
        if (_restoreOwners) Check(LibC.FChown(fd, entry.Uid, entry.Gid), "chown", task.Path);
        // Before the mode: a read-only file refuses new attributes to anyone but root.
        if (_options.RestoreXattrs && entry.XattrIndex is not null)
        {
            foreach (var xattr in _image.GetXattrs(entry))
            {
                int error = LibC.FSetXattr(fd, Terminate(xattr.NameBytes.Span), xattr.Value.Span);
                if (error != 0) Warn(entry, $"xattr {xattr.Name} not restored: {LibC.ErrorText(error)}");
            }
        }
        if (!CreatedWithFinalMode(entry))
            Check(LibC.FChmod(fd, Mode(entry)), "chmod", task.Path);
        Check(LibC.FUtimens(fd, entry.ModificationTimeSeconds), "set times on", task.Path);
    }

    private void CreateHardLinks()
    {
        foreach (var (entry, path, origin) in _hardLinks)
        {
            if (origin.Skipped)
            {
                Warn(entry, $"hard link to '{Display(origin.Path)}' not created: its inode was skipped");
                _skipped++;
                continue;
            }
            CreateOrReplace(entry, path, "link", () => LibC.LinkAt(_rootFd, origin.Path, path));
        }
    }

    /// <summary>
    /// Modes and times of the directories, once everything inside them exists. Deepest first when
    /// a directory may end without search permission for its owner (a child could no longer be
    /// reached by its path); otherwise no order matters (changing a directory's mode or times
    /// changes nothing of its parent) and the threads share them: this was a serial tail of
    /// about 10 ms for awscli's 1,235 directories, 3 % of its extraction.
    /// </summary>
    private void FinishDirectories()
    {
        int threads = Math.Min(Parallelism, _directories.Count / MinimumDirectoriesPerThread);
        bool anyOrder = _isRoot || _directories.TrueForAll(d => (Mode(d.Entry) & OwnerSearch) != 0);
        if (threads < 2 || !anyOrder)
        {
            FinishDirectories(0, _directories.Count);
            return;
        }
        var helpers = new Task[threads - 1];
        int share = (_directories.Count + threads - 1) / threads;
        for (int t = 1; t < threads; t++)
        {
            int start = t * share, end = Math.Min(_directories.Count, start + share);
            helpers[t - 1] = Task.Factory.StartNew(() => FinishDirectories(start, end), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        ExceptionDispatchInfo? failure = null;
        try
        {
            FinishDirectories(0, Math.Min(share, _directories.Count));
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }
        foreach (var helper in helpers)
        {
            try
            {
                helper.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                failure ??= ExceptionDispatchInfo.Capture(e);
            }
        }
        failure?.Throw();
    }

    /// <summary>Finishes <c>_directories[start..end)</c>, last first.</summary>
    private void FinishDirectories(int start, int end)
    {
        for (int i = end - 1; i >= start; i--)
        {
            var (entry, path) = _directories[i];
            uint mode = Mode(entry);
            if (_options.PrivateRoot && ReferenceEquals(path, Dot)) mode &= ~GroupAndOtherBits;
            ApplyAttributes(entry, path, mode);
        }
    }

    private void Check(int error, string operation, byte[] path)
    {
        if (error != 0) throw LibC.Failure(operation, Display(path), error);
    }

    private void Warn(SquashFsEntry entry, string message) => _options.Warning?.Invoke(entry, message);

    private string Display(byte[] path) => Encoding.UTF8.GetString(_destinationPrefix) + Encoding.UTF8.GetString(path, 0, path.Length - 1);

    /// <summary>parent/name, NUL-terminated; the destination itself is ".".</summary>
    private static byte[] Join(byte[] parent, ReadOnlySpan<byte> name)
    {
        if (ReferenceEquals(parent, Dot)) return Terminate(name);
        var joined = new byte[parent.Length + name.Length + 1];
        parent.AsSpan(0, parent.Length - 1).CopyTo(joined);
        joined[parent.Length - 1] = (byte)'/';
        name.CopyTo(joined.AsSpan(parent.Length));
        return joined; // the last byte is already 0
    }

    private static byte[] Terminate(ReadOnlySpan<byte> value)
    {
        var terminated = new byte[value.Length + 1];
        value.CopyTo(terminated);
        return terminated;
    }
}
