using System.Runtime.InteropServices;

namespace Xar.Runtime.Native;

/// <summary>
/// libc's <c>environ</c>: the native environment, which <see cref="LibC.setenv"/> changes and the
/// exec and spawn calls pass on. (.NET's Environment keeps a managed copy that these calls never see.)
/// </summary>
internal static unsafe class Environ
{
    private static byte*** s_environ;

    public static byte** Current
    {
        get
        {
            if (s_environ == null)
                s_environ = (byte***)NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "environ");
            return *s_environ;
        }
    }
}
