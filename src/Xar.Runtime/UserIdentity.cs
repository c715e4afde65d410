using Xar.Interop;


namespace Xar.Runtime;

/// <summary>The effective user and groups, for the original's ownership checks.</summary>
internal static unsafe class UserIdentity
{
    public static uint EffectiveUid => LibC.geteuid();

    /// <summary>Whether a file of group <paramref name="gid"/> belongs to the caller: the effective group or a supplementary one.</summary>
    public static bool IsOwnGroup(uint gid)
    {
        if (gid == LibC.getegid())
            return true;
        int count = LibC.getgroups(0, null);
        if (count <= 0)
            return false;
        uint* groups = stackalloc uint[count];
        count = LibC.getgroups(count, groups);
        for (int i = 0; i < count; i++)
        {
            if (groups[i] == gid)
                return true;
        }
        return false;
    }

    /// <summary>
    /// Null when <paramref name="stat"/> is owned by the caller (user and a group of the caller),
    /// has the type wanted and exactly the permission bits <paramref name="mode"/>; otherwise why not.
    /// The original's check_file_sanity: it stops another user from pre-creating our directories.
    /// </summary>
    public static string? CheckOwnedEntry(in StatX stat, bool directory, int mode)
    {
        if (directory ? !stat.IsDirectory : !stat.IsRegularFile)
            return directory ? "is not a directory" : "is not a regular file";
        if (stat.Uid != EffectiveUid)
            return $"is owned by uid {stat.Uid}, not {EffectiveUid}";
        if (!IsOwnGroup(stat.Gid))
            return $"has group {stat.Gid}, which is not one of the caller's";
        if (stat.Permissions != mode)
            return $"has mode {Octal(stat.Permissions)}, not {Octal(mode)}";
        return null;
    }

    public static string Octal(int mode) => "0" + Convert.ToString(mode, 8);
}
