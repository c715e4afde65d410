using System.ComponentModel;

namespace Xar.SquashFs.Tests.Support;

/// <summary>
/// Runs a command-line tool used as an independent oracle. A missing tool fails the test with the
/// Debian package to install; nothing is skipped.
/// </summary>
internal static class ExternalTool
{
    public static byte[] Run(string tool, string debianPackage, IEnumerable<string> arguments, byte[]? stdin = null)
    {
        try
        {
            return Xar.Testing.Run.CheckedBytes(tool, arguments, stdin);
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"{tool} is needed by this test; install the Debian package {debianPackage} (apt-get install -y {debianPackage})", e);
        }
    }
}
