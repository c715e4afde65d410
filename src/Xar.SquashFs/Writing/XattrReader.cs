using System.Runtime.InteropServices;
using Xar.Interop;

namespace Xar.SquashFs.Writing;

/// <summary>Reads a build-host file's extended attributes without following symlinks.</summary>
internal static unsafe class XattrReader
{
    public static IReadOnlyList<KeyValuePair<string, byte[]>>? Read(PathBuffer path, Action<string>? warning)
    {
        byte[] list = ReadList(path);
        if (list.Length == 0) return null;
        var result = new List<KeyValuePair<string, byte[]>>();
        foreach (var rawName in list.Split0())
        {
            string name = System.Text.Encoding.UTF8.GetString(rawName);
            if (!XattrNames.TryParse(name, out _, out _))
            {
                warning?.Invoke($"{path}: extended attribute '{name}' cannot be stored in SquashFS (only user., trusted. and security.); skipped");
                continue;
            }
            result.Add(new(name, ReadValue(path, rawName)));
        }
        return result.Count == 0 ? null : result;
    }

    private static byte[] ReadList(PathBuffer path)
    {
        fixed (byte* p = path.Bytes)
        {
            while (true)
            {
                nint size = LibC.llistxattr(p, null, 0);
                if (size < 0) return Failed(path, "list extended attributes");
                if (size == 0) return [];
                var list = new byte[size];
                fixed (byte* l = list)
                {
                    nint n = LibC.llistxattr(p, l, size);
                    if (n >= 0) return list.AsSpan(0, (int)n).ToArray();
                    if (Marshal.GetLastPInvokeError() != LibC.ERANGE) return Failed(path, "list extended attributes");
                }
            }
        }
    }

    private static byte[] ReadValue(PathBuffer path, byte[] name)
    {
        var terminated = new byte[name.Length + 1];
        name.CopyTo(terminated, 0);
        fixed (byte* p = path.Bytes)
        fixed (byte* n = terminated)
        {
            while (true)
            {
                nint size = LibC.lgetxattr(p, n, null, 0);
                if (size < 0) return Failed(path, "read extended attribute");
                var value = new byte[size];
                fixed (byte* v = value)
                {
                    nint got = LibC.lgetxattr(p, n, v, size);
                    if (got >= 0) return value.AsSpan(0, (int)got).ToArray();
                    if (Marshal.GetLastPInvokeError() != LibC.ERANGE) return Failed(path, "read extended attribute");
                }
            }
        }
    }

    private static byte[] Failed(PathBuffer path, string what)
    {
        int errno = Marshal.GetLastPInvokeError();
        if (errno is LibC.ENOTSUP or LibC.ENODATA) return [];
        throw new SquashFsException($"{path}: cannot {what}: {LibC.ErrorText(errno)}");
    }

    private static List<byte[]> Split0(this byte[] list)
    {
        var names = new List<byte[]>();
        int start = 0;
        for (int i = 0; i <= list.Length; i++)
        {
            if (i == list.Length || list[i] == 0)
            {
                if (i > start) names.Add(list[start..i]);
                start = i + 1;
            }
        }
        return names;
    }
}

/// <summary>The namespace prefixes SquashFS can store, and their on-disk type ids.</summary>
internal static class XattrNames
{
    private static readonly string[] Prefixes = ["user.", "trusted.", "security."];

    public static bool TryParse(string fullName, out ushort prefixId, out string suffix)
    {
        for (int i = 0; i < Prefixes.Length; i++)
        {
            if (fullName.StartsWith(Prefixes[i], StringComparison.Ordinal) && fullName.Length > Prefixes[i].Length)
            {
                prefixId = (ushort)i;
                suffix = fullName[Prefixes[i].Length..];
                return true;
            }
        }
        prefixId = 0;
        suffix = "";
        return false;
    }
}
