using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Xar.Interop;
using Xar.Python.Distributions;
using Xar.SquashFs;
using Xar.SquashFs.Writing;

namespace Xar.Python.Building;

/// <summary>
/// The answers of the build's Python servers (the import scan with its pycs, the compiler) kept
/// between builds, so that a source already parsed and compiled by the same interpreter is not
/// parsed and compiled again: those are most of a Python build's CPU (docs/python-apps.md §5,
/// "Build cache"). An answer is a function of the interpreter, the server's program, the source's
/// image path and its bytes (the servers run with PYTHONHASHSEED=0), so one taken from the cache is
/// the bytes the server would write, and a build is byte-identical with or without it.
/// <para>
/// One store file per interpreter and server program, in a directory that must be the caller's
/// own and writable by no one else (else the cache is not used): <c>$XAR_BUILD_CACHE</c>, else
/// <c>$XDG_CACHE_HOME/xar-build</c>, else <c>~/.cache/xar-build</c>; <c>XAR_BUILD_CACHE=off</c>
/// turns it off. The interpreter is known by its real path, size and modification time.
/// </para>
/// </summary>
public sealed class ServerAnswerCache
{
    /// <summary>A store that grew past this keeps only the answers its last build used.</summary>
    private const long StoreLimit = 256L << 20;
    private const uint PrivateDirectory = 0x1C0; // 0700
    private const int WritableByOthers = 0x12; // 022
    private static readonly byte[] Magic = "xar server answers 1\n"u8.ToArray();

    private ServerAnswerCache(string directory) => Directory = directory;

    /// <summary>Where the store files are.</summary>
    public string Directory { get; }

