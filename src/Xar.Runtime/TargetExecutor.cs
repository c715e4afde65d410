using System.Globalization;
using System.Runtime.InteropServices;
using Xar.Archive;
using Xar.Interop;

namespace Xar.Runtime;

/// <summary>Who launched the archive and how, for the target's environment.</summary>
/// <param name="ArchiveFullPath">The archive's absolute path (XAR_PATH).</param>
/// <param name="InvokedName">The archive path as the caller typed it (XAR_INVOKED_NAME; the original passes it as $1).</param>
/// <param name="LaunchTimestamp">Seconds since the epoch with 6 decimals, taken when the launcher started (XAREXEC_LAUNCH_TIMESTAMP).</param>
public sealed record LaunchContext(string ArchiveFullPath, string InvokedName, string LaunchTimestamp)
{
    /// <summary>Now, formatted as the original formats XAREXEC_LAUNCH_TIMESTAMP.</summary>
    public static string Timestamp()
    {
        long microseconds = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
        return (microseconds / 1_000_000).ToString(CultureInfo.InvariantCulture) + "." +
            (microseconds % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Replaces the launcher with the archive's target (docs/launcher.md): execve, so the target
/// keeps the caller's pid, arguments, environment, cwd, standard streams and signal handling,
/// and its exit status — or its death by a signal — is what the caller sees.
/// </summary>
public static unsafe class TargetExecutor
{
    /// <summary>Descriptors below this are left to the target's own use (shells redirect 0–9).</summary>
    private const int LowestPinDescriptor = 10;

    private const nint SignalDefault = 0;

    /// <summary>
    /// Executes the archive's start command (XAR_START_PROGRAM, or the Python keys of earlier
    /// builders; see <see cref="StartCommand.FromHeader"/>) when it has one, else XAR_TARGET (else
    /// XAREXEC_TARGET) from <paramref name="tree"/>. Archives of this xar (they carry XAR_FORMAT) run
    /// the target itself with argv = [target path, arguments…]; archives of the original builder keep
    /// its convention, <c>/bin/sh -e &lt;target&gt; &lt;archive as typed&gt; arguments…</c>, which their
    /// bootstrap scripts expect. Returns only by throwing.
    /// </summary>
    /// <exception cref="XarRuntimeException">No target, a target that is not a file of the image, or execve failed.</exception>
    public static void Exec(XarArchive archive, PreparedTree tree, LaunchContext launch, IReadOnlyList<string> arguments)
    {
        string archivePath = archive.Path;
        StartCommand? start = StartCommand.FromHeader(archive.Header, archivePath);
        // XAR_TARGET, where present, is the real target behind a wrapper meant for the original runtime.
        string target = start is null ? ValidTarget(archive.Header.Format is null ? archive.Header.XarexecTarget : archive.Header.Target ?? archive.Header.XarexecTarget, archivePath) : "";
        // The file the target names in the image, symlinks resolved there: never one outside the tree.
        string targetPath = start is null ? ImageTarget.Resolve(archive, tree, target) : "";

        string[] argv;
        string program;
        if (start is not null)
        {
            (program, argv) = TargetStart.Resolve(start, archive, tree, arguments, Environment.GetEnvironmentVariable("PATH"));
        }
        else if (archive.Header.Format is null)
        {
            program = "/bin/sh";
            argv = ["/bin/sh", "-e", targetPath, launch.InvokedName, .. arguments];
        }
        else
        {
            // argv[0] is the target as named, so a program that looks at its name (a multi-call
            // binary behind a symlink) sees the name it was started by.
            program = targetPath;
            argv = [tree.Directory + "/" + target, .. arguments];
        }

        int inheritedPin = -1;
        if (tree.PinDescriptor >= 0)
        {
            // F_DUPFD makes a copy without close-on-exec: the target inherits it, and with it
            // the mount stays busy for squashfuse_ll's idle timeout while the target runs.
            inheritedPin = LibC.fcntl(tree.PinDescriptor, LibC.F_DUPFD, LowestPinDescriptor);
            if (inheritedPin < 0)
                throw new XarRuntimeException(XarExitCode.SystemError, archivePath, $"cannot duplicate the mount descriptor: {LibC.ErrorText(LibC.LastError)}");
        }

        string? libraryPath = HostLibraries.LibraryPath(archive.Header, tree.Directory, Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"), archivePath);
        SetEnvironment(tree, launch, archive.Header.ImageSha256, inheritedPin, libraryPath);
        foreach (string variable in start?.Environment ?? [])
        {
            int equals = variable.IndexOf('=');
            SetEnv(variable[..equals], StartCommand.Expand(variable[(equals + 1)..], tree.Directory));
        }
        // The .NET runtime ignores SIGPIPE, and an ignored signal stays ignored across execve;
        // the target must get the default (die on a closed pipe) as it would if run directly.
        LibC.signal(LibC.SIGPIPE, SignalDefault);

        int errno = ExecVe(program, argv);

        if (inheritedPin >= 0)
            LibC.close(inheritedPin);
        throw errno switch
        {
            LibC.ENOENT when program == targetPath => new XarRuntimeException(XarExitCode.TargetNotFound, archivePath,
                $"XAREXEC_TARGET \"{target}\" is not in the image (looked for {targetPath})"),
            LibC.ENOENT => new XarRuntimeException(XarExitCode.CannotExecute, archivePath, $"cannot execute {program}: {LibC.ErrorText(errno)}"),
            LibC.ENOEXEC => new XarRuntimeException(XarExitCode.CannotExecute, archivePath,
                $"cannot execute {targetPath}: not an executable format (an ELF file, or a script starting with #!)"),
            _ => new XarRuntimeException(XarExitCode.CannotExecute, archivePath, $"cannot execute {program}: {LibC.ErrorText(errno)}"),
        };
    }

    /// <summary>XAREXEC_TARGET must name a path inside the tree (the original joined it unchecked, docs/xar-format.md R13).</summary>
    private static string ValidTarget(string? target, string archivePath)
    {
        if (target is null)
            throw new XarRuntimeException(XarExitCode.TargetNotFound, archivePath,
                "the header has no XAREXEC_TARGET, so there is nothing to run (use xarexec -m to mount it)");
        if (!ImagePaths.IsInside(target))
            throw new XarRuntimeException(XarExitCode.BadArchive, archivePath, $"XAREXEC_TARGET \"{target}\" {ImagePaths.NotInside}");
        return target;
    }

    /// <summary>
    /// The original's contract (XAREXEC_LAUNCH_TIMESTAMP; XARFUSE_NEW_MOUNT=1 only when this
    /// launch mounted or extracted — cleared otherwise, so that a nested launch does not inherit
    /// it) plus ours: where the archive and its tree are, how the tree was provided, and which
    /// image it is (the key of per-image caches, docs/python-apps.md §8); and the image's library
    /// directories in front of LD_LIBRARY_PATH, the host's value kept aside.
    /// </summary>
    private static void SetEnvironment(PreparedTree tree, LaunchContext launch, string? imageSha256, int inheritedPin, string? libraryPath)
    {
        if (libraryPath is not null)
        {
            if (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") is { } host)
                SetEnv("XAR_HOST_LD_LIBRARY_PATH", host);
            else
                LibC.unsetenv("XAR_HOST_LD_LIBRARY_PATH");
            SetEnv("LD_LIBRARY_PATH", libraryPath);
        }
        SetEnv("XAREXEC_LAUNCH_TIMESTAMP", launch.LaunchTimestamp);
        if (tree.Created)
            SetEnv("XARFUSE_NEW_MOUNT", "1");
        else
            LibC.unsetenv("XARFUSE_NEW_MOUNT");
        SetEnv("XAR_PATH", launch.ArchiveFullPath);
        SetEnv("XAR_INVOKED_NAME", launch.InvokedName);
        SetEnv("XAR_MOUNT", tree.Directory);
        SetEnv("XAR_RUN_MODE", tree.Kind == TreeKind.Mount ? "mount" : "extract");
        if (imageSha256 is not null)
            SetEnv("XAR_IMAGE_SHA256", imageSha256);
        else
            LibC.unsetenv("XAR_IMAGE_SHA256");
        if (inheritedPin >= 0)
            SetEnv("XAR_MOUNT_FD", inheritedPin.ToString(CultureInfo.InvariantCulture));
        else
            LibC.unsetenv("XAR_MOUNT_FD");
    }

    private static void SetEnv(string name, string value)
    {
        fixed (byte* namePointer = LibC.Utf8Z(name))
        fixed (byte* valuePointer = LibC.Utf8Z(value))
            LibC.setenv(namePointer, valuePointer, 1);
    }

    /// <summary>execve with the native environment; returns errno when it fails.</summary>
    private static int ExecVe(string program, string[] argv)
    {
        byte[][] strings = new byte[argv.Length + 1][];
        strings[0] = LibC.Utf8Z(program);
        for (int i = 0; i < argv.Length; i++)
            strings[i + 1] = LibC.Utf8Z(argv[i]);
        var handles = new GCHandle[strings.Length];
        byte** pointers = (byte**)NativeMemory.Alloc((nuint)(argv.Length + 1), (nuint)sizeof(byte*));
        try
        {
            for (int i = 0; i < strings.Length; i++)
                handles[i] = GCHandle.Alloc(strings[i], GCHandleType.Pinned);
            for (int i = 0; i < argv.Length; i++)
                pointers[i] = (byte*)handles[i + 1].AddrOfPinnedObject();
            pointers[argv.Length] = null;
            LibC.execve((byte*)handles[0].AddrOfPinnedObject(), pointers, Environ.Current);
            return LibC.LastError;
        }
        finally
        {
            NativeMemory.Free(pointers);
            foreach (GCHandle handle in handles)
            {
                if (handle.IsAllocated)
                    handle.Free();
            }
        }
    }
}
