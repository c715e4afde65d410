using System.Runtime.InteropServices;
using System.Text;
using Xar.SquashFs.Format;
using Xar.Interop;

namespace Xar.SquashFs.Writing;

/// <summary>The set of paths to write, built from entries or by scanning a directory.</summary>
internal sealed class ImageTree
{
    private readonly SquashFsWriterOptions _options;

    public TreeNode Root { get; }

    /// <summary>
    /// Null until a directory is scanned. The scan fills <see cref="TreeNode.Children"/> only (an
    /// index would cost a string and a dictionary entry per file), so <see cref="Add"/> indexes a
    /// directory the first time it passes through it after a scan; this set holds those.
    /// </summary>
    private HashSet<TreeNode>? _indexedAfterScan;

    public ImageTree(SquashFsWriterOptions options)
    {
        _options = options;
        Root = NewDirectory([], null);
        Root.Permissions = 0b111_101_101;
    }

    public void Add(ImageEntry entry)
    {
        var components = SplitPath(entry.Path);
        if (components.Count == 0)
        {
            if (entry.Type != ImageEntryType.Directory)
                throw new SquashFsException($"'{entry.Path}': the image root can only be a directory");
            ApplyAttributes(Root, entry);
            Root.Explicit = true;
            return;
        }

        TreeNode parent = Root;
        for (int i = 0; i < components.Count - 1; i++)
            parent = GetOrCreateDirectory(parent, components[i], entry.Path);
        string name = components[^1];

        if (Index(parent).TryGetValue(name, out var existing))
        {
            if (existing.IsDirectory && entry.Type == ImageEntryType.Directory && !existing.Explicit)
            {
                ApplyAttributes(existing, entry);
                existing.Explicit = true;
                return;
            }
            throw new SquashFsException($"'{entry.Path}': added twice");
        }

        var node = CreateNode(entry, name);
        AttachChild(parent, node, name);
    }

    private TreeNode CreateNode(ImageEntry entry, string name)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        switch (entry.Type)
        {
            case ImageEntryType.HardLink:
            {
                var target = Find(entry.LinkTarget ?? throw new SquashFsException($"'{entry.Path}': hard link without a target"))
                             ?? throw new SquashFsException($"'{entry.Path}': hard link target '{entry.LinkTarget}' was not added before it");
                var primary = target.Inode;
                if (primary.IsDirectory)
                    throw new SquashFsException($"'{entry.Path}': hard links to directories are impossible");
                primary.LinkCount++;
                return new TreeNode(nameBytes, primary.Type) { HardLinkPrimary = primary, Explicit = true };
            }
            case ImageEntryType.Directory:
            {
                var dir = NewDirectory(nameBytes, null);
                ApplyAttributes(dir, entry);
                dir.Explicit = true;
                return dir;
            }
        }

