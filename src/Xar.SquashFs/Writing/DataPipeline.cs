using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Format;
using Xar.Interop;

namespace Xar.SquashFs.Writing;

/// <summary>
/// Writes every regular file's data blocks and the fragment blocks.
///
/// Stages: loader threads read files ahead in output order (small files are read whole, in
/// parallel, because open/read/close of tens of thousands of small files is the floor of a
/// site-packages build) and hash files whose size is shared with another file; one packer thread
/// (the caller) takes them in order, drops duplicates before anything is compressed, cuts blocks
/// and appends small files and tails to the open fragment block; compression threads compress
/// data and fragment blocks alike (reading large files' blocks themselves with pread); one writer
/// thread writes results strictly in submission order, so the image is deterministic whatever the
/// thread timing. The packer only ever waits for a free slot in the bounded in-flight window,
/// never for a particular fragment block to be compressed.
/// </summary>
internal sealed class DataPipeline
{
    private const int ChunkFiles = 64;
    private const long ChunkBytes = 2L << 20;
    private const int LoadWindowChunks = 32;
    private const int HashChunk = 1 << 20;

    /// <summary>What a hole of a sparse file hashes as, without reading it.</summary>
    private static readonly byte[] ZeroChunk = new byte[HashChunk];

    private readonly Stream _output;
    private readonly SquashFsWriterOptions _options;
    private readonly int _blockSize;
    private readonly int _threads;
    private readonly long _inMemoryLimit;
    private readonly CancellationTokenSource _cancel = new();
    private Exception? _failure;

    private IReadOnlyList<TreeNode> _files = [];
    private HashSet<long> _candidateSizes = [];

    // Loader state.
    private List<LoadChunk> _chunks = [];
    private int _nextChunk;
    private int _packedChunks;
    private readonly SemaphoreSlim _loadWindow = new(LoadWindowChunks);

    // Packer state.
    private readonly Dictionary<ContentKey, FileData> _byContent = [];
    private byte[] _fragment;
    private int _fragmentUsed;
    private uint _fragmentCount;
    private readonly SemaphoreSlim _inFlight;
    private readonly BlockingCollection<BlockJob> _toCompress = new();
    private readonly BlockingCollection<BlockJob> _toWrite = new();

    // Writer state.
    private long _position;

    public DataPipeline(Stream output, SquashFsWriterOptions options)
    {
        _output = output;
        _options = options;
        _blockSize = options.BlockSize;
        _threads = options.ResolvedThreads;
        _inMemoryLimit = Math.Max(_blockSize, 4L << 20);
        _fragment = ArrayPool<byte>.Shared.Rent(_blockSize);
        // Enough blocks in flight that every compressor stays busy while the writer waits for the
        // oldest one, bounded so memory stays at a few dozen blocks.
        _inFlight = new SemaphoreSlim(Math.Max(16, 8 * _threads));
    }

    /// <summary>Fragment table entries, in fragment-index order: absolute-to-image position and size word.</summary>
    public List<(long Start, uint Word)> Fragments { get; } = [];

    /// <summary>
    /// Writes the data of <paramref name="files"/> (regular-file inodes in output order, each
    /// once) starting at <paramref name="startPosition"/> (relative to the image start, which is
    /// where the output stream stands when called minus that much). Returns the end position.
    /// </summary>
    public long Run(IReadOnlyList<TreeNode> files, long startPosition)
    {
        _files = files;
        _position = startPosition;
        if (_options.Deduplicate)
        {
            var seen = new HashSet<long>();
            foreach (var file in files)
                if (!seen.Add(file.Content!.Length)) _candidateSizes.Add(file.Content.Length);
        }
        _chunks = PlanChunks();

        var threads = new List<Thread>();
        for (int i = 0; i < _threads; i++)
        {
            threads.Add(Start(LoadFiles, $"xar-load-{i}"));
            threads.Add(Start(CompressBlocks, $"xar-compress-{i}"));
        }
        var writer = Start(WriteBlocks, "xar-write");
        try
        {
            PackFiles();
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            _toCompress.CompleteAdding();
            _toWrite.CompleteAdding();
        }
        writer.Join();
        foreach (var t in threads) t.Join();
        // After a failure the compressors stop early: what they did not take still holds its inputs.
        while (_toCompress.TryTake(out var pending)) ReleaseInputs(pending);
        ReleaseUnconsumedLoads();
        ArrayPool<byte>.Shared.Return(_fragment);
        if (_failure is not null)
        {
            if (_failure is SquashFsException) throw _failure;
            throw new SquashFsException(_failure.Message, _failure);
        }
        return _position;
    }

