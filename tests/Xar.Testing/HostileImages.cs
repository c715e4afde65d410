using System.Buffers.Binary;
using Xar.SquashFs.Format;
using Xar.SquashFs.Reading;

namespace Xar.Testing;

/// <summary>
/// One structural field of an image: a name saying where it is, and the file offset of each of its
/// bytes, least significant first (a field inside a metadata table may straddle two blocks).
/// </summary>
public sealed record ImageField(string Name, int[] Offsets)
{
    public int Size => Offsets.Length;

    public ulong Read(byte[] image)
    {
        ulong value = 0;
        for (int i = Size - 1; i >= 0; i--)
            value = value << 8 | image[Offsets[i]];
        return value;
    }

    public void Write(byte[] image, ulong value)
    {
        foreach (int offset in Offsets)
        {
            image[offset] = (byte)value;
            value >>= 8;
        }
    }
}

/// <summary>A reproducible hostile image: what was done, and how to do it to the intact image.</summary>
public sealed record HostileCase(string Name, Func<byte[], byte[]> Apply);

/// <summary>
/// Generators of hostile SquashFS images from a valid one built with uncompressed metadata
/// (mksquashfs -noI -noD -noF -noX): every structural field the reader parses is located — the
/// superblock, metadata block headers, each inode's fields and block words, directory run headers
/// and entries, the lookup tables' indexes and records, the xattr id records and key/value entries
/// — and set to values that break arithmetic (0, 1, all ones, 2^31, 2^32, the image size and its
/// neighbours, another table's position). Uncompressed metadata puts each field at a fixed file
/// offset, and what the reader parses after decompressing a block is exactly those bytes, so
/// these mutations reach the parser without a decompressor rejecting them first. Other
/// generators cut the image, widen the inode table (so that counts bounded by its size can be
/// large) and flip random bytes. Everything is deterministic given the image (and the seed of a
/// <see cref="Random"/>), so a failing case can be replayed by its name.
/// </summary>
public static class HostileImages
{
    /// <summary>A gap after the inode table large enough that 2^32 block words could fit in it (at 3 bytes per 8 KiB metadata block).</summary>
    public const int WideInodeTableGap = 7 << 20;

    /// <summary>Every field of <paramref name="image"/> that the reader parses (the image must have uncompressed metadata).</summary>
    public static List<ImageField> Fields(byte[] image, string path)
    {
        var layout = new Layout(image);
        var fields = new List<ImageField>();
        foreach (var (name, offset, size) in SuperblockFields)
            fields.Add(Field($"superblock {name}", offset, size));
        fields.AddRange(layout.Inodes.Headers("inode table"));
        fields.AddRange(layout.Directories.Headers("directory table"));

        using (var reader = SquashFsImage.Open(path))
        {
            var seen = new HashSet<ulong>();
            foreach (var entry in reader.EnumerateTree())
            {
                if (seen.Add(entry.InodeReference))
                    AddInode(fields, layout, entry, reader.BlockSize);
            }
        }
        AddListings(fields, layout.Directories);
        foreach (var table in layout.LookupTables)
            AddLookupTable(fields, table);
        if (layout.Xattrs is { } xattrs)
            AddXattrs(fields, image, xattrs, layout);
        return fields;
    }

