using System.Buffers.Binary;
using System.Collections.Concurrent;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

/// <summary>
/// <c>__xar__/bytecode.bundle</c> (docs/python-apps.md §5): the code of every compiled module of
/// the directories it serves (<c>lib/python</c>, and the standard library of a standalone archive)
/// in one file, with what the finder needs of each directory there, so the bootstrap's finder
/// resolves and loads imports without a stat, a readdir or an open per module.
/// <code>
/// "XARPYC\0\x03" | importlib MAGIC_NUMBER (4) | u32 LE index length | index | code...
/// index = marshal((entries, native))
///   entries: {path relative to the image root: value}, in path order:
///            every served directory (-2, or -3 when its listing is not in the index), and in each
///            listed one every subdirectory (-2 or -3) and every file a finder can import
///            (*.py, *.pyc, *.so: -1); a module file whose code is here has offset after the
///            index &lt;&lt; 32 | length instead (also in a directory that is not listed)
///   native:  {shared library relative to the image root: size}, in path order
///   code...: each module's marshalled code object (its pyc without the 16-byte header): the
///            application's own modules first, then each served directory's in turn, in path order
/// </code>
/// Every start reads the index and then the application's own code, and the image decompresses a
/// whole block (1 MiB for Python builds) for the first read of each: right after the index, that
/// code shares the index's block, where in path order it came after the standard library's 14 MB
/// (a standalone archive: one block more to read and decompress on every fresh mount).
/// One dict of str and int, where the index of earlier formats had a tuple per module and a tuple
/// and two frozensets per directory: the interpreter's cyclic collector counts every container an
/// import allocates, and the first full collection of a start (40 ms for a medium application)
/// comes after a fixed count, so an index that allocated thousands of containers (cfn-lint: 13,800)
/// brought it into starts that ran without it in a venv. Files a finder cannot import (data) are
/// not listed: a finder never looks for them.
/// Directories whose listing cannot be told from the image alone (a symlink or a special file in
/// them, a name that is not UTF-8) are not listed; the file system lists them.
/// </summary>
/// <param name="servedDirectories">The directories whose modules it holds, in the order their code is stored.</param>
/// <param name="ownFiles">The application's own modules (sources, or their pycs), stored first; null: none first.</param>
internal sealed class BytecodeBundle(IReadOnlyList<string> servedDirectories, IReadOnlySet<string>? ownFiles = null)
{
    public const string ImagePath = "__xar__/bytecode.bundle";
    private const int PycHeaderLength = 16;
    private static ReadOnlySpan<byte> Magic => "XARPYC\0\x03"u8;

    // The values of the index's entries that are not a module's code (xar_bootstrap.py has the same).
    private const long ImportableFile = -1;
    private const long ListedDirectory = -2;
    private const long UnlistedDirectory = -3;

    private readonly ConcurrentDictionary<string, ReadOnlyMemory<byte>> _code = new(StringComparer.Ordinal);
    private byte[]? _interpreterMagic;

    public bool IsEmpty => _code.IsEmpty;

    private bool IsServed(string path) => ServedDirectoryIndex(path) >= 0;

    /// <summary>The position in <c>servedDirectories</c> of the directory <paramref name="path"/> is under; -1: none.</summary>
    private int ServedDirectoryIndex(string path)
    {
        for (int i = 0; i < servedDirectories.Count; i++)
        {
            if (path.Length > servedDirectories[i].Length && path[servedDirectories[i].Length] == '/' && path.StartsWith(servedDirectories[i], StringComparison.Ordinal))
                return i;
        }
        return -1;
    }

    /// <summary>Adds the pyc of a module file (a source, or a sourceless pyc) of a served directory. Thread-safe.</summary>
    public void Add(string modulePath, byte[] pyc)
    {
        if (!IsServed(modulePath) || pyc.Length < PycHeaderLength)
            throw new ArgumentException($"{modulePath}: not a pyc of {string.Join(" or ", servedDirectories)}");
        Interlocked.CompareExchange(ref _interpreterMagic, pyc[..4], null);
        _code[modulePath] = pyc.AsMemory(PycHeaderLength);
    }

    /// <summary>The bundle for the image's entries (every entry under a served directory, the pycs among them); not when <see cref="IsEmpty"/>.</summary>
    /// <param name="entries">The image's entries.</param>
    /// <param name="head">The bytes every start reads: the header, the index and the application's own code.</param>
    public FileContent Build(IEnumerable<ImageEntry> entries, out long head)
    {
        var served = entries.Where(e => IsServed(e.Path)).ToList();
        var index = new PythonMarshal();
        index.Tuple(2);

        var values = DirectoryEntries(served);
        var modules = _code.Select(pair => (Path: pair.Key, Code: pair.Value, Rank: StorageRank(pair.Key)))
            .OrderBy(module => module.Rank).ThenBy(module => module.Path, StringComparer.Ordinal).ToList();
        long offset = 0;
        foreach (var (path, code, _) in modules)
        {
            values[path] = checked(offset * (1L << 32)) + code.Length;
            offset += code.Length;
        }
        index.Dict();
        foreach (var (path, value) in values)
        {
            index.String(path);
            index.Integer(value);
        }
        index.EndDict();
        WriteNativeLibraries(index, served);
        byte[] indexBytes = index.ToArray();

        var header = new byte[Magic.Length + 8];
        Magic.CopyTo(header);
        _interpreterMagic!.CopyTo(header, Magic.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(Magic.Length + 4), checked((uint)indexBytes.Length));

        head = header.Length + indexBytes.Length + modules.TakeWhile(m => m.Rank == 0).Sum(m => (long)m.Code.Length);
        var segments = new List<ReadOnlyMemory<byte>>(modules.Count + 2) { header, indexBytes };
        segments.AddRange(modules.Select(m => m.Code));
        long length = segments.Sum(s => (long)s.Length);
        return FileContent.FromStream(() => new SegmentStream(segments, length), length, ImagePath);
    }