        var type = entry.Type switch
        {
            ImageEntryType.File => InodeType.File,
            ImageEntryType.Symlink => InodeType.Symlink,
            ImageEntryType.CharDevice => InodeType.CharDevice,
            ImageEntryType.BlockDevice => InodeType.BlockDevice,
            ImageEntryType.Fifo => InodeType.Fifo,
            ImageEntryType.Socket => InodeType.Socket,
            _ => throw new SquashFsException($"'{entry.Path}': unknown entry type {entry.Type}"),
        };
        var node = new TreeNode(nameBytes, type) { Explicit = true };
        ApplyAttributes(node, entry);
        switch (type)
        {
            case InodeType.File:
                node.Content = entry.Content ?? throw new SquashFsException($"'{entry.Path}': file without content");
                node.CompressionLevel = entry.CompressionLevel;
                break;
            case InodeType.Symlink:
                node.SymlinkTarget = Encoding.UTF8.GetBytes(entry.LinkTarget ?? throw new SquashFsException($"'{entry.Path}': symlink without a target"));
                node.Permissions = 0b111_111_111;
                break;
            case InodeType.CharDevice or InodeType.BlockDevice:
                node.Rdev = SquashFsConstants.EncodeDevice(entry.DeviceMajor, entry.DeviceMinor);
                break;
        }
        return node;
    }

    private void ApplyAttributes(TreeNode node, ImageEntry entry)
    {
        if (entry.Permissions is < 0 or > 0xFFF)
            throw new SquashFsException($"'{entry.Path}': permissions 0{Convert.ToString(entry.Permissions, 8)} out of range");
        node.Permissions = (ushort)entry.Permissions;
        node.ModificationTime = entry.ModificationTime;
        if (_options.KeepOwners)
        {
            node.Uid = entry.Uid;
            node.Gid = entry.Gid;
        }
        if (_options.Xattrs && entry.Xattrs is { Count: > 0 })
            node.Xattrs = entry.Xattrs;
    }

    public TreeNode? Find(string path)
    {
        TreeNode node = Root;
        foreach (var component in SplitPath(path))
        {
            if (!node.IsDirectory || !Index(node).TryGetValue(component, out var child))
                return null;
            node = child;
        }
        return node;
    }

    private TreeNode GetOrCreateDirectory(TreeNode parent, string name, string fullPath)
    {
        if (Index(parent).TryGetValue(name, out var existing))
        {
            if (!existing.IsDirectory)
                throw new SquashFsException($"'{fullPath}': '{name}' is not a directory");
            return existing;
        }
        var dir = NewDirectory(Encoding.UTF8.GetBytes(name), null);
        dir.Permissions = 0b111_101_101;
        AttachChild(parent, dir, name);
        return dir;
    }

    /// <summary>The by-name index of <paramref name="directory"/>, built from its children if a scan made them.</summary>
    private Dictionary<string, TreeNode> Index(TreeNode directory)
    {
        if (_indexedAfterScan is not null && _indexedAfterScan.Add(directory))
        {
            directory.ChildrenByName ??= new(directory.Children!.Count, StringComparer.Ordinal);
            foreach (var child in directory.Children!)
                directory.ChildrenByName.TryAdd(Encoding.UTF8.GetString(child.Name), child);
        }
        return directory.ChildrenByName!;
    }

    private static TreeNode NewDirectory(byte[] name, TreeNode? parent) =>
        new(name, InodeType.Directory) { Parent = parent, Children = [], ChildrenByName = new(StringComparer.Ordinal) };

    private static void AttachChild(TreeNode parent, TreeNode child, string name)
    {
        child.Parent = parent;
        parent.Children!.Add(child);
        parent.ChildrenByName!.Add(name, child);
    }

    private static List<string> SplitPath(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
                throw new SquashFsException($"'{path}': '..' is not allowed in image paths");
            if (part.Contains('\0'))
                throw new SquashFsException($"'{path}': NUL in a name");
            if (Encoding.UTF8.GetByteCount(part) > SquashFsConstants.MaxNameLength)
                throw new SquashFsException($"'{path}': name longer than {SquashFsConstants.MaxNameLength} bytes");
            parts.Add(part);
        }
        return parts;
    }

    /// <summary>
    /// Scans a directory tree on the build host into the root. Names are taken as raw bytes, so
    /// names that are not valid UTF-8 survive unchanged. Regular files with several links become
    /// hard links; sockets, fifos and devices are kept.
    /// </summary>
    public unsafe void AddDirectory(string sourceDirectory)
    {
        if (_indexedAfterScan is not null || Root.Children!.Count > 0 || Root.Explicit)
            throw new InvalidOperationException("a directory can only be scanned into an empty tree, once");
        _indexedAfterScan = [];
        var rootText = Path.GetFullPath(sourceDirectory).TrimEnd('/');
        if (rootText.Length == 0) rootText = "/";
        var rootPath = Encoding.UTF8.GetBytes(rootText + "\0");
        var buffer = new PathBuffer(rootPath.AsSpan(0, rootPath.Length - 1).ToArray());
        StatX root;
        if (!TryStat(buffer, out root, out int errno))
            throw new SquashFsException($"{sourceDirectory}: {LibC.ErrorText(errno)}");
        if (!root.IsDirectory)
            throw new SquashFsException($"{sourceDirectory}: not a directory");
        ApplyStat(Root, root);
        Root.Explicit = true;
        if (_options.Xattrs) Root.Xattrs = XattrReader.Read(buffer, _options.Warning);
        new ParallelScan(this, rootPath).Run(Root);
    }

    /// <summary>
    /// Scans directories on every core: a directory is listed and its entries stat'ed by one
    /// worker, and its subdirectories are queued for any worker. The result does not depend on
    /// timing, because children are sorted before numbering and the name that happens to create a
    /// hard-linked inode first does not change any byte of the image.
    /// </summary>
    private sealed class ParallelScan(ImageTree tree, byte[] rootPath)
    {
        private readonly Queue<(TreeNode Node, byte[] Path)> _pending = new();
        private readonly Dictionary<(uint, uint, ulong), TreeNode> _hardLinks = [];
        private int _busy;
        private Exception? _failure;

        public void Run(TreeNode root)
        {
            _pending.Enqueue((root, rootPath));
            var workers = new Thread[Math.Max(1, Environment.ProcessorCount)];
            for (int i = 0; i < workers.Length; i++)
            {
                workers[i] = new Thread(Work, 256 * 1024) { IsBackground = true, Name = $"xar-scan-{i}" };
                workers[i].Start();
            }
            foreach (var worker in workers) worker.Join();
            if (_failure is not null)
                throw _failure as SquashFsException ?? new SquashFsException(_failure.Message, _failure);
        }

        private void Work()
        {
            var path = new PathBuffer([]);
            while (true)
            {
                (TreeNode Node, byte[] Path) next;
                lock (_pending)
                {
                    while (_pending.Count == 0 && _busy > 0 && _failure is null) Monitor.Wait(_pending);
                    if (_pending.Count == 0 || _failure is not null) return;
                    next = _pending.Dequeue();
                    _busy++;
                }
                List<(TreeNode, byte[])>? subdirectories = null;
                try
                {
                    path.Reset(next.Path);
                    subdirectories = tree.ScanDirectory(next.Node, path, this);
                }
                catch (Exception e)
                {
                    lock (_pending) _failure ??= e;
                }
                lock (_pending)
                {
                    if (subdirectories is not null)
                        foreach (var sub in subdirectories) _pending.Enqueue(sub);
                    _busy--;
                    Monitor.PulseAll(_pending);
                }
            }
        }

        public TreeNode? FindOrAddHardLink((uint, uint, ulong) key, Func<TreeNode> create, out bool created)
        {
            lock (_hardLinks)
            {
                if (_hardLinks.TryGetValue(key, out var primary))
                {
                    primary.LinkCount++;
                    created = false;
                    return primary;
                }
                var first = create();
                _hardLinks.Add(key, first);
                created = true;
                return first;
            }
        }
    }

    /// <summary>Lists one directory, stats its entries and returns its subdirectories with their paths.</summary>
    private unsafe List<(TreeNode, byte[])> ScanDirectory(TreeNode directory, PathBuffer path, ParallelScan scan)
    {
        var names = new List<byte[]>();
        nint dir;
        fixed (byte* p = path.Bytes)
            dir = LibC.opendir(p);
        if (dir == 0)
            throw new SquashFsException($"{path}: cannot open directory: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        try
        {
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                DirEnt64* entry = LibC.readdir64(dir);
                if (entry == null)
                {
                    int err = Marshal.GetLastPInvokeError();
                    if (err != 0) throw new SquashFsException($"{path}: cannot read directory: {LibC.ErrorText(err)}");
                    break;
                }
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(entry->Name);
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
                names.Add(name.ToArray());
            }
        }
        finally
        {
            LibC.closedir(dir);
        }

        var subdirectories = new List<(TreeNode, byte[])>();
        directory.Children!.Capacity = names.Count;
        foreach (var name in names)
        {
            int mark = path.Push(name);
            try
            {
                if (name.Length > SquashFsConstants.MaxNameLength)
                    throw new SquashFsException($"{path}: name longer than {SquashFsConstants.MaxNameLength} bytes");
                if (!TryStat(path, out var st, out int errno))
                {
                    if (errno == 2) continue; // removed while scanning
                    throw new SquashFsException($"{path}: {LibC.ErrorText(errno)}");
                }
                var node = CreateScannedNode(name, st, path, scan);
                node.Parent = directory;
                directory.Children.Add(node);
                if (node.IsDirectory)
                    subdirectories.Add((node, path.CopyTerminated()));
            }
            finally
            {
                path.Pop(mark);
            }
        }
        return subdirectories;
    }

    private TreeNode CreateScannedNode(byte[] name, StatX st, PathBuffer path, ParallelScan scan)
    {
        int fileType = st.Mode & 0xF000;
        if (fileType != 0x4000 && st.Nlink > 1)
        {
            var primary = scan.FindOrAddHardLink((st.DevMajor, st.DevMinor, st.Ino), () => CreateScannedInode(name, st, fileType, path), out bool created);
            return created ? primary! : new TreeNode(name, primary!.Type) { HardLinkPrimary = primary, Explicit = true };
        }
        return CreateScannedInode(name, st, fileType, path);
    }

    private unsafe TreeNode CreateScannedInode(byte[] name, StatX st, int fileType, PathBuffer path)
    {
        TreeNode node;
        switch (fileType)
        {
            case 0x4000:
                node = new TreeNode(name, InodeType.Directory) { Children = [] }; // indexed by name only if Add needs it
                break;
            case 0x8000:
                node = new TreeNode(name, InodeType.File) { Content = new DiskFileContent(path.CopyTerminated(), (long)st.Size) };
                break;
            case 0xA000:
                node = new TreeNode(name, InodeType.Symlink) { SymlinkTarget = ReadLink(path, (long)st.Size) };
                break;
            case 0x2000:
                node = new TreeNode(name, InodeType.CharDevice) { Rdev = SquashFsConstants.EncodeDevice(st.RdevMajor, st.RdevMinor) };
                break;
            case 0x6000:
                node = new TreeNode(name, InodeType.BlockDevice) { Rdev = SquashFsConstants.EncodeDevice(st.RdevMajor, st.RdevMinor) };
                break;
            case 0x1000:
                node = new TreeNode(name, InodeType.Fifo);
                break;
            case 0xC000:
                node = new TreeNode(name, InodeType.Socket);
                break;
            default:
                throw new SquashFsException($"{path}: unknown file type 0{Convert.ToString(fileType, 8)}");
        }
        ApplyStat(node, st);
        node.Explicit = true;
        if (_options.Xattrs) node.Xattrs = XattrReader.Read(path, _options.Warning);
        return node;
    }

    private void ApplyStat(TreeNode node, in StatX st)
    {
        node.Permissions = (ushort)(st.Mode & 0xFFF);
        node.ModificationTime = st.Mtime.Seconds;
        if (_options.KeepOwners)
        {
            node.Uid = st.Uid;
            node.Gid = st.Gid;
        }
    }

    private static unsafe bool TryStat(PathBuffer path, out StatX st, out int errno)
    {
        StatX result;
        int rc;
        fixed (byte* p = path.Bytes)
            rc = LibC.statx(LibC.AT_FDCWD, p, LibC.AT_SYMLINK_NOFOLLOW, StatX.BasicStats, &result);
        st = result;
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0;
    }

    private static unsafe byte[] ReadLink(PathBuffer path, long sizeHint)
    {
        var target = new byte[Math.Max(sizeHint, 1) + 1];
        nint n;
        fixed (byte* p = path.Bytes)
        fixed (byte* t = target)
            n = LibC.readlink(p, t, target.Length);
        if (n < 0)
            throw new SquashFsException($"{path}: cannot read symlink: {LibC.ErrorText(Marshal.GetLastPInvokeError())}");
        if (n >= target.Length)
            throw new SquashFsException($"{path}: symlink changed while reading it");
        return target.AsSpan(0, (int)n).ToArray();
    }
}

