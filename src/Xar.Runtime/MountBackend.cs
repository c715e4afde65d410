using System.Diagnostics;
using System.Globalization;
using Xar.Archive;
using Xar.Fuse;
using Xar.Interop;
using Xar.SquashFs.Format;

namespace Xar.Runtime;

/// <summary>
/// A program that serves an image on a mount directory for the mount rung. Finding and probing a
/// mount (<see cref="FuseMount.Probe"/>) and detaching a stale one do not depend on which program
/// serves it; making one does.
/// </summary>
internal abstract class MountBackend
{
    /// <summary>How long a fresh mount may take to answer after its server reported success (the original: 9 s).</summary>
    private static readonly TimeSpan MountAppearTimeout = TimeSpan.FromSeconds(9);

    /// <summary>Our own server: this executable in server mode (<see cref="FuseServerMode"/>).</summary>
    public static readonly MountBackend Xar = new XarServerBackend();

    public static readonly MountBackend Squashfuse = new SquashfuseBackend();

    /// <summary>XAR_FUSE_SERVER's value naming it.</summary>
    public abstract string Name { get; }

    /// <summary>The backends to try in order: the one XAR_FUSE_SERVER names alone, else ours, then squashfuse_ll.</summary>
    public static IReadOnlyList<MountBackend> Candidates(RuntimeSettings settings) => settings.FuseServer switch
    {
        "squashfuse_ll" => [Squashfuse],
        "xar" => [Xar],
        _ => [Xar, Squashfuse],
    };

    /// <summary>Null when the backend can be tried, else why not.</summary>
    public abstract string? Unavailability(RuntimeSettings settings);

    /// <summary>
    /// Mounts the image of <paramref name="archive"/> on <paramref name="mountPath"/>, unmounting
    /// itself after <paramref name="timeoutSeconds"/> idle seconds (0: never); returns a pin
    /// descriptor on its root once it answers, or — our server — at once: requests wait in the
    /// kernel until the server answers INIT. Our server serves the archive's open descriptor;
    /// squashfuse_ll opens <paramref name="imagePath"/>.
    /// </summary>
    /// <param name="imagePath">An absolute path of the archive file: the mount's source, and what squashfuse_ll opens.</param>
    /// <param name="mountLock">The mount lock's descriptor, or -1: our server keeps a copy until it serves.</param>
    /// <exception cref="XarRuntimeException">The server failed or the mount did not appear (<see cref="XarExitCode.Unavailable"/>).</exception>
    public abstract int Mount(XarArchive archive, string imagePath, string mountPath, int timeoutSeconds, RuntimeSettings settings, int mountLock);

