using System.Buffers.Binary;
using System.Numerics;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;

namespace Xar.SquashFs.Writing;

/// <summary>What a finished image looks like.</summary>
public sealed record SquashFsWriteResult(
    long BytesUsed,
    long ImageLength,
    uint InodeCount,
    uint FragmentCount,
    uint IdCount,
    long DataBytes,
    Superblock Superblock);

/// <summary>
/// Builds a SquashFS 4.0 image from a directory tree or from entries added one by one. Entries are
/// only recorded when added (file contents are read while writing), so a source can hand over
/// thousands of streams without a staging directory.
/// </summary>
public sealed class SquashFsWriter
{
    private readonly SquashFsWriterOptions _options;
    private readonly ImageTree _tree;
    private bool _written;

    public SquashFsWriter(SquashFsWriterOptions? options = null)
    {
        _options = options ?? new SquashFsWriterOptions();
        _options.Validate();
        _tree = new ImageTree(_options);
    }

    public void Add(ImageEntry entry) => _tree.Add(entry);

    /// <summary>
    /// The time the image will record (the fixed time, SOURCE_DATE_EPOCH, or the newest entry's
    /// time), so that a container header can carry the same reproducible time.
    /// </summary>
    public uint ImageTime => new TimePolicy(_options, _tree.Root).Newest;

    /// <summary>Adds everything below <paramref name="sourceDirectory"/>; the directory itself becomes the root.</summary>
    public void AddDirectory(string sourceDirectory) => _tree.AddDirectory(sourceDirectory);

    /// <summary>
    /// Writes the image to <paramref name="output"/> starting at its current position (so the image
    /// can follow a header in the same file). The stream must be seekable: the superblock is
    /// written last. The image is padded to a multiple of 4 KiB.
    /// </summary>
    public SquashFsWriteResult WriteTo(Stream output)
    {
        if (_written) throw new InvalidOperationException("the image was already written");
        _written = true;
        if (!output.CanSeek || !output.CanWrite)
            throw new ArgumentException("the output stream must be writable and seekable", nameof(output));

        var root = _tree.Root;
        SortChildren(root);
        var listed = new List<DataOrder.ListedFile>();
        uint inodeCount = NumberInodes(root, listed, out int emptyFiles);
        var files = DataOrder.Arrange(listed);
        if (_options.Progress is { } progress)
        {
            long fileBytes = files.Sum(f => f.Content!.Length);
            progress.ImageContent(files.Count + emptyFiles, fileBytes);
            progress.Begin("writing image", files.Count, fileBytes);
        }
        var times = new TimePolicy(_options, root);
        uint newest = times.Newest;

        long imageStart = output.Position;
        var settings = _options.Compression;
        byte[]? compressorOptions = settings.EncodeOptions(_options.BlockSize);
        output.Write(new byte[SquashFsConstants.SuperblockSize]);
        long position = SquashFsConstants.SuperblockSize;
        if (compressorOptions is not null)
        {
            Span<byte> header = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(SquashFsConstants.MetadataUncompressed | compressorOptions.Length));
            output.Write(header);
            output.Write(compressorOptions);
            position += 2 + compressorOptions.Length;
        }

        var data = new DataPipeline(output, _options);
        long dataStart = position;
        position = data.Run(files, position);
        long dataBytes = position - dataStart;

        using var compressor = settings.CreateCompressor(_options.BlockSize);
        var ids = new IdTable();
        using var xattrs = _options.Xattrs ? new XattrTableBuilder(compressor) : null;
        using var tables = new InodeTableBuilder(compressor, ids, xattrs, inodeCount, times.Of);
        ulong rootReference = tables.Build(root);

        long inodeTableStart = position;
        output.Write(tables.InodeTable.Bytes);
        position += tables.InodeTable.Bytes.Length;
        long directoryTableStart = position;
        output.Write(tables.DirectoryTable.Bytes);
        position += tables.DirectoryTable.Bytes.Length;