/// <summary>A NUL-terminated UTF-8 path that grows and shrinks by components while walking a tree.</summary>
internal sealed class PathBuffer(byte[] root)
{
    private byte[] _bytes = Terminated(root);
    private int _length = root.Length;

    /// <summary>The path with its terminating NUL, ready for libc.</summary>
    public byte[] Bytes => _bytes;

    public int Push(ReadOnlySpan<byte> name)
    {
        int mark = _length;
        int needed = _length + 1 + name.Length + 1;
        if (needed > _bytes.Length) Array.Resize(ref _bytes, Math.Max(needed, _bytes.Length * 2));
        _bytes[_length++] = (byte)'/';
        name.CopyTo(_bytes.AsSpan(_length));
        _length += name.Length;
        _bytes[_length] = 0;
        return mark;
    }

    public void Pop(int mark)
    {
        _length = mark;
        _bytes[_length] = 0;
    }

    public override string ToString() => Encoding.UTF8.GetString(_bytes, 0, _length);

    /// <summary>Starts again from <paramref name="terminated"/>, a path followed by its NUL.</summary>
    public void Reset(byte[] terminated)
    {
        if (terminated.Length > _bytes.Length) _bytes = new byte[Math.Max(terminated.Length, _bytes.Length * 2)];
        terminated.CopyTo(_bytes, 0);
        _length = terminated.Length - 1;
    }

    public byte[] CopyTerminated() => _bytes.AsSpan(0, _length + 1).ToArray();

    private static byte[] Terminated(byte[] root)
    {
        var bytes = new byte[Math.Max(root.Length + 1, 256)];
        root.CopyTo(bytes, 0);
        return bytes;
    }
}
