using System.Runtime.InteropServices;

namespace Xar.Interop;

/// <summary>
/// What differs between the two machines the launcher is published for (linux-x64, linux-arm64),
/// chosen by <see cref="RuntimeInformation.ProcessArchitecture"/>. Everything else in this class
/// (statx, statfs, dirent64, open_how, msghdr, the openat2 number, errno values, the other open
/// flags) is the same on both.
/// </summary>
public static partial class LibC
{
    private static bool IsArm64 => RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    // O_DIRECTORY and O_NOFOLLOW (so O_TMPFILE) are not generic: arm64 has its own values, and
    // x86-64's mean O_DIRECT and O_LARGEFILE there (an O_DIRECT open fails on tmpfs; O_NOFOLLOW
    // would silently follow symlinks).
    public static readonly int O_NOFOLLOW = IsArm64 ? 0x8000 : 0x20000;
    public static readonly int O_DIRECTORY = IsArm64 ? 0x4000 : 0x10000;
    public static readonly int O_TMPFILE = 0x400000 | O_DIRECTORY; // __O_TMPFILE | O_DIRECTORY
}