    /// <summary>The cache the environment names (see the class), or null when it is off or there is nowhere to keep it.</summary>
    public static ServerAnswerCache? FromEnvironment()
    {
        string? setting = Environment.GetEnvironmentVariable("XAR_BUILD_CACHE");
        if (setting is "off" or "0") return null;
        if (!string.IsNullOrEmpty(setting)) return new ServerAnswerCache(setting);
        string? cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(cacheHome) && Path.IsPathRooted(cacheHome)) return new ServerAnswerCache(Path.Combine(cacheHome, "xar-build"));
        string? home = Environment.GetEnvironmentVariable("HOME");
        return !string.IsNullOrEmpty(home) && Path.IsPathRooted(home) ? new ServerAnswerCache(Path.Combine(home, ".cache", "xar-build")) : null;
    }

    /// <summary>A cache kept in <paramref name="directory"/>.</summary>
    public static ServerAnswerCache At(string directory) => new(directory);

    /// <summary>
    /// The store of the servers that run <paramref name="command"/> on <paramref name="interpreter"/>,
    /// with what earlier builds left in it; an empty one that saves nothing when the directory or
    /// the file is not the caller's alone, or the interpreter cannot be found.
    /// </summary>
    internal Store Open(string interpreter, IReadOnlyList<string> command)
    {
        string real = RealPath.Of(interpreter);
        if (LibC.Stat(real, followSymlinks: true, out StatX executable) != 0) return new Store(null, null, []);
        return OpenStore([$"{real}\0{executable.Size}\0{executable.Mtime.Seconds}.{executable.Mtime.Nanoseconds}\0", .. command.Select(argument => argument + "\0")]);
    }

    /// <summary>
    /// The store of the image writer's compressed blocks (<see cref="ICompressedBlockCache"/>; a
    /// block's key names its codec, library version and level), with what earlier builds left in it.
    /// </summary>
    internal Store OpenBlocks() => OpenStore(["compressed blocks\0"]);

    /// <summary>The store named by <paramref name="identity"/>'s parts; an empty one that saves nothing when the directory or the file is not the caller's alone.</summary>
    private Store OpenStore(IEnumerable<string> identity)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Magic);
        foreach (string part in identity) hash.AppendData(Encoding.UTF8.GetBytes(part));
        if (OpenTrustedDirectory() is not { } directory) return new Store(null, null, []);
        string name = Convert.ToHexStringLower(hash.GetHashAndReset());
        return new Store(directory, name, Load(directory, name));
    }

    /// <summary>
    /// The directory, created 0700 if missing, opened once: null when it is not a directory of the
    /// caller's that only the caller can write. The store is then read and written through this
    /// descriptor only, so a directory moved or replaced at its path after the check — possible
    /// when a parent is another user's — is never what is read or written.
    /// </summary>
    private SafeFileHandle? OpenTrustedDirectory()
    {
        const int flags = LibC.O_RDONLY | LibC.O_NOCTTY;
        int fd = LibC.Open(Directory, flags | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0, out int errno);
        if (fd < 0 && errno == LibC.ENOENT)
        {
            try
            {
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(Directory))!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            LibC.mkdir(Directory, PrivateDirectory);
            fd = LibC.Open(Directory, flags | LibC.O_DIRECTORY | LibC.O_NOFOLLOW, 0, out _);
        }
        if (fd < 0) return null;
        var directory = new SafeFileHandle(fd, ownsHandle: true);
        if (LibC.Stat(fd, out StatX stat) == 0 && stat.IsDirectory && IsPrivate(stat)) return directory;
        directory.Dispose();
        return null;
    }

    private static bool IsPrivate(in StatX stat) => stat.Uid == LibC.geteuid() && (stat.Permissions & WritableByOthers) == 0;

    /// <summary>The answers in the store file <paramref name="name"/> of <paramref name="directory"/>, by key; none when it is missing, not the caller's alone, or not a store.</summary>
    private static Dictionary<UInt128, Answer> Load(SafeFileHandle directory, string name)
    {
        var answers = new Dictionary<UInt128, Answer>();
        int fd = LibC.OpenAt((int)directory.DangerousGetHandle(), LibC.Utf8Z(name), LibC.O_RDONLY | LibC.O_NOFOLLOW | LibC.O_NONBLOCK | LibC.O_NOCTTY, 0);
        if (fd < 0) return answers;
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (LibC.Stat(fd, out StatX stat) != 0 || !stat.IsRegularFile || !IsPrivate(stat)) return answers;
        byte[] bytes;
        try
        {
            bytes = new byte[checked((int)stat.Size)];
            using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or OverflowException or EndOfStreamException)
        {
            return answers;
        }
        if (!bytes.AsSpan().StartsWith(Magic)) return answers;
        // <16-byte key><u32 status><u32 length><payload>, repeated; a torn tail is ignored.
        int offset = Magic.Length;
        while (bytes.Length - offset >= 24)
        {
            var key = BinaryPrimitives.ReadUInt128LittleEndian(bytes.AsSpan(offset));
            uint status = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 16));
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 20));
            if (length > bytes.Length - offset - 24) break;
            answers[key] = new Answer(status, bytes.AsMemory(offset + 24, (int)length));
            offset += 24 + (int)length;
        }
        return answers;
    }

    internal readonly record struct Answer(uint Status, ReadOnlyMemory<byte> Payload);

    /// <summary>The answers of one interpreter and server program (or the writer's compressed blocks): those loaded, and those given in this build.</summary>
    /// <param name="directory">The checked directory (<see cref="OpenTrustedDirectory"/>), closed by <see cref="Save"/>; null: nothing is kept.</param>
    /// <param name="name">The store file's name in it.</param>
    internal sealed class Store(SafeFileHandle? directory, string? name, Dictionary<UInt128, Answer> loaded) : ICompressedBlockCache
    {
        private readonly ConcurrentDictionary<UInt128, Answer> _used = new();
        private int _added;

        /// <summary>The key of a request: its path and source (the first 128 bits of their SHA-256).</summary>
        public static UInt128 KeyOf(string path, ReadOnlySpan<byte> source)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Span<byte> length = stackalloc byte[8];
            byte[] name = Encoding.UTF8.GetBytes(path);
            BinaryPrimitives.WriteInt64LittleEndian(length, name.Length);
            hash.AppendData(length);
            hash.AppendData(name);
            hash.AppendData(source);
            Span<byte> digest = stackalloc byte[32];
            hash.GetHashAndReset(digest);
            return BinaryPrimitives.ReadUInt128LittleEndian(digest);
        }

        /// <summary>The answer kept for <paramref name="key"/>, a copy the caller owns, or null.</summary>
        public (uint Status, byte[] Payload)? Find(UInt128 key)
        {
            if (!loaded.TryGetValue(key, out var answer)) return null;
            _used.TryAdd(key, answer);
            return (answer.Status, answer.Payload.ToArray());
        }

        public void Add(UInt128 key, uint status, byte[] payload)
        {
            if (directory is not null && _used.TryAdd(key, new Answer(status, payload)))
                Interlocked.Increment(ref _added);
        }

        /// <summary>A compressed block: the payload itself, not a copy (the writer copies it into its output).</summary>
        ReadOnlyMemory<byte>? ICompressedBlockCache.Find(UInt128 key)
        {
            if (!loaded.TryGetValue(key, out var answer)) return null;
            _used.TryAdd(key, answer);
            return answer.Payload;
        }

        /// <summary>Replaces what <see cref="ICompressedBlockCache.Find"/> gave when the writer found it did not decode to the block.</summary>
        void ICompressedBlockCache.Add(UInt128 key, ReadOnlySpan<byte> compressed)
        {
            if (directory is null) return;
            _used[key] = new Answer(0, compressed.ToArray());
            Interlocked.Increment(ref _added);
        }

        /// <summary>
        /// Writes the store when this build added answers: those it used, then the others loaded
        /// while the file stays under <see cref="StoreLimit"/>. Written beside and renamed into
        /// place in the checked directory (<see cref="OutputFile.CreateAt"/>), which is then closed;
        /// a store that cannot be written is only not kept.
        /// </summary>
        public void Save()
        {
            if (directory is null) return;
            using (directory)
            {
                if (_added == 0) return;
                try
                {
                    using var output = OutputFile.CreateAt(directory, name!, name!, UnixFileMode.UserRead | UnixFileMode.UserWrite, 1 << 20);
                    var stream = output.Stream;
                    stream.Write(Magic);
                    Span<byte> header = stackalloc byte[24];
                    // In key order, so the file does not depend on the order the servers answered in.
                    var used = _used.OrderBy(pair => pair.Key).ToList();
                    long usedSize = used.Sum(pair => 24L + pair.Value.Payload.Length);
                    var kept = loaded.Where(pair => !_used.ContainsKey(pair.Key)).OrderBy(pair => pair.Key)
                        .TakeWhile(pair => (usedSize += 24L + pair.Value.Payload.Length) <= StoreLimit);
                    foreach (var (key, answer) in used.Concat(kept))
                    {
                        BinaryPrimitives.WriteUInt128LittleEndian(header, key);
                        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], answer.Status);
                        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)answer.Payload.Length);
                        stream.Write(header);
                        stream.Write(answer.Payload.Span);
                    }
                    output.Commit();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The cache only saves time: the build does not fail for it.
                }
            }
        }
    }
}
