using System.Text;
using Xar.Archive;
using Xar.Python.Building;
using Xar.Python.Standards;
using Xar.SquashFs.Writing;

namespace Xar.Runtime.Tests;

/// <summary>A Python archive made by the real builder (src/Xar.Python), run by the launcher in both layouts.</summary>
public sealed class PythonArchiveTests : IDisposable
{
    private const string Python311 = "/usr/bin/python3.11";

    private static readonly Lazy<InterpreterProbe> Probe = new(() => InterpreterProbe.Run(Python311));

    private readonly Sandbox _sandbox = new();

    public PythonArchiveTests()
    {
        // The builder writes no MOUNT_ROOT and the same image, so the same UUID, every time: without
        // a seed of its own, every run of this class on the host would share one mount in /dev/shm.
        _sandbox.Environment["XAR_MOUNT_SEED"] = Guid.NewGuid().ToString("N");
    }

    public void Dispose() => _sandbox.Dispose();

    private static ImageEntry File(string path, string text) =>
        ImageEntry.File(path, FileContent.FromBytes(Encoding.UTF8.GetBytes(text)), 0b110_100_100, 1_700_000_000);

    private string Build(XarLayout layout)
    {
        var application = new PythonApplication
        {
            RootDistribution = "hello-app",
            Scripts = [new EntryPoint("console_scripts", "hello", "hello_app.cli", "main", [])],
            Files =
            [
                File("lib/python/hello_app/__init__.py", ""),
                File("lib/python/hello_app/cli.py",
                    "import os, sys\n" +
                    "def main():\n" +
                    "    print(os.path.basename(sys.argv[0]), sys.argv[1:], os.environ['XAR_RUN_MODE'])\n" +
                    "    print('host site-packages:', [p for p in sys.path if 'site-packages' in p])\n" +
                    "    return len(sys.argv) - 1\n"),
                File("lib/python/hello_app-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: hello-app\nVersion: 1.0\n"),
            ],
        };
        string archive = Path.Combine(_sandbox.Root, $"hello-{layout}.xar".ToLowerInvariant());
        using FileStream? launcher = layout == XarLayout.Self ? System.IO.File.OpenRead(Launcher.Path) : null;
        PythonArchiveBuilder.Build(application, new PythonArchiveOptions { Interpreter = Probe.Value, Layout = layout, Launcher = launcher }, archive);
        return archive;
    }

    [Theory]
    [InlineData(XarLayout.Xarexec)]
    [InlineData(XarLayout.Self)]
    public void The_launcher_starts_the_interpreter_and_the_entry_point_sees_the_invoked_name_and_arguments(XarLayout layout)
    {
        string archive = Build(layout);

        RunResult mounted = _sandbox.Launch(archive, ["a b", "c"]);
        RunResult extracted = _sandbox.Launch(archive, ["x"], extraEnvironment: new Dictionary<string, string?> { ["XAR_MODE"] = "extract" });

        string name = Path.GetFileName(archive);
        mounted.ExitCode.Should().Be(2, mounted.ToString());
        mounted.Stdout.Should().Be($"{name} ['a b', 'c'] mount\nhost site-packages: []\n");
        extracted.ExitCode.Should().Be(1, extracted.ToString());
        extracted.Stdout.Should().Be($"{name} ['x'] extract\nhost site-packages: []\n");
    }
}