    /// <summary>Waits until the mount on <paramref name="mountPath"/> answers (INIT done); detaches it if it never does.</summary>
    protected int AwaitMount(string mountPath, Superblock superblock, RuntimeSettings settings, string archivePath)
    {
        long start = Stopwatch.GetTimestamp();
        int pause = 1;
        while (true)
        {
            if (FuseMount.Probe(mountPath, superblock, settings, archivePath, out int pinFd) == MountState.Mounted)
                return pinFd;
            if (Stopwatch.GetElapsedTime(start) > MountAppearTimeout)
            {
                // Should it appear after all, it must not stay half-made.
                LibC.umount2(mountPath, LibC.MNT_DETACH);
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath,
                    $"{Name} reported success but no mount appeared on {mountPath} within {MountAppearTimeout.TotalSeconds:0} s");
            }
            Thread.Sleep(pause);
            pause = Math.Min(pause * 2, 50);
        }
    }

    protected static string? FuseDeviceUnavailability() =>
        LibC.access("/dev/fuse", LibC.R_OK | LibC.W_OK) != 0 ? $"/dev/fuse is not usable: {LibC.ErrorText(LibC.LastError)}" : null;

    /// <summary>fusermount3 (or fusermount) on the search path, for users who may not mount(2).</summary>
    public static string? FindFusermount(RuntimeSettings settings) =>
        ProgramRunner.Find("fusermount3", settings.SearchPath) ?? ProgramRunner.Find("fusermount", settings.SearchPath);

    /// <summary>
    /// Whether /etc/fuse.conf has a line exactly "user_allow_other": the original then mounts with
    /// allow_root, and both backends do (fusermount3 refuses allow_root and allow_other without it).
    /// </summary>
    protected static bool FuseConfAllowsOther()
    {
        try
        {
            foreach (string line in File.ReadLines("/etc/fuse.conf"))
            {
                if (line == "user_allow_other")
                    return true;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return false;
    }

    private sealed class XarServerBackend : MountBackend
    {
        public override string Name => "xar";

        public override string? Unavailability(RuntimeSettings settings)
        {
            if (FuseDeviceUnavailability() is { } device)
                return device;
            if (LibC.geteuid() != 0 && FindFusermount(settings) is null)
                return "fusermount3 is not on PATH (install fuse3)";
            return null;
        }

        /// <remarks>
        /// The launcher mounts (mount(2) as root, fusermount3's hand-over for users) and starts the
        /// daemon with the connected descriptor; it neither waits for the daemon to serve nor probes
        /// the mount it has just made. The pin is an O_PATH descriptor: opening one sends no request,
        /// and it keeps a plain umount2 (our idle unmount) from taking the mount as any open file does.
        /// </remarks>
        public override int Mount(XarArchive archive, string imagePath, string mountPath, int timeoutSeconds, RuntimeSettings settings, int mountLock)
        {
            string archivePath = archive.Path;
            int archiveFd = (int)archive.Image.Handle.DangerousGetHandle();
            int error = LibC.Stat(archiveFd, out StatX archiveFile);
            if (error != 0)
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, $"cannot stat the open archive: {LibC.ErrorText(error)}");
            string? fusermount = FindFusermount(settings);
            // As the original asks squashfuse_ll: root may use a user's mount when the administrator lets users share theirs.
            bool allowRoot = LibC.geteuid() != 0 && FuseConfAllowsOther();
            int device;
            try
            {
                device = FuseMounter.Mount(mountPath, imagePath, allowRoot, fusermount);
            }
            catch (IOException e)
            {
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, e.Message);
            }
            try
            {
                FuseServerMode.StartDaemon(settings.FuseServerProgram,
                    FuseServerMode.Arguments(imagePath, archiveFile, archive.ImageOffset, mountPath, timeoutSeconds, fusermount, allowRoot),
                    device, archiveFd, mountLock);
            }
            catch (IOException e)
            {
                LibC.close(device);
                device = -1;
                FuseMounter.Unmount(mountPath, lazy: true, fusermount);
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, "the FUSE server failed: " + e.Message);
            }
            finally
            {
                if (device >= 0)
                    LibC.close(device);
            }
            int pin = LibC.Open(mountPath, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0, out int errno);
            if (pin < 0)
            {
                FuseMounter.Unmount(mountPath, lazy: true, fusermount);
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, $"cannot open the new mount {mountPath}: {LibC.ErrorText(errno)}");
            }
            return pin;
        }
    }

    private sealed class SquashfuseBackend : MountBackend
    {
        public override string Name => "squashfuse_ll";

        public override string? Unavailability(RuntimeSettings settings) =>
            ProgramRunner.Find("squashfuse_ll", settings.SearchPath) is null ? "squashfuse_ll is not on PATH (install squashfuse)" : FuseDeviceUnavailability();

        public override int Mount(XarArchive archive, string imagePath, string mountPath, int timeoutSeconds, RuntimeSettings settings, int mountLock)
        {
            string archivePath = archive.Path;
            string squashfuse = ProgramRunner.Find("squashfuse_ll", settings.SearchPath)
                ?? throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, "squashfuse_ll is not on PATH (install squashfuse)");
            string options = "offset=" + archive.ImageOffset.ToString(CultureInfo.InvariantCulture);
            if (timeoutSeconds > 0)
                options += ",timeout=" + timeoutSeconds.ToString(CultureInfo.InvariantCulture);
            if (FuseConfAllowsOther())
                options += ",allow_root";
            ProgramResult result;
            try
            {
                result = ProgramRunner.Run(squashfuse, "squashfuse_ll", "-o", options, imagePath, mountPath);
            }
            catch (IOException e)
            {
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, e.Message);
            }
            if (!result.Succeeded)
                throw new XarRuntimeException(XarExitCode.Unavailable, archivePath, $"cannot mount on {mountPath}: {result.Describe("squashfuse_ll")}");
            // squashfuse_ll mounts before it daemonizes, so the mount is normally there at once.
            return AwaitMount(mountPath, archive.Superblock, settings, archivePath);
        }
    }
}
