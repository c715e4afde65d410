using Xar.Runtime.Native;

using StatX = Xar.SquashFs.Native.StatX;

namespace Xar.Runtime;

/// <summary>statx of an open descriptor.</summary>
internal static unsafe class FileStatus
{
    private const int AtEmptyPath = 0x1000;

    /// <summary>0, or the errno of the failed statx.</summary>
    public static int OfDescriptor(int fd, out StatX stat)
    {
        StatX result;
        int rc = LibC.statx(fd, "", AtEmptyPath, StatX.BasicStats, &result);
        stat = result;
        return rc == 0 ? 0 : LibC.LastError;
    }
}
