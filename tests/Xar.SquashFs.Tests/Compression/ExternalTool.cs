using System.ComponentModel;
using System.Diagnostics;

namespace Xar.SquashFs.Tests.Compression;

/// <summary>
/// Runs a command-line tool used as an independent oracle. A missing tool fails the test with the
/// Debian package to install; nothing is skipped.
/// </summary>
internal static class ExternalTool
{
    public static byte[] Run(string tool, string debianPackage, IEnumerable<string> arguments, byte[]? stdin = null)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"{tool} is needed by this test; install the Debian package {debianPackage} (apt-get install -y {debianPackage})", e);
        }

        using (process)
        {
            var stdout = new MemoryStream();
            var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout);
            var readErr = process.StandardError.ReadToEndAsync();
            if (stdin is not null)
            {
                process.StandardInput.BaseStream.Write(stdin);
                process.StandardInput.Close();
            }
            process.WaitForExit();
            copyOut.Wait();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{tool} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {readErr.Result}");
            return stdout.ToArray();
        }
    }
}

/// <summary>A directory under the system temp directory, deleted on Dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("xar-codecs-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
