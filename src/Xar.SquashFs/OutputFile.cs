using Microsoft.Win32.SafeHandles;
using Xar.Interop;

namespace Xar.SquashFs;

/// <summary>
/// An output being written: the one way xar writes a file it is asked for (images, archives, the
/// launcher's verified stamp), so that an error or a signal never leaves a half-written file in
/// its place and a build run as root cannot be turned against another file.
/// <para>
/// An output that is a regular file, or does not exist yet: the bytes go to an unnamed file
/// (O_TMPFILE) in the output's directory, so not even SIGKILL leaves a partial file behind;
/// <see cref="Commit"/> fsyncs it, links it under a random temporary name (linkat neither follows
/// nor replaces what is there) and renames that over the output. Where the filesystem has no
/// O_TMPFILE, the temporary file is created under the random name, O_EXCL|O_NOFOLLOW, from the start.
/// A symlink is followed — by the kernel, so fs.protected_symlinks applies — and the file it
/// leads to is what is replaced; a symlink that leads nowhere is refused rather than created
/// through. A directory is refused.
/// </para>
/// <para>
/// Any other output — a FIFO, a character or block device, /proc/self/fd/1 or /dev/stdout on a
/// pipe or terminal — is never renamed over, truncated or chmodded: it is opened for writing as
/// it is (a FIFO waits for its reader), the bytes go to an unnamed temporary file in $TMPDIR
/// (the writers seek back to put the superblock and header in front, so they cannot stream),
/// and <see cref="Commit"/> copies them into it.
/// </para>
/// Until committed, the temporary file is removed on <see cref="Dispose"/> and, through
/// <see cref="InterruptCleanup"/>, when the process is interrupted.
/// </summary>
public sealed class OutputFile : IDisposable
{
    private const uint PrivateMode = 0x180; // 0600: the mode is set at commit
    private const uint DefaultMode = 0x1B6; // 0666, less the umask, as any new file
    private const int MaxNameLength = 200; // leaves room for the temporary name's affixes within NAME_MAX

    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly UnixFileMode? _mode;
    private readonly SafeFileHandle? _directory;
    private readonly bool _ownsDirectory = true;
    private readonly string? _name;
    private readonly SafeFileHandle? _target;
    private readonly IDisposable _registration;
    private string? _temporaryName;
    private bool _abandoned;