        var fragmentRecords = new byte[data.Fragments.Count * SquashFsConstants.FragmentEntrySize];
        for (int i = 0; i < data.Fragments.Count; i++)
        {
            var record = fragmentRecords.AsSpan(i * SquashFsConstants.FragmentEntrySize);
            BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Fragments[i].Start);
            BinaryPrimitives.WriteUInt32LittleEndian(record[8..], data.Fragments[i].Word);
        }
        long fragmentTableStart = LookupTableWriter.Write(output, position, compressor, fragmentRecords);
        position = fragmentTableStart + 8L * BlocksFor(fragmentRecords.Length);

        long exportTableStart = unchecked((long)SquashFsConstants.NoTable);
        if (_options.Exportable)
        {
            var exportRecords = new byte[inodeCount * SquashFsConstants.ExportEntrySize];
            for (int i = 0; i < inodeCount; i++)
                BinaryPrimitives.WriteUInt64LittleEndian(exportRecords.AsSpan(i * 8), tables.ExportReferences[i]);
            exportTableStart = LookupTableWriter.Write(output, position, compressor, exportRecords);
            position = exportTableStart + 8L * BlocksFor(exportRecords.Length);
        }

        var idRecords = ids.Records();
        long idTableStart = LookupTableWriter.Write(output, position, compressor, idRecords);
        position = idTableStart + 8L * BlocksFor(idRecords.Length);

        long xattrTableStart = unchecked((long)SquashFsConstants.NoTable);
        if (xattrs is { IsEmpty: false })
        {
            xattrTableStart = xattrs.Write(output, position);
            position = output.Position - imageStart;
        }

        long bytesUsed = position;
        long padded = (bytesUsed + SquashFsConstants.Padding - 1) / SquashFsConstants.Padding * SquashFsConstants.Padding;
        output.Write(new byte[padded - bytesUsed]);

        var superblock = new Superblock
        {
            InodeCount = inodeCount,
            ModificationTime = newest,
            BlockSize = (uint)_options.BlockSize,
            FragmentCount = (uint)data.Fragments.Count,
            CompressorId = settings.CompressorId,
            BlockLog = (ushort)BitOperations.Log2((uint)_options.BlockSize),
            Flags = Flags(compressorOptions is not null, xattrs is { IsEmpty: false }),
            IdCount = (ushort)ids.Ids.Count,
            RootInodeReference = rootReference,
            BytesUsed = (ulong)bytesUsed,
            IdTableStart = (ulong)idTableStart,
            XattrIdTableStart = unchecked((ulong)xattrTableStart),
            InodeTableStart = (ulong)inodeTableStart,
            DirectoryTableStart = (ulong)directoryTableStart,
            FragmentTableStart = (ulong)fragmentTableStart,
            ExportTableStart = unchecked((ulong)exportTableStart),
        };
        long end = output.Position;
        output.Position = imageStart;
        Span<byte> encoded = stackalloc byte[SquashFsConstants.SuperblockSize];
        superblock.WriteTo(encoded);
        output.Write(encoded);
        output.Position = end;
        output.Flush();
        return new SquashFsWriteResult(bytesUsed, padded, inodeCount, superblock.FragmentCount, superblock.IdCount, dataBytes, superblock);
    }

    /// <summary>
    /// Builds an image of <paramref name="sourceDirectory"/> at <paramref name="imagePath"/>,
    /// through a temporary file put in place only when complete (<see cref="OutputFile"/>).
    /// </summary>
    public static SquashFsWriteResult CreateImage(string sourceDirectory, string imagePath, SquashFsWriterOptions? options = null)
    {
        var writer = new SquashFsWriter(options);
        writer.AddDirectory(sourceDirectory);
        return writer.WriteToFile(imagePath);
    }

    /// <summary>Writes the image to <paramref name="imagePath"/> through an <see cref="OutputFile"/>: nothing is in its place until it is complete.</summary>
    public SquashFsWriteResult WriteToFile(string imagePath)
    {
        using var output = OutputFile.Create(imagePath, bufferSize: 1 << 20);
        var result = WriteTo(output.Stream);
        output.Commit();
        return result;
    }

    private SquashFsFlags Flags(bool hasCompressorOptions, bool hasXattrs)
    {
        var flags = SquashFsFlags.None;
        if (!_options.Compression.Compresses)
            flags |= SquashFsFlags.UncompressedInodes | SquashFsFlags.UncompressedData | SquashFsFlags.UncompressedFragments
                     | SquashFsFlags.UncompressedXattrs | SquashFsFlags.UncompressedIds;
        flags |= _options.UseFragments ? SquashFsFlags.AlwaysFragments : SquashFsFlags.NoFragments;
        if (_options.Deduplicate) flags |= SquashFsFlags.Duplicates;
        if (_options.Exportable) flags |= SquashFsFlags.Exportable;
        if (!hasXattrs) flags |= SquashFsFlags.NoXattrs;
        if (hasCompressorOptions) flags |= SquashFsFlags.CompressorOptions;
        return flags;
    }

    private static int BlocksFor(int bytes) => (bytes + SquashFsConstants.MetadataBlockSize - 1) / SquashFsConstants.MetadataBlockSize;

    private static void SortChildren(TreeNode root)
    {
        var pending = new Stack<TreeNode>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            dir.Children!.Sort(static (a, b) => a.Name.AsSpan().SequenceCompareTo(b.Name));
            foreach (var child in dir.Children)
                if (child.IsDirectory && child.HardLinkPrimary is null) pending.Push(child);
        }
    }

    /// <summary>
    /// Numbers inodes so that each directory's children are consecutive (one run header per 256
    /// entries), depth-first; the root gets the last number, as with mksquashfs. Collects the
    /// regular files with data in that order, each with the position of the directory listing it
    /// (<see cref="DataOrder"/> decides the order their data is written), and counts the empty ones.
    /// </summary>
    private static uint NumberInodes(TreeNode root, List<DataOrder.ListedFile> files, out int emptyFiles)
    {
        emptyFiles = 0;
        uint next = 1;
        int directories = 0;
        var pending = new Stack<TreeNode>();
        pending.Push(root);
        var subdirectories = new List<TreeNode>();
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            int directory = directories++;
            subdirectories.Clear();
            foreach (var child in dir.Children!)
            {
                var inode = child.Inode;
                if (inode.InodeNumber != 0) continue;
                inode.InodeNumber = next++;
                if (inode.IsDirectory) subdirectories.Add(inode);
                else if (inode.Type == InodeType.File && inode.Content!.Length > 0) files.Add(new DataOrder.ListedFile(inode, directory));
                else if (inode.Type == InodeType.File) emptyFiles++;
            }
            for (int i = subdirectories.Count - 1; i >= 0; i--) pending.Push(subdirectories[i]);
        }
        root.InodeNumber = next;
        return next;
    }

    /// <summary>
    /// Inode and image times: fixed, clamped to SOURCE_DATE_EPOCH, or as found. Directories that
    /// no entry named (parents made on the way) take the image time, not 1970.
    /// </summary>
    private sealed class TimePolicy
    {
        private readonly long? _fixed;
        private readonly long? _clamp;

        public TimePolicy(SquashFsWriterOptions options, TreeNode root)
        {
            _fixed = options.FixedTime;
            if (_fixed is null && long.TryParse(Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH"), out long epoch))
                _clamp = epoch;
            Newest = FindNewest(root);
        }

        /// <summary>The image time: the fixed time, else SOURCE_DATE_EPOCH, else the newest entry's.</summary>
        public uint Newest { get; }

        public uint Of(TreeNode node) => node.Explicit ? Clamped(node) : Newest;

        private uint Clamped(TreeNode node)
        {
            long t = _fixed ?? (_clamp is { } clamp ? Math.Min(node.ModificationTime, clamp) : node.ModificationTime);
            return (uint)Math.Clamp(t, 0, uint.MaxValue);
        }

        private uint FindNewest(TreeNode root)
        {
            if (_fixed is { } f) return (uint)Math.Clamp(f, 0, uint.MaxValue);
            if (_clamp is { } c) return (uint)Math.Clamp(c, 0, uint.MaxValue);
            uint newest = 0;
            var pending = new Stack<TreeNode>();
            pending.Push(root);
            while (pending.Count > 0)
            {
                var node = pending.Pop();
                if (node.Inode.Explicit) newest = Math.Max(newest, Clamped(node.Inode));
                if (node.IsDirectory && node.HardLinkPrimary is null)
                    foreach (var child in node.Children!) pending.Push(child);
            }
            return newest;
        }
    }
}
