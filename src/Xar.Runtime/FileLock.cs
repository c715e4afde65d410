using System.Diagnostics;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>
/// An exclusive flock on a lock file, released when disposed (or when the process exits or
/// execs: the descriptor is close-on-exec). Unlike the original's blocking flock, waiting has a
/// deadline, so a hung holder makes launches fail with a message instead of hanging them all
/// (docs/xar-format.md R7).
/// </summary>
internal sealed class FileLock : IDisposable
{
    private int _fd;

    private FileLock(int fd) => _fd = fd;

    /// <summary>
    /// Opens (creating with <paramref name="mode"/>) and locks <paramref name="path"/>. When
    /// <paramref name="requireOwnedMode"/> is set, the file must be the caller's own regular file
    /// with exactly that mode, as the original demands of its lock files.
    /// </summary>
    /// <exception cref="XarRuntimeException">The file cannot be opened, is not safe, or stays locked past <paramref name="timeout"/>.</exception>
    public static FileLock Acquire(string path, int mode, bool requireOwnedMode, TimeSpan timeout, string archivePath, string purpose)
    {
        while (true)
        {
            int fd = LibC.Open(path, LibC.O_RDWR | LibC.O_CREAT | LibC.O_NOFOLLOW, (uint)mode, out int errno);
            if (fd < 0)
            {
                throw new XarRuntimeException(errno is LibC.EACCES or LibC.EROFS or LibC.EPERM ? XarExitCode.CannotCreate : XarExitCode.SystemError,
                    archivePath, $"cannot open the lock file {path}: {LibC.ErrorText(errno)}");
            }
            var fileLock = new FileLock(fd);
            try
            {
                int error = LibC.Stat(fd, out StatX stat);
                if (error != 0)
                    throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"cannot stat the lock file {path}: {LibC.ErrorText(error)}");
                if (requireOwnedMode)
                {
                    string? problem = UserIdentity.CheckOwnedEntry(stat, directory: false, mode);
                    if (problem is not null)
                        throw new XarRuntimeException(XarExitCode.UnsafePermissions, archivePath, $"the lock file {path} {problem}");
                }
                fileLock.Wait(timeout, path, archivePath, purpose);
                // `xar cache prune` deletes lock files while holding them: a lock on a file no
                // longer at the path excludes nobody, so open the path again.
                if (LibC.Stat(path, followSymlinks: false, out StatX current) == 0 && LibC.SameFile(stat, current))
                    return fileLock;
                fileLock.Dispose();
            }
            catch
            {
                fileLock.Dispose();
                throw;
            }
        }
    }

    /// <summary>Whether another holder had the lock when it was asked for: what was seen before may have changed meanwhile.</summary>
    public bool Contended { get; private set; }

    /// <summary>The locked descriptor (close-on-exec): a copy held elsewhere keeps the lock after <see cref="Dispose"/>.</summary>
    public int Descriptor => _fd;

    private void Wait(TimeSpan timeout, string path, string archivePath, string purpose)
    {
        long start = Stopwatch.GetTimestamp();
        int pause = 1;
        while (LibC.flock(_fd, LibC.LOCK_EX | LibC.LOCK_NB) != 0)
        {
            int errno = LibC.LastError;
            if (errno == LibC.EINTR)
                continue;
            if (errno != LibC.EWOULDBLOCK)
                throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"cannot lock {path}: {LibC.ErrorText(errno)}");
            Contended = true;
            if (Stopwatch.GetElapsedTime(start) > timeout)
                throw new XarRuntimeException(XarExitCode.LockTimeout, archivePath,
                    $"another launch has held {path} for more than {timeout.TotalSeconds:0} s while {purpose}; if no launch is running, something else holds it");
            Thread.Sleep(pause);
            pause = Math.Min(pause * 2, 50);
        }
    }

    /// <summary>Sets the lock file's mtime to now: the "last used" stamp clean_xar_mounts reads.</summary>
    public unsafe void Touch() => LibC.futimens(_fd, null);

    public void Dispose()
    {
        if (_fd >= 0)
        {
            LibC.close(_fd);
            _fd = -1;
        }
    }
}