    private Thread Start(Action body, string name)
    {
        var thread = new Thread(() =>
        {
            try { body(); }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested) { }
            catch (Exception e) { Fail(e); }
        }, 256 * 1024) { IsBackground = true, Name = name };
        thread.Start();
        return thread;
    }

    private void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        _cancel.Cancel();
    }

    // ---------------------------------------------------------------- loaders

    /// <summary>A run of consecutive files loaded by one loader and handed to the packer at once,
    /// so threads synchronise once per chunk rather than once per small file.</summary>
    private sealed class LoadChunk(int start, int end)
    {
        public int Start { get; } = start;
        public int End { get; } = end;
        public LoadedFile[] Files { get; } = new LoadedFile[end - start];
        public ManualResetEventSlim Ready { get; } = new(false);
    }

    private struct LoadedFile
    {
        public SharedBuffer? Buffer;
        public SharedFd? Fd;
        public ContentKey? Key;
        public Exception? Error;
    }

    private List<LoadChunk> PlanChunks()
    {
        var chunks = new List<LoadChunk>();
        int start = 0;
        long bytes = 0;
        for (int i = 0; i < _files.Count; i++)
        {
            bytes += Math.Min(_files[i].Content!.Length, _inMemoryLimit);
            if (i + 1 - start >= ChunkFiles || bytes >= ChunkBytes)
            {
                chunks.Add(new LoadChunk(start, i + 1));
                start = i + 1;
                bytes = 0;
            }
        }
        if (start < _files.Count) chunks.Add(new LoadChunk(start, _files.Count));
        return chunks;
    }

    private void LoadFiles()
    {
        while (true)
        {
            // Bounded read-ahead: at most LoadWindowChunks chunks loaded but not yet packed. The
            // slot is taken before a chunk is claimed, so the chunk the packer waits for always
            // has one.
            _loadWindow.Wait(_cancel.Token);
            int index = Interlocked.Increment(ref _nextChunk) - 1;
            if (index >= _chunks.Count)
            {
                _loadWindow.Release();
                return;
            }
            var chunk = _chunks[index];
            for (int i = chunk.Start; i < chunk.End; i++)
            {
                ref var loaded = ref chunk.Files[i - chunk.Start];
                try
                {
                    loaded = Load(_files[i].Content!);
                }
                catch (Exception e)
                {
                    loaded.Error = e; // reported by the packer when it reaches this file, so errors come in file order
                }
            }
            chunk.Ready.Set();
        }
    }

    private LoadedFile Load(FileContent content)
    {
        long length = content.Length;
        bool candidate = _candidateSizes.Contains(length);
        var loaded = new LoadedFile();
        if (length <= _inMemoryLimit)
        {
            // One byte more than expected, so that a file that grew since the scan is noticed
            // without another read call.
            var buffer = ArrayPool<byte>.Shared.Rent((int)length + 1);
            try
            {
                ReadWhole(content, buffer.AsSpan(0, (int)length + 1));
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
            loaded.Buffer = new SharedBuffer(buffer);
            if (candidate) loaded.Key = ContentKey.Of(buffer.AsSpan(0, (int)length));
            return loaded;
        }

        if (content is DiskFileContent disk)
        {
            loaded.Fd = SharedFd.Open(disk);
            loaded.Fd.Extents = DataExtents.Find(loaded.Fd.Fd, length);
            if (candidate) loaded.Key = HashFd(loaded.Fd, disk);
        }
        else if (candidate)
        {
            loaded.Key = HashStream(content);
        }
        return loaded;
    }

    /// <summary>Reads the whole content into <paramref name="destination"/>, which is one byte longer than the content.</summary>
    private static void ReadWhole(FileContent content, Span<byte> destination)
    {
        int expected = destination.Length - 1;
        switch (content)
        {
            case DiskFileContent disk:
            {
                using var fd = SharedFd.Open(disk);
                if (LibC.PReadToEnd(fd.Fd, destination) != expected) throw ChangedSize(content);
                break;
            }
            case MemoryFileContent memory:
                memory.Bytes.Span.CopyTo(destination);
                break;
            default:
            {
                using var stream = content.OpenRead();
                ReadExactly(stream, destination[..expected], content);
                if (stream.ReadByte() != -1) throw ChangedSize(content);
                break;
            }
        }
    }

    private static ContentKey HashFd(SharedFd fd, DiskFileContent disk)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = ArrayPool<byte>.Shared.Rent(HashChunk);
        try
        {
            long offset = 0;
            while (offset < disk.Length)
            {
                int want = (int)Math.Min(HashChunk, disk.Length - offset);
                if (fd.Extents?.IsHole(offset, want) == true)
                {
                    hash.AppendData(ZeroChunk, 0, want);
                }
                else
                {
                    if (LibC.PReadFully(fd.Fd, chunk.AsSpan(0, want), offset) != want) throw ChangedSize(disk);
                    hash.AppendData(chunk, 0, want);
                }
                offset += want;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return ContentKey.From(disk.Length, hash);
    }

    private static ContentKey HashStream(FileContent content)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = ArrayPool<byte>.Shared.Rent(HashChunk);
        try
        {
            using var stream = content.OpenRead();
            long total = 0;
            int n;
            while ((n = stream.Read(chunk, 0, HashChunk)) > 0)
            {
                hash.AppendData(chunk, 0, n);
                total += n;
            }
            if (total != content.Length) throw ChangedSize(content);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return ContentKey.From(content.Length, hash);
    }

    private void ReleaseUnconsumedLoads()
    {
        for (int c = _packedChunks; c < _chunks.Count; c++)
        {
            var chunk = _chunks[c];
            if (!chunk.Ready.IsSet) continue;
            foreach (var loaded in chunk.Files)
            {
                loaded.Buffer?.Release();
                loaded.Fd?.Release();
            }
        }
    }

    // ---------------------------------------------------------------- packer

    private void PackFiles()
    {
        for (; _packedChunks < _chunks.Count; _packedChunks++)
        {
            var chunk = _chunks[_packedChunks];
            chunk.Ready.Wait(_cancel.Token);
            for (int i = chunk.Start; i < chunk.End; i++)
            {
                ref var loaded = ref chunk.Files[i - chunk.Start];
                if (loaded.Error is { } error)
                    throw error; // ReleaseUnconsumedLoads releases this chunk's remaining loads
                var node = _files[i];
                if (loaded.Key is { } key && _byContent.TryGetValue(key, out var original))
                {
                    node.Data = original;
                    _options.Progress?.Duplicate(node.Content!.Length); // done: nothing of it is written
                    loaded.Buffer?.Release();
                    loaded.Fd?.Release();
                }
                else
                {
                    // Taken out first: Pack releases what it is given, even when it throws.
                    var current = loaded;
                    loaded = default;
                    var data = Pack(node.Content!, node.CompressionLevel, current);
                    node.Data = data;
                    if (current.Key is { } newKey) _byContent.Add(newKey, data);
                }
                loaded = default;
                _options.Progress?.Advance(1, 0); // its bytes count when its blocks are written
            }
            _loadWindow.Release();
        }
        CloseFragment();
    }

    private FileData Pack(FileContent content, int? level, LoadedFile loaded)
    {
        long size = content.Length;
        if (level is { } wanted && wanted != _options.Compression.Level)
        {
            (int min, int max) = CompressionSettings.LevelRange(_options.Compression.Algorithm);
            if (wanted < min || wanted > max)
            {
                loaded.Buffer?.Release();
                loaded.Fd?.Release();
                throw new SquashFsException($"{content.Description}: {CompressionSettings.Name(_options.Compression.Algorithm)} level {wanted} is not between {min} and {max}");
            }
        }
        else
        {
            level = null;
        }
        bool tailInFragment = _options.UseFragments && size % _blockSize != 0;
        long fullBlocks = size / _blockSize;
        int tail = (int)(size % _blockSize);
        long blockCount = tailInFragment ? fullBlocks : fullBlocks + (tail > 0 ? 1 : 0);
        if (blockCount > int.MaxValue / 4)
            throw new SquashFsException($"{content.Description}: file too large ({size} bytes)");
        var data = new FileData(size, (int)blockCount);

        Stream? stream = null;
        try
        {
            if (loaded.Buffer is null && loaded.Fd is null)
                stream = content.OpenRead();
            for (int b = 0; b < blockCount; b++)
            {
                int length = (int)Math.Min(_blockSize, size - (long)b * _blockSize);
                var job = new BlockJob { File = data, BlockIndex = b, Length = length, Level = level };
                if (loaded.Buffer is { } buffer)
                {
                    buffer.AddRef();
                    job.Input = buffer;
                    job.InputOffset = b * _blockSize;
                }
                else if (loaded.Fd is { } fd)
                {
                    long offset = (long)b * _blockSize;
                    if (fd.Extents?.IsHole(offset, length) == true)
                    {
                        job.IsHole = true; // a sparse block, as an all-zero block read would give, without reading it
                    }
                    else
                    {
                        fd.AddRef();
                        job.Fd = fd;
                        job.FdOffset = offset;
                    }
                }
                else
                {
                    var block = ArrayPool<byte>.Shared.Rent(_blockSize);
                    try
                    {
                        ReadExactly(stream!, block.AsSpan(0, length), content);
                    }
                    catch
                    {
                        ArrayPool<byte>.Shared.Return(block);
                        throw;
                    }
                    job.Input = new SharedBuffer(block);
                }
                Submit(job);
            }

            if (tailInFragment)
            {
                if (_fragmentUsed + tail > _blockSize) CloseFragment();
                data.FragmentIndex = _fragmentCount;
                data.FragmentOffset = (uint)_fragmentUsed;
                var destination = _fragment.AsSpan(_fragmentUsed, tail);
                long tailOffset = fullBlocks * _blockSize;
                if (loaded.Buffer is { } buffer)
                    buffer.Array.AsSpan((int)tailOffset, tail).CopyTo(destination);
                else if (loaded.Fd is { } fd)
                {
                    if (LibC.PReadFully(fd.Fd, destination, tailOffset) != tail) throw ChangedSize(content);
                }
                else
                    ReadExactly(stream!, destination, content);
                _fragmentUsed += tail;
            }
            if (stream is not null && stream.ReadByte() != -1) throw ChangedSize(content);
        }
        finally
        {
            stream?.Dispose();
            loaded.Buffer?.Release();
            loaded.Fd?.Release();
        }
        return data;
    }

    private void CloseFragment()
    {
        if (_fragmentUsed == 0) return;
        var job = new BlockJob
        {
            IsFragment = true,
            FragmentIndex = _fragmentCount,
            Length = _fragmentUsed,
            Input = new SharedBuffer(_fragment),
        };
        _fragment = ArrayPool<byte>.Shared.Rent(_blockSize);
        _fragmentUsed = 0;
        _fragmentCount++;
        Submit(job);
    }

    private void Submit(BlockJob job)
    {
        try
        {
            _inFlight.Wait(_cancel.Token);
            _toWrite.Add(job, _cancel.Token);
            _toCompress.Add(job, _cancel.Token);
        }
        catch (OperationCanceledException)
        {
            ReleaseInputs(job); // it never reached a compressor
            throw;
        }
    }

    private static void ReleaseInputs(BlockJob job)
    {
        job.Input?.Release();
        job.Input = null;
        job.Fd?.Release();
        job.Fd = null;
    }

    // ---------------------------------------------------------------- compressors

    private void CompressBlocks()
    {
        using var compressor = _options.Compression.CreateCompressor(_blockSize);
        // Compressors at the levels some files ask for (ImageEntry.CompressionLevel), made at their first block.
        var atLevel = new Dictionary<int, BlockCompressor>();
        using var kept = _options.BlockCache is { } cache ? new KeptBlocks(cache, _options.Compression, _blockSize) : null;
        try
        {
            foreach (var job in _toCompress.GetConsumingEnumerable(_cancel.Token))
            {
                try
                {
                    var chosen = compressor;
                    if (job.Level is { } level && !atLevel.TryGetValue(level, out chosen))
                        atLevel[level] = chosen = (_options.Compression with { Level = level }).CreateCompressor(_blockSize);
                    Compress(job, chosen!, kept);
                }
                finally
                {
                    ReleaseInputs(job);
                }
                lock (job)
                {
                    job.Completed = true;
                    Monitor.Pulse(job);
                }
            }
        }
        finally
        {
            foreach (var other in atLevel.Values) other.Dispose();
        }
    }

    private void Compress(BlockJob job, BlockCompressor compressor, KeptBlocks? kept)
    {
        if (job.IsHole)
        {
            job.Word = 0;
            return;
        }
        byte[]? readBuffer = null;
        ReadOnlySpan<byte> input;
        if (job.Fd is { } fd)
        {
            readBuffer = ArrayPool<byte>.Shared.Rent(_blockSize);
            if (LibC.PReadFully(fd.Fd, readBuffer.AsSpan(0, job.Length), job.FdOffset) != job.Length)
            {
                ArrayPool<byte>.Shared.Return(readBuffer);
                throw ChangedSize(fd.Content);
            }
            input = readBuffer.AsSpan(0, job.Length);
        }
        else
        {
            input = job.Input!.Array.AsSpan(job.InputOffset, job.Length);
        }

        if (!job.IsFragment && !input.ContainsAnyExcept((byte)0))
        {
            job.Word = 0; // sparse: nothing stored
            if (readBuffer is not null) ArrayPool<byte>.Shared.Return(readBuffer);
            return;
        }

        var output = ArrayPool<byte>.Shared.Rent(_blockSize);
        int compressed = kept is not null && compressor.CacheIdentity is not null
            ? kept.Compress(compressor, input, output.AsSpan(0, _blockSize))
            : compressor.Compress(input, output.AsSpan(0, _blockSize));
        if (compressed > 0)
        {
            job.Output = output;
            job.OutputLength = compressed;
            job.Word = (uint)compressed;
            if (readBuffer is not null) ArrayPool<byte>.Shared.Return(readBuffer);
        }
        else if (readBuffer is not null)
        {
            ArrayPool<byte>.Shared.Return(output);
            job.Output = readBuffer;
            job.OutputLength = job.Length;
            job.Word = (uint)job.Length | SquashFsConstants.DataUncompressed;
        }
        else
        {
            input.CopyTo(output);
            job.Output = output;
            job.OutputLength = job.Length;
            job.Word = (uint)job.Length | SquashFsConstants.DataUncompressed;
        }
    }

    /// <summary>
    /// One compressor thread's use of the <see cref="ICompressedBlockCache"/>: a block's key is the
    /// SHA-256 (first 128 bits) of the compressor's identity, a NUL and the block's bytes (the
    /// stores of earlier builds hold such keys); a kept block is taken only when it decodes to
    /// exactly those bytes.
    /// </summary>
    private sealed class KeptBlocks(ICompressedBlockCache cache, CompressionSettings settings, int blockSize) : IDisposable
    {
        private readonly BlockDecompressor _decompressor = settings.CreateDecompressor();
        private readonly byte[] _decoded = ArrayPool<byte>.Shared.Rent(blockSize);
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        /// <summary>Each compressor's identity and NUL in UTF-8, the start of its keys, encoded once: a thread has one compressor per level.</summary>
        private readonly Dictionary<BlockCompressor, byte[]> _keyPrefixes = new(ReferenceEqualityComparer.Instance);

        /// <summary>What <paramref name="compressor"/> (one with a <see cref="BlockCompressor.CacheIdentity"/>) would return for <paramref name="input"/>: the kept block, else its own (then kept).</summary>
        public int Compress(BlockCompressor compressor, ReadOnlySpan<byte> input, Span<byte> output)
        {
            if (!_keyPrefixes.TryGetValue(compressor, out byte[]? prefix))
                _keyPrefixes[compressor] = prefix = System.Text.Encoding.UTF8.GetBytes(compressor.CacheIdentity + "\0");
            _hash.AppendData(prefix);
            _hash.AppendData(input);
            Span<byte> digest = stackalloc byte[32];
            _hash.GetHashAndReset(digest);
            var key = MemoryMarshal.Read<UInt128>(digest);
            if (cache.Find(key) is { } block && Decodes(block.Span, input))
            {
                block.Span.CopyTo(output);
                return block.Length;
            }
            int compressed = compressor.Compress(input, output);
            // A block the codec cannot shrink is not kept: that it is stored raw could not be checked without compressing it.
            if (compressed > 0) cache.Add(key, output[..compressed]);
            return compressed;
        }

        private bool Decodes(ReadOnlySpan<byte> block, ReadOnlySpan<byte> input)
        {
            if (block.IsEmpty || block.Length >= input.Length) return false;
            try
            {
                return _decompressor.Decompress(block, _decoded.AsSpan(0, blockSize)) == input.Length && _decoded.AsSpan(0, input.Length).SequenceEqual(input);
            }
            catch (SquashFsException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            _decompressor.Dispose();
            _hash.Dispose();
            ArrayPool<byte>.Shared.Return(_decoded);
        }
    }

    // ---------------------------------------------------------------- writer

    private void WriteBlocks()
    {
        foreach (var job in _toWrite.GetConsumingEnumerable(_cancel.Token))
        {
            lock (job)
            {
                while (!job.Completed)
                {
                    _cancel.Token.ThrowIfCancellationRequested();
                    Monitor.Wait(job, 100);
                }
            }
            if (job.IsFragment)
            {
                Fragments.Add((_position, job.Word));
            }
            else
            {
                var file = job.File!;
                if (job.BlockIndex == 0) file.StartBlock = _position;
                file.BlockWords[job.BlockIndex] = job.Word;
                if (job.Word == 0) file.SparseBytes += job.Length;
            }
            _options.Progress?.Written(job.Length, job.OutputLength);
            if (job.Output is { } output)
            {
                _output.Write(output, 0, job.OutputLength);
                _position += job.OutputLength;
                ArrayPool<byte>.Shared.Return(output);
                job.Output = null;
            }
            _inFlight.Release();
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> destination, FileContent content)
    {
        try
        {
            stream.ReadExactly(destination);
        }
        catch (EndOfStreamException)
        {
            throw ChangedSize(content);
        }
    }

    private static SquashFsException ChangedSize(FileContent content) =>
        new($"{content.Description}: changed size while the image was being written (expected {content.Length} bytes)");

    private sealed class BlockJob
    {
        public bool IsFragment;
        public bool IsHole;
        public FileData? File;
        public int BlockIndex;
        public uint FragmentIndex;
        public int Length;
        /// <summary>The codec level of the file's blocks when it is not the image's.</summary>
        public int? Level;
        public SharedBuffer? Input;
        public int InputOffset;
        public SharedFd? Fd;
        public long FdOffset;
        public byte[]? Output;
        public int OutputLength;
        public uint Word;
        public bool Completed;
    }
}

/// <summary>A pooled buffer shared by the jobs that read from it; returned when the last one is done.</summary>
internal sealed class SharedBuffer(byte[] array)
{
    private int _references = 1;
    public byte[] Array { get; } = array;
    public void AddRef() => Interlocked.Increment(ref _references);
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) ArrayPool<byte>.Shared.Return(Array);
    }
}

/// <summary>An open build-host file shared by the jobs that pread its blocks; closed when the last one is done.</summary>
internal sealed class SharedFd : IDisposable
{
    private int _references = 1;
    public int Fd { get; }
    public DiskFileContent Content { get; }

    /// <summary>Where the file has data, for a large file that has holes; null when all of it is data.</summary>
    public DataExtents? Extents { get; set; }

    private SharedFd(int fd, DiskFileContent content)
    {
        Fd = fd;
        Content = content;
    }

    public static unsafe SharedFd Open(DiskFileContent content)
    {
        while (true)
        {
            int fd;
            fixed (byte* p = content.NativePath)
                fd = LibC.open(p, LibC.O_RDONLY | LibC.O_CLOEXEC | LibC.O_NOFOLLOW);
            if (fd >= 0) return new SharedFd(fd, content);
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EINTR)
                throw new SquashFsException($"{content.Path}: cannot open: {LibC.ErrorText(errno)}");
        }
    }

    public void AddRef() => Interlocked.Increment(ref _references);
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) LibC.close(Fd);
    }
    public void Dispose() => Release();
}

/// <summary>Identity of a file's content for deduplication: its size and SHA-256 (first 128 bits).</summary>
internal readonly record struct ContentKey(long Size, UInt128 Hash)
{
    public static ContentKey Of(ReadOnlySpan<byte> content)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(content, digest);
        return new ContentKey(content.Length, MemoryMarshal.Read<UInt128>(digest));
    }

    public static ContentKey From(long size, IncrementalHash hash)
    {
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return new ContentKey(size, MemoryMarshal.Read<UInt128>(digest));
    }
}