    /// <summary>
    /// Values worth putting in <paramref name="field"/>: boundaries of its width, of 32-bit
    /// arithmetic and of the image, off-by-one of the current value, and the other table positions.
    /// </summary>
    public static IEnumerable<ulong> InterestingValues(ImageField field, byte[] image)
    {
        ulong max = field.Size == 8 ? ulong.MaxValue : (1UL << (8 * field.Size)) - 1;
        ulong current = field.Read(image);
        var values = new List<ulong> { 0, 1, max, max - 1, max >> 1, (max >> 1) + 1, current + 1, current - 1 };
        if (field.Size >= 4)
            values.AddRange([(ulong)image.Length, (ulong)image.Length - 1, (ulong)image.Length + 1, 1UL << 31, (1UL << 31) - 1, 1UL << 32, (1UL << 32) - 1]);
        if (field.Size == 8 && field.Name.StartsWith("superblock", StringComparison.Ordinal))
            values.AddRange(SuperblockFields.Where(f => f.Size == 8).Select(f => BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(f.Offset))));
        return values.Select(v => v & max).Where(v => v != current).Distinct();
    }

    /// <summary>Every field set to every interesting value, one change per case.</summary>
    public static List<HostileCase> FieldCases(byte[] image, string path)
    {
        var cases = new List<HostileCase>();
        foreach (var field in Fields(image, path))
        {
            foreach (ulong value in InterestingValues(field, image))
            {
                cases.Add(new HostileCase($"{field.Name} = 0x{value:x}", original =>
                {
                    byte[] copy = (byte[])original.Clone();
                    field.Write(copy, value);
                    return copy;
                }));
            }
        }
        return cases;
    }

    /// <summary>
    /// Every regular file's size set so that it claims 2^31 - 1, 2^31, 2^32 and 2^32 + 1 blocks,
    /// with and without its fragment, in an image whose inode table is widened so that a
    /// size-based bound on the block count cannot reject it early.
    /// </summary>
    public static List<HostileCase> HugeFileCases(byte[] image, string path)
    {
        var cases = new List<HostileCase>();
        int blockLog = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(22));
        foreach (var field in Fields(image, path).Where(f => f.Name.EndsWith(" file_size", StringComparison.Ordinal)))
        {
            foreach (long blocks in new[] { (1L << 31) - 1, 1L << 31, 1L << 32, (1L << 32) + 1 })
            {
                ulong size = (ulong)blocks << blockLog;
                if (field.Size == 4 && size > uint.MaxValue)
                    continue;
                cases.Add(new HostileCase($"{field.Name} = {blocks} blocks ({size} bytes), inode table widened by {WideInodeTableGap}", original =>
                {
                    byte[] copy = (byte[])original.Clone();
                    field.Write(copy, size);
                    return WidenInodeTable(copy, WideInodeTableGap);
                }));
            }
        }
        return cases;
    }

    /// <summary>
    /// Issue 8's overflow cases: the regular file <paramref name="file"/> (an extended inode) claims
    /// <paramref name="blocks"/> whole blocks and no fragment, in an image whose inode table is
    /// widened so that a bound on its size alone would let the count through.
    /// </summary>
    public static byte[] WithHugeFile(byte[] image, string path, string file, long blocks)
    {
        byte[] copy = (byte[])image.Clone();
        int blockLog = BinaryPrimitives.ReadUInt16LittleEndian(copy.AsSpan(22));
        string inode = $"inode of '{file}' ({InodeType.ExtendedFile}) ";
        var fields = Fields(copy, path).Where(f => f.Name.StartsWith(inode, StringComparison.Ordinal)).ToList();
        fields.Single(f => f.Name == inode + "file_size").Write(copy, (ulong)blocks << blockLog);
        fields.Single(f => f.Name == inode + "fragment").Write(copy, SquashFsConstants.NoFragment);
        return WidenInodeTable(copy, WideInodeTableGap);
    }

    /// <summary>
    /// An xattr list that names one value many times: the first list is rewritten as
    /// <paramref name="entries"/> entries "user.N" (N as 16 binary digits, so the names differ)
    /// whose values are out of line, all the last out-of-line value of the key/value area; the
    /// entries (32 bytes each) are written over the start of the area, before that value, and the
    /// list is pointed there. mksquashfs stores large values out of line, ahead of the lists.
    /// </summary>
    public static byte[] WithSharedXattrValue(byte[] image, string path, int entries)
    {
        byte[] copy = (byte[])image.Clone();
        var kv = new Layout(copy).Xattrs!.KeyValues;
        var fields = Fields(copy, path);
        ulong target = fields.Where(f => f.Name.EndsWith(" value_reference", StringComparison.Ordinal))
            .Select(f => f.Read(copy)).MaxBy(r => kv.StreamOffset((long)(r >> 16), (int)(r & 0xFFFF)));
        long room = kv.StreamOffset((long)(target >> 16), (int)(target & 0xFFFF));
        if (entries * 32L > room)
            throw new ArgumentException($"{entries} entries do not fit in the {room} bytes before the last out-of-line value");
        long position = 0;
        for (int e = 0; e < entries; e++)
        {
            byte[] name = System.Text.Encoding.ASCII.GetBytes(Convert.ToString(e, 2).PadLeft(16, '0'));
            var entry = new byte[2 + 2 + name.Length + 4 + 8];
            BinaryPrimitives.WriteUInt16LittleEndian(entry, 0x0100); // user., value out of line
            BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(2), (ushort)name.Length);
            name.CopyTo(entry, 4);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4 + name.Length), 8);
            BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(8 + name.Length), target);
            int[] offsets = kv.Bytes(position, entry.Length);
            for (int i = 0; i < entry.Length; i++)
                copy[offsets[i]] = entry[i];
            position += entry.Length;
        }
        fields.Single(f => f.Name == "xattr id record 0 reference").Write(copy, 0);
        fields.Single(f => f.Name == "xattr id record 0 count").Write(copy, (ulong)entries);
        return copy;
    }

    /// <summary>The image cut at each table boundary and next to it, bytes_used following the cut (so the cut is not caught by the file length alone).</summary>
    public static List<HostileCase> TruncationCases(byte[] image)
    {
        var cuts = new SortedSet<long>();
        foreach (var (_, offset, size) in SuperblockFields.Where(f => f.Size == 8))
        {
            ulong position = BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(offset));
            if (position < (ulong)image.Length)
                cuts.UnionWith([(long)position - 1, (long)position, (long)position + 1, (long)position + 8]);
        }
        long bytesUsed = (long)BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(40));
        cuts.UnionWith([bytesUsed - 1, bytesUsed - 8]);
        return cuts.Where(c => c > SquashFsConstants.SuperblockSize && c < bytesUsed)
            .Select(cut => new HostileCase($"cut at {cut} with bytes_used {cut}", original =>
            {
                byte[] copy = original.AsSpan(0, (int)cut).ToArray();
                BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(40), (ulong)cut);
                return copy;
            }))
            .ToList();
    }

    /// <summary>1..8 random bytes of <paramref name="image"/> changed (bit flips or new values).</summary>
    public static HostileCase RandomFlips(int seed) => new($"random flips, seed {seed}", original =>
    {
        var random = new Random(seed);
        byte[] copy = (byte[])original.Clone();
        int flips = random.Next(1, 9);
        for (int i = 0; i < flips; i++)
        {
            int at = random.Next(copy.Length);
            copy[at] = random.Next(3) == 0 ? (byte)random.Next(256) : (byte)(copy[at] ^ (1 << random.Next(8)));
        }
        return copy;
    });

    /// <summary>
    /// Inserts <paramref name="gap"/> zero bytes between the inode table and the directory table
    /// and moves every absolute position after it: the image stays valid, but its inode table
    /// region is <paramref name="gap"/> bytes longer, so checks bounded by that region's size allow
    /// larger counts.
    /// </summary>
    public static byte[] WidenInodeTable(byte[] image, int gap)
    {
        var layout = new Layout(image);
        long directoryStart = layout.DirectoryStart;
        byte[] wide = new byte[image.Length + gap];
        image.AsSpan(0, (int)directoryStart).CopyTo(wide);
        image.AsSpan((int)directoryStart).CopyTo(wide.AsSpan((int)directoryStart + gap));

        void Shift(long originalOffset)
        {
            long offset = originalOffset >= directoryStart ? originalOffset + gap : originalOffset;
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(wide.AsSpan((int)offset));
            if (value != SquashFsConstants.NoTable && value >= (ulong)directoryStart)
                BinaryPrimitives.WriteUInt64LittleEndian(wide.AsSpan((int)offset), value + (ulong)gap);
        }

        foreach (int field in new[] { 40, 48, 56, 72, 80, 88 })
            Shift(field);
        foreach (var table in layout.LookupTables)
        {
            for (int i = 0; i < table.IndexEntries; i++)
                Shift(table.IndexPosition + 8L * i);
        }
        if (layout.Xattrs is { } xattrs)
            Shift(xattrs.HeaderPosition);
        return wide;
    }

    /// <summary>The fuzzed run's iteration count: FUZZ_ITERATIONS when set (to run longer locally), else <paramref name="ciDefault"/>.</summary>
    public static int Iterations(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_ITERATIONS"), out int n) && n > 0 ? n : ciDefault;

    /// <summary>The seed of a fuzzed run: FUZZ_SEED when set (to replay or vary a run), else <paramref name="ciDefault"/>.</summary>
    public static int Seed(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out int n) ? n : ciDefault;

    /// <summary><paramref name="count"/> cases drawn from <paramref name="cases"/> without repetition (all of them when there are fewer).</summary>
    public static List<HostileCase> Sample(IReadOnlyList<HostileCase> cases, int count, int seed)
    {
        if (count >= cases.Count)
            return [.. cases];
        var random = new Random(seed);
        return cases.OrderBy(_ => random.Next()).Take(count).ToList();
    }

    /// <summary>
    /// The fuzzed runs' mix: 4 of the huge-file cases, <paramref name="count"/> field cases and
    /// count / 2 random flips, drawn with <paramref name="seed"/>.
    /// </summary>
    public static List<HostileCase> MixedSample(byte[] image, string path, int count, int seed) =>
        Sample(HugeFileCases(image, path), 4, seed)
            .Concat(Sample(FieldCases(image, path), count, seed))
            .Concat(Enumerable.Range(0, count / 2).Select(i => RandomFlips(seed * 1_000_003 + i)))
            .ToList();

    private static readonly (string Name, int Offset, int Size)[] SuperblockFields =
    [
        ("inode_count", 4, 4), ("block_size", 12, 4), ("fragment_count", 16, 4), ("compressor", 20, 2),
        ("block_log", 22, 2), ("flags", 24, 2), ("id_count", 26, 2), ("root_inode", 32, 8), ("bytes_used", 40, 8),
        ("id_table", 48, 8), ("xattr_table", 56, 8), ("inode_table", 64, 8), ("directory_table", 72, 8),
        ("fragment_table", 80, 8), ("export_table", 88, 8),
    ];

    private static ImageField Field(string name, long offset, int size) =>
        new(name, Enumerable.Range((int)offset, size).ToArray());

    private static void AddInode(List<ImageField> fields, Layout layout, SquashFsEntry entry, int blockSize)
    {
        var inodes = layout.Inodes;
        long start = inodes.StreamOffset((long)(entry.InodeReference >> 16), (int)(entry.InodeReference & 0xFFFF));
        string at = $"inode of '{entry.Path}' ({entry.InodeType})";
        void Add(string name, long offset, int size) => fields.Add(new ImageField($"{at} {name}", inodes.Bytes(start + offset, size)));

        Add("type", 0, 2);
        Add("uid_index", 4, 2);
        Add("gid_index", 6, 2);
        Add("inode_number", 12, 4);
        switch (entry.InodeType)
        {
            case InodeType.Directory:
                Add("start_block", 16, 4); Add("nlink", 20, 4); Add("file_size", 24, 2); Add("offset", 26, 2); Add("parent", 28, 4);
                break;
            case InodeType.ExtendedDirectory:
                Add("nlink", 16, 4); Add("file_size", 20, 4); Add("start_block", 24, 4); Add("parent", 28, 4);
                Add("index_count", 32, 2); Add("offset", 34, 2); Add("xattr", 36, 4);
                long index = 40;
                int indexCount = (int)new ImageField("", inodes.Bytes(start + 32, 2)).Read(layout.Image);
                for (int i = 0; i < Math.Min(indexCount, 4); i++)
                {
                    Add($"index {i} offset", index, 4); Add($"index {i} start_block", index + 4, 4); Add($"index {i} name_size", index + 8, 4);
                    index += 12 + (long)new ImageField("", inodes.Bytes(start + index + 8, 4)).Read(layout.Image) + 1;
                }
                break;
            case InodeType.File or InodeType.ExtendedFile:
                bool extended = entry.InodeType == InodeType.ExtendedFile;
                int fragmentAt = extended ? 44 : 20;
                if (extended)
                {
                    Add("start_block", 16, 8); Add("file_size", 24, 8); Add("sparse", 32, 8); Add("nlink", 40, 4);
                    Add("fragment", 44, 4); Add("fragment_offset", 48, 4); Add("xattr", 52, 4);
                }
                else
                {
                    Add("start_block", 16, 4); Add("fragment", 20, 4); Add("fragment_offset", 24, 4); Add("file_size", 28, 4);
                }
                bool hasFragment = new ImageField("", inodes.Bytes(start + fragmentAt, 4)).Read(layout.Image) != SquashFsConstants.NoFragment;
                long blocks = hasFragment ? entry.Size / blockSize : (entry.Size + blockSize - 1) / blockSize;
                int words = extended ? 56 : 32;
                foreach (long i in new[] { 0, 1, blocks - 1 }.Where(i => i >= 0 && i < blocks).Distinct())
                    Add($"block word {i}", words + 4 * i, 4);
                break;
            case InodeType.Symlink or InodeType.ExtendedSymlink:
                Add("nlink", 16, 4); Add("target_size", 20, 4);
                if (entry.InodeType == InodeType.ExtendedSymlink) Add("xattr", 24 + entry.Size, 4);
                break;
            case InodeType.BlockDevice or InodeType.CharDevice or InodeType.ExtendedBlockDevice or InodeType.ExtendedCharDevice:
                Add("nlink", 16, 4); Add("rdev", 20, 4);
                if ((ushort)entry.InodeType > 7) Add("xattr", 24, 4);
                break;
            default:
                Add("nlink", 16, 4);
                if ((ushort)entry.InodeType > 7) Add("xattr", 20, 4);
                break;
        }
    }

    /// <summary>The directory table is the listings back to back: run headers and entries, parsed in order.</summary>
    private static void AddListings(List<ImageField> fields, MetadataStream directories)
    {
        long position = 0;
        int run = 0;
        while (position + 12 <= directories.Length)
        {
            var count = new ImageField("", directories.Bytes(position, 4));
            long entries = (long)count.Read(directories.Image) + 1;
            if (entries > SquashFsConstants.MaxDirectoryRunEntries)
                return; // not a run header: the parse is lost, stop
            string at = $"directory run {run}";
            fields.Add(count with { Name = $"{at} count" });
            fields.Add(new ImageField($"{at} inode_block", directories.Bytes(position + 4, 4)));
            fields.Add(new ImageField($"{at} inode_base", directories.Bytes(position + 8, 4)));
            position += 12;
            for (int i = 0; i < entries && position + 8 <= directories.Length; i++)
            {
                // Only the first and last entries of a run: the others repeat the same checks.
                bool sampled = i == 0 || i == entries - 1;
                var nameSize = new ImageField($"{at} entry {i} name_size", directories.Bytes(position + 6, 2));
                if (sampled)
                {
                    fields.Add(new ImageField($"{at} entry {i} offset", directories.Bytes(position, 2)));
                    fields.Add(new ImageField($"{at} entry {i} inode_delta", directories.Bytes(position + 2, 2)));
                    fields.Add(new ImageField($"{at} entry {i} type", directories.Bytes(position + 4, 2)));
                    fields.Add(nameSize);
                    fields.Add(new ImageField($"{at} entry {i} name[0]", directories.Bytes(position + 8, 1)));
                }
                position += 8 + (long)nameSize.Read(directories.Image) + 1;
            }
            run++;
        }
    }

    private static void AddLookupTable(List<ImageField> fields, LookupTableLayout table)
    {
        for (int i = 0; i < table.IndexEntries; i++)
            fields.Add(Field($"{table.Name} table index entry {i}", table.IndexPosition + 8L * i, 8));
        if (table.Records is not { } records)
            return;
        var recordFields = table.Name switch
        {
            "fragment" => new[] { ("start", 0, 8), ("size", 8, 4) },
            "export" => [("inode_reference", 0, 8)],
            "id" => [("id", 0, 4)],
            _ => [("reference", 0, 8), ("count", 8, 4), ("size", 12, 4)],
        };
        for (long r = 0; r < Math.Min(table.Count, 3); r++)
        {
            foreach (var (name, offset, size) in recordFields)
                fields.Add(new ImageField($"{table.Name} record {r} {name}", records.Bytes(r * table.RecordSize + offset, size)));
        }
    }

    private static void AddXattrs(List<ImageField> fields, byte[] image, XattrLayout xattrs, Layout layout)
    {
        fields.Add(Field("xattr header kv_start", xattrs.HeaderPosition, 8));
        fields.Add(Field("xattr header count", xattrs.HeaderPosition + 8, 4));
        fields.AddRange(xattrs.KeyValues.Headers("xattr key/value area"));
        var ids = layout.LookupTables.Single(t => t.Name == "xattr id").Records;
        if (ids is null)
            return;
        long count = layout.LookupTables.Single(t => t.Name == "xattr id").Count;
        for (long id = 0; id < Math.Min(count, 4); id++)
        {
            ulong reference = new ImageField("", ids.Bytes(id * 16, 8)).Read(image);
            long entries = (long)new ImageField("", ids.Bytes(id * 16 + 8, 4)).Read(image);
            long position = xattrs.KeyValues.StreamOffset((long)(reference >> 16), (int)(reference & 0xFFFF));
            for (long e = 0; e < entries && position + 8 <= xattrs.KeyValues.Length; e++)
            {
                string at = $"xattr id {id} entry {e}";
                var type = new ImageField($"{at} type", xattrs.KeyValues.Bytes(position, 2));
                var nameSize = new ImageField($"{at} name_size", xattrs.KeyValues.Bytes(position + 2, 2));
                fields.Add(type);
                fields.Add(nameSize);
                position += 4 + (long)nameSize.Read(image);
                var valueSize = new ImageField($"{at} value_size", xattrs.KeyValues.Bytes(position, 4));
                fields.Add(valueSize);
                bool outOfLine = (type.Read(image) & 0x100) != 0;
                if (outOfLine)
                    fields.Add(new ImageField($"{at} value_reference", xattrs.KeyValues.Bytes(position + 4, 8)));
                position += 4 + (long)valueSize.Read(image);
            }
        }
    }

    /// <summary>A lookup table: its index (u64 block positions) and, when it has records, the metadata they are in.</summary>
    private sealed record LookupTableLayout(string Name, long IndexPosition, int IndexEntries, long Count, int RecordSize, MetadataStream? Records);

    private sealed record XattrLayout(long HeaderPosition, MetadataStream KeyValues);

    /// <summary>Where the tables of an image with uncompressed metadata are, from its superblock.</summary>
    private sealed class Layout
    {
        public Layout(byte[] image)
        {
            Image = image;
            ulong U64(long at) => BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan((int)at));
            uint U32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan((int)at));
            ushort U16(long at) => BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan((int)at));
            long inodeStart = (long)U64(64);
            DirectoryStart = (long)U64(72);
            long end = (long)U64(40);

            var tables = new List<LookupTableLayout>();
            var firstBlocks = new List<long> { end };
            // The records' metadata blocks end where the index begins (the xattr id index has a 16-byte header before it).
            void AddTable(string name, long indexPosition, long count, int recordSize, long recordsEnd)
            {
                int indexEntries = (int)((count * recordSize + SquashFsConstants.MetadataBlockSize - 1) / SquashFsConstants.MetadataBlockSize);
                MetadataStream? records = indexEntries > 0 ? new MetadataStream(image, (long)U64(indexPosition), recordsEnd, name) : null;
                if (indexEntries > 0)
                    firstBlocks.Add((long)U64(indexPosition));
                tables.Add(new LookupTableLayout(name, indexPosition, indexEntries, count, recordSize, records));
            }
            if (U32(16) > 0)
                AddTable("fragment", (long)U64(80), U32(16), SquashFsConstants.FragmentEntrySize, (long)U64(80));
            if (U64(88) != SquashFsConstants.NoTable)
                AddTable("export", (long)U64(88), U32(4), SquashFsConstants.ExportEntrySize, (long)U64(88));
            AddTable("id", (long)U64(48), U16(26), SquashFsConstants.IdEntrySize, (long)U64(48));
            if (U64(56) != SquashFsConstants.NoTable)
            {
                long header = (long)U64(56);
                long kvStart = (long)U64(header);
                AddTable("xattr id", header + 16, U32(header + 8), SquashFsConstants.XattrIdEntrySize, header);
                var ids = tables[^1];
                long kvEnd = ids.IndexEntries > 0 ? (long)U64(ids.IndexPosition) : header;
                Xattrs = new XattrLayout(header, new MetadataStream(image, kvStart, kvEnd, "xattr key/value area"));
                firstBlocks.Add(kvStart);
            }
            LookupTables = tables;
            Inodes = new MetadataStream(image, inodeStart, DirectoryStart, "inode table");
            Directories = new MetadataStream(image, DirectoryStart, firstBlocks.Min(), "directory table");
        }

        public byte[] Image { get; }
        public long DirectoryStart { get; }
        public MetadataStream Inodes { get; }
        public MetadataStream Directories { get; }
        public List<LookupTableLayout> LookupTables { get; }
        public XattrLayout? Xattrs { get; }
    }

    /// <summary>
    /// A metadata table stored as uncompressed blocks in [start, end): maps positions in its byte
    /// stream, or (block position, offset) references, to file offsets.
    /// </summary>
    private sealed class MetadataStream
    {
        private readonly List<(long Position, long StreamStart, int PayloadOffset, int Length)> _blocks = [];

        public MetadataStream(byte[] image, long start, long end, string name)
        {
            Image = image;
            long at = start, stream = 0;
            while (at + 2 < end)
            {
                ushort header = BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan((int)at));
                if ((header & SquashFsConstants.MetadataUncompressed) == 0)
                    throw new ArgumentException($"{name}: the metadata block at byte {at} is compressed; build the image with -noI -noD -noF -noX");
                int length = header & 0x7FFF;
                _blocks.Add((at - start, stream, (int)at + 2, length));
                at += 2 + length;
                stream += length;
            }
            Length = stream;
        }

        public byte[] Image { get; }
        public long Length { get; }

        /// <summary>The stream position of a reference: block position relative to the table start, and offset in that block.</summary>
        public long StreamOffset(long blockPosition, int offset) =>
            _blocks.Single(b => b.Position == blockPosition).StreamStart + offset;

        public int[] Bytes(long streamOffset, int size)
        {
            var offsets = new int[size];
            for (int i = 0; i < size; i++)
            {
                long at = streamOffset + i;
                var block = _blocks.Last(b => b.StreamStart <= at);
                offsets[i] = block.PayloadOffset + (int)(at - block.StreamStart);
            }
            return offsets;
        }

        /// <summary>The stream position of the byte at file offset <paramref name="fileOffset"/>.</summary>
        public long StreamPosition(int fileOffset)
        {
            var block = BlockAt(fileOffset);
            return block.StreamStart + fileOffset - block.PayloadOffset;
        }

        /// <summary>The metadata reference (block position relative to the table start, offset in the block) of the byte at <paramref name="fileOffset"/>.</summary>
        public ulong Reference(int fileOffset)
        {
            var block = BlockAt(fileOffset);
            return (ulong)block.Position << 16 | (uint)(fileOffset - block.PayloadOffset);
        }

        private (long Position, long StreamStart, int PayloadOffset, int Length) BlockAt(int fileOffset) =>
            _blocks.Single(b => fileOffset >= b.PayloadOffset && fileOffset < b.PayloadOffset + b.Length);

        /// <summary>The 2-byte header of each block.</summary>
        public IEnumerable<ImageField> Headers(string table) =>
            _blocks.Select((b, i) => new ImageField($"{table} metadata block {i} header", [b.PayloadOffset - 2, b.PayloadOffset - 1]));
    }
}