    private OutputFile(string path, UnixFileMode? mode, int bufferSize)
    {
        _path = path;
        _mode = mode;
        string full = System.IO.Path.GetFullPath(path);
        (string? directory, _name, StatX resolved) = Resolve(path, full);
        _registration = InterruptCleanup.Register(Abandon);
        try
        {
            if (directory is null)
            {
                // Outside the lock: opening a FIFO waits for its reader, and an interrupt meanwhile must still get the lock.
                _target = OpenTarget(path, full, resolved);
                directory = System.IO.Path.GetTempPath();
            }
            int fd;
            lock (_lock)
            {
                if (_abandoned) throw Interrupted();
                _directory = OpenDirectory(path, directory);
                (fd, _temporaryName) = CreateTemporary(_directory, directory, _name ?? "xar-output", _target is null && mode is null ? DefaultMode : PrivateMode);
                if (_target is not null && _temporaryName is not null)
                {
                    // Never named again (it is copied into the output): nothing to remove however the process ends.
                    LibC.unlinkat((int)_directory.DangerousGetHandle(), _temporaryName, 0);
                    _temporaryName = null;
                }
            }
            Stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.ReadWrite, bufferSize);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>A regular file named <paramref name="name"/> in the opened <paramref name="directory"/>, which stays the caller's.</summary>
    private OutputFile(SafeFileHandle directory, string name, string path, UnixFileMode mode, int bufferSize)
    {
        _path = path;
        _mode = mode;
        _directory = directory;
        _ownsDirectory = false;
        _name = name;
        _registration = InterruptCleanup.Register(Abandon);
        try
        {
            int fd;
            lock (_lock)
            {
                if (_abandoned) throw Interrupted();
                (fd, _temporaryName) = CreateTemporary(directory, System.IO.Path.GetDirectoryName(path) ?? ".", name, PrivateMode);
            }
            Stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.ReadWrite, bufferSize);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts writing <paramref name="path"/>. <paramref name="mode"/> is given to the file at
    /// commit (exactly, whatever the umask) when it is a regular file; without it the file gets
    /// 0666 less the umask, as any new file. Other outputs keep their mode.
    /// </summary>
    /// <exception cref="IOException">The output is a directory or a symlink to nothing, or cannot be opened or created beside.</exception>
    public static OutputFile Create(string path, UnixFileMode? mode = null, int bufferSize = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new OutputFile(path, mode, bufferSize);
    }

    /// <summary>
    /// Starts writing the file <paramref name="name"/> (one path component) of the directory the
    /// caller opened and checked, <paramref name="directory"/>: every step goes through that
    /// descriptor, so a directory renamed or replaced at its path meanwhile is never written
    /// through, and whatever is at the name — a symlink too — is renamed over at commit, never
    /// followed. The file gets <paramref name="mode"/> at commit; <paramref name="path"/> names it
    /// in errors. The caller keeps <paramref name="directory"/> open until it disposes the output.
    /// </summary>
    public static OutputFile CreateAt(SafeFileHandle directory, string name, string path, UnixFileMode mode, int bufferSize = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (name.Length == 0 || name.Contains('/') || name is "." or "..") throw new ArgumentException($"not a file name: {name}", nameof(name));
        return new OutputFile(directory, name, path, mode, bufferSize);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is the file this process's standard output is
    /// (<c>/dev/stdout</c>, <c>/proc/self/fd/1</c>, or the file stdout is redirected to): a report
    /// printed on stdout would then land inside the output, so callers print it on stderr.
    /// </summary>
    public static bool IsStandardOutput(string path) =>
        LibC.Stat(LibC.AT_FDCWD, path, 0, out StatX output) == 0 && LibC.Stat(1, "", LibC.AT_EMPTY_PATH, out StatX stdout) == 0
        && output.DevMajor == stdout.DevMajor && output.DevMinor == stdout.DevMinor && output.Ino == stdout.Ino;

    /// <summary>The temporary file: readable, writable and seekable, whatever the output is.</summary>
    public FileStream Stream { get; }

    /// <summary>Puts what was written in place: renamed over a regular output, copied into any other.</summary>
    public void Commit()
    {
        Stream.Flush();
        if (_target is not null)
        {
            if (_abandoned) throw Interrupted();
            using var target = new FileStream(_target, FileAccess.Write, bufferSize: 0);
            Stream.Position = 0;
            Stream.CopyTo(target, 1 << 20);
            return;
        }
        if (_mode is { } mode)
            File.SetUnixFileMode(Stream.SafeFileHandle, mode);
        Stream.Flush(flushToDisk: true);
        lock (_lock)
        {
            if (_abandoned) throw Interrupted();
            _temporaryName ??= Name(Stream.SafeFileHandle, _directory!, _name!, _path);
            if (LibC.renameat((int)_directory!.DangerousGetHandle(), _temporaryName!, (int)_directory.DangerousGetHandle(), _name!) != 0)
                throw Error(_path, "cannot rename the finished file into place", LibC.LastError);
            _temporaryName = null;
        }
    }

    /// <summary>Closes the file; a temporary file not committed is removed.</summary>
    public void Dispose()
    {
        Stream?.Dispose();
        lock (_lock)
        {
            RemoveTemporary();
            if (_ownsDirectory) _directory?.Dispose();
            _target?.Dispose();
        }
        _registration?.Dispose();
    }

    /// <summary>The interrupt cleanup: removes the temporary file now, while other threads may still be writing it.</summary>
    private void Abandon()
    {
        lock (_lock)
        {
            _abandoned = true;
            RemoveTemporary();
        }
    }

    private void RemoveTemporary()
    {
        if (_temporaryName is null || _directory is null) return;
        LibC.unlinkat((int)_directory.DangerousGetHandle(), _temporaryName, 0);
        _temporaryName = null;
    }

    /// <summary>
    /// The directory and name of the regular file to replace, or (null, null) and what was found
    /// for an output that is not a regular file and is written into.
    /// </summary>
    private static (string? Directory, string? Name, StatX Found) Resolve(string path, string full)
    {
        string directory = System.IO.Path.GetDirectoryName(full)!;
        string name = System.IO.Path.GetFileName(full);
        int errno = LibC.Stat(LibC.AT_FDCWD, full, LibC.AT_SYMLINK_NOFOLLOW, out StatX stat);
        if (errno == LibC.ENOENT)
            return name.Length == 0 ? throw IsDirectory(path) : (directory, name, stat);
        if (errno != 0) throw Error(path, "cannot look up", errno);
        if (stat.IsRegularFile) return (directory, name, stat);
        if (stat.IsDirectory) throw IsDirectory(path);
        if (!stat.IsSymbolicLink) return (null, null, stat);

        // Resolved by the kernel rather than by reading links, so fs.protected_symlinks applies.
        int fd = LibC.open(full, LibC.O_PATH | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            errno = LibC.LastError;
            throw errno == LibC.ENOENT
                ? new IOException($"{path}: a symlink to {LibC.ReadLink(full)}, which does not exist; xar does not create files through symlinks")
                : Error(path, "cannot follow the symlink", errno);
        }
        try
        {
            errno = LibC.Stat(fd, "", LibC.AT_EMPTY_PATH, out StatX target);
            if (errno != 0) throw Error(path, "cannot look up where the symlink leads", errno);
            if (target.IsDirectory) throw IsDirectory(path);
            if (!target.IsRegularFile) return (null, null, target);
            if (target.Nlink == 0) throw new IOException($"{path}: leads to a deleted file");
            string real = LibC.ReadLink($"/proc/self/fd/{fd}") ?? throw new IOException($"{path}: cannot tell where the symlink leads");
            return (System.IO.Path.GetDirectoryName(real)!, System.IO.Path.GetFileName(real), target);
        }
        finally
        {
            LibC.close(fd);
        }
    }

    /// <summary>
    /// Opens the non-regular output <paramref name="found"/> for writing. It is opened by name
    /// again, so what was opened must be what was found: in a directory others can write, the
    /// FIFO could meanwhile have become a symlink to a file of root's, which is never written.
    /// </summary>
    private static SafeFileHandle OpenTarget(string path, string full, in StatX found)
    {
        while (true)
        {
            // No O_CREAT, no O_TRUNC: a device node, FIFO or pipe is written into as it is.
            int fd = LibC.open(full, LibC.O_WRONLY | LibC.O_NOCTTY | LibC.O_CLOEXEC, 0);
            if (fd >= 0)
            {
                var handle = new SafeFileHandle(fd, ownsHandle: true);
                if (LibC.Stat(fd, "", LibC.AT_EMPTY_PATH, out StatX opened) == 0 && !opened.IsRegularFile && !opened.IsDirectory
                    && opened.DevMajor == found.DevMajor && opened.DevMinor == found.DevMinor && opened.Ino == found.Ino)
                    return handle;
                handle.Dispose();
                throw new IOException($"{path}: changed while it was being opened; nothing was written");
            }
            int errno = LibC.LastError;
            if (errno != LibC.EINTR) throw Error(path, "cannot open for writing", errno);
        }
    }

    private static SafeFileHandle OpenDirectory(string path, string directory)
    {
        int fd = LibC.open(directory, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = LibC.LastError;
            throw errno == LibC.ENOENT ? new IOException($"{path}: no such directory {directory}") : Error(path, $"cannot open the directory {directory}", errno);
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// An unnamed file in <paramref name="directory"/> (O_TMPFILE: whatever ends the process, even
    /// SIGKILL or a crash, leaves nothing behind), or where the filesystem cannot make one, a file
    /// with a random temporary name, created O_EXCL|O_NOFOLLOW.
    /// </summary>
    private static (int Fd, string? Name) CreateTemporary(SafeFileHandle directory, string directoryPath, string name, uint mode)
    {
        int unnamed = LibC.openat((int)directory.DangerousGetHandle(), ".", LibC.O_TMPFILE | LibC.O_RDWR | LibC.O_CLOEXEC, mode);
        if (unnamed >= 0) return (unnamed, null);
        while (true)
        {
            string temporary = TemporaryName(name);
            int fd = LibC.openat((int)directory.DangerousGetHandle(), temporary,
                LibC.O_RDWR | LibC.O_CREAT | LibC.O_EXCL | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, mode);
            if (fd >= 0) return (fd, temporary);
            int errno = LibC.LastError;
            if (errno is not (LibC.EEXIST or LibC.EINTR))
                throw Error(System.IO.Path.Combine(directoryPath, temporary), "cannot create", errno);
        }
    }

    private static string TemporaryName(string name) =>
        $".{(name.Length > MaxNameLength ? name[..MaxNameLength] : name)}.{System.IO.Path.GetRandomFileName()}.tmp";

    /// <summary>
    /// Gives the finished unnamed file a random temporary name beside the output, to be renamed over
    /// it: linkat through /proc/self/fd (or, without /proc, AT_EMPTY_PATH, which needs
    /// CAP_DAC_READ_SEARCH); linkat never replaces or follows what is at the new name.
    /// </summary>
    private static string Name(SafeFileHandle file, SafeFileHandle directory, string name, string path)
    {
        int fd = (int)file.DangerousGetHandle();
        int directoryFd = (int)directory.DangerousGetHandle();
        while (true)
        {
            string temporary = TemporaryName(name);
            int result = LibC.linkat(LibC.AT_FDCWD, $"/proc/self/fd/{fd}", directoryFd, temporary, LibC.AT_SYMLINK_FOLLOW);
            if (result != 0 && LibC.LastError == LibC.ENOENT)
                result = LibC.linkat(fd, "", directoryFd, temporary, LibC.AT_EMPTY_PATH);
            if (result == 0) return temporary;
            int errno = LibC.LastError;
            if (errno is not (LibC.EEXIST or LibC.EINTR))
                throw Error(path, "cannot name the finished file", errno);
        }
    }

    private static IOException IsDirectory(string path) => new($"{path}: is a directory, not a file to write to");

    private IOException Interrupted() => new($"{_path}: interrupted");

    private static IOException Error(string path, string what, int errno) => new($"{path}: {what}: {LibC.ErrorText(errno)}");
}