    /// <summary>0 for the application's own module; else 1 + the position of the served directory holding it (every module is under one: <see cref="Add"/>).</summary>
    private int StorageRank(string modulePath) =>
        ownFiles is not null && (ownFiles.Contains(modulePath) || (modulePath.EndsWith(".pyc", StringComparison.Ordinal) && ownFiles.Contains(modulePath[..^1])))
            ? 0
            : 1 + ServedDirectoryIndex(modulePath);

    /// <summary>Extension modules and the shared libraries they load (<c>*.so</c>, <c>*.so.N</c>), with sizes, for prefetching.</summary>
    private static void WriteNativeLibraries(PythonMarshal index, List<ImageEntry> served)
    {
        var native = served
            .Where(e => e.Type == ImageEntryType.File && e.Content is not null && IsSharedLibrary(Split(e.Path).Name))
            .OrderBy(e => e.Path, StringComparer.Ordinal)
            .ToList();
        index.Dict();
        foreach (var entry in native)
        {
            index.String(entry.Path);
            index.Integer(entry.Content!.Length);
        }
        index.EndDict();
    }

    private static bool IsSharedLibrary(string name) => name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal);

    /// <summary>The index's entries for the served directories, their subdirectories and their importable files.</summary>
    private SortedDictionary<string, long> DirectoryEntries(List<ImageEntry> entries)
    {
        var listings = new Dictionary<string, (List<string> Files, List<string> Subdirectories)>(StringComparer.Ordinal);
        var unlisted = new HashSet<string>(StringComparer.Ordinal);

        (List<string> Files, List<string> Subdirectories) Listing(string directory)
        {
            if (!listings.TryGetValue(directory, out var listing))
            {
                listings[directory] = listing = ([], []);
                if (!servedDirectories.Contains(directory))
                {
                    var (parent, name) = Split(directory);
                    Listing(parent).Subdirectories.Add(name);
                    if (!IsPlainName(name)) unlisted.Add(parent);
                }
            }
            return listing;
        }

        foreach (var entry in entries)
        {
            string path = entry.Path.TrimEnd('/');
            if (entry.Type == ImageEntryType.Directory)
            {
                Listing(path);
                continue;
            }
            var (directory, name) = Split(path);
            Listing(directory).Files.Add(name);
            if (entry.Type is not (ImageEntryType.File or ImageEntryType.HardLink) || !IsPlainName(name))
                unlisted.Add(directory);
        }

        bool Listed(string directory) => !unlisted.Contains(directory) && !IsPycache(directory);
        var values = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (directory, (files, subdirectories)) in listings)
        {
            if (servedDirectories.Contains(directory))
                values[directory] = Listed(directory) ? ListedDirectory : UnlistedDirectory;
            if (!Listed(directory))
                continue;
            foreach (string name in subdirectories)
                values[directory + "/" + name] = Listed(directory + "/" + name) ? ListedDirectory : UnlistedDirectory;
            foreach (string name in files.Where(IsImportable))
                values[directory + "/" + name] = ImportableFile;
        }
        return values;
    }

    /// <summary>
    /// A name a finder may load a module from: a source, a pyc or an extension module (every
    /// interpreter's extension suffixes end in .so on Linux). A finder looks for nothing else.
    /// </summary>
    private static bool IsImportable(string name) =>
        name.EndsWith(".py", StringComparison.Ordinal) || name.EndsWith(".pyc", StringComparison.Ordinal) || name.EndsWith(".so", StringComparison.Ordinal);

    private static (string Directory, string Name) Split(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash < 0 ? ("", path) : (path[..slash], path[(slash + 1)..]);
    }

    /// <summary>Nobody imports from a __pycache__ directory: its listing would only make the index longer.</summary>
    private static bool IsPycache(string directory) => directory.EndsWith("/__pycache__", StringComparison.Ordinal);

    /// <summary>A name Python spells the same as the image does (it reads undecodable bytes as lone surrogates).</summary>
    private static bool IsPlainName(string name)
    {
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c == '\uFFFD') return false;
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1])) i++;
            else if (char.IsSurrogate(c)) return false;
        }
        return true;
    }

    /// <summary>Reads the segments one after another, without copying them into one buffer.</summary>
    private sealed class SegmentStream(List<ReadOnlyMemory<byte>> segments, long length) : Stream
    {
        private int _segment;
        private int _offset;
        private long _position;

        public override int Read(Span<byte> buffer)
        {
            int done = 0;
            while (done < buffer.Length && _segment < segments.Count)
            {
                var rest = segments[_segment].Span[_offset..];
                int count = Math.Min(rest.Length, buffer.Length - done);
                rest[..count].CopyTo(buffer[done..]);
                done += count;
                _offset += count;
                if (_offset == segments[_segment].Length)
                {
                    _segment++;
                    _offset = 0;
                }
            }
            _position += done;
            return done;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
