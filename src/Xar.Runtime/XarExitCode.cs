namespace Xar.Runtime;

/// <summary>
/// Exit statuses of the launcher when it fails before the target runs (docs/launcher.md).
/// Once the target is executed, the status is the target's own. Values follow sysexits.h where
/// one fits, and the shell's 126/127 for a target that cannot be executed or is missing, so that
/// none of them collides with 128+N, the shell's status for death by signal N.
/// </summary>
public enum XarExitCode
{
    /// <summary>A command line the launcher does not understand (EX_USAGE).</summary>
    Usage = 64,

    /// <summary>The file is not a valid archive: bad header, truncated or corrupt image, hash mismatch, unsafe target path (EX_DATAERR).</summary>
    BadArchive = 65,

    /// <summary>The archive file cannot be opened or read (EX_NOINPUT).</summary>
    CannotOpen = 66,

    /// <summary>No rung could provide the tree: FUSE unavailable or mounting failed, and extraction was not possible or not allowed (EX_UNAVAILABLE).</summary>
    Unavailable = 69,

    /// <summary>This host cannot run the archive: its glibc is older than XAR_REQUIRES_GLIBC (EX_NOHOST, "host unknown", the nearest).</summary>
    HostTooOld = 68,

    /// <summary>An unexpected failure inside the launcher (EX_SOFTWARE).</summary>
    Internal = 70,

    /// <summary>A system call failed unexpectedly (EX_OSERR).</summary>
    SystemError = 71,

    /// <summary>No directory to mount in or extract to could be created or written (EX_CANTCREAT).</summary>
    CannotCreate = 73,

    /// <summary>Another launch held the lock of this archive for longer than the wait allows (EX_TEMPFAIL).</summary>
    LockTimeout = 75,

    /// <summary>A mount root, per-user directory or lock file has the wrong owner or mode; or the launcher runs set-uid (EX_NOPERM).</summary>
    UnsafePermissions = 77,

    /// <summary>An XAR_* environment variable has a value the launcher does not accept (EX_CONFIG).</summary>
    BadConfiguration = 78,

    /// <summary>The target exists but could not be executed (the shell's 126).</summary>
    CannotExecute = 126,

    /// <summary>The archive has no XAREXEC_TARGET, or the target is not in the image (the shell's 127).</summary>
    TargetNotFound = 127,
}

/// <summary>
/// A launch failed. The message is one line: the archive, then the cause, so the launcher
/// prints <c>xarexec: &lt;message&gt;</c> and exits with <see cref="ExitCode"/>.
/// </summary>
public sealed class XarRuntimeException : Exception
{
    public XarRuntimeException(XarExitCode exitCode, string archivePath, string cause)
        : base($"{archivePath}: {cause}")
    {
        ExitCode = exitCode;
        Cause = cause;
    }

    public XarExitCode ExitCode { get; }

    public string Cause { get; }
}
