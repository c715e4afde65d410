using System.Text.RegularExpressions;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>Flask from the pyenv 3.11 environment, built with each --bytecode mode.</summary>
public sealed class BytecodeArchives : IDisposable
{
    internal Workspace Workspace { get; } = new();

    public BytecodeArchives()
    {
        (Compiled, SourcesOnly, PycsOnly) = Workspace.DisposeIfThrows(() => (Build("compiled"), Build("none"), Build("only")));
    }

    public string Compiled { get; }

    public string SourcesOnly { get; }

    public string PycsOnly { get; }

    private string Build(string mode) =>
        XarTool.Build(Workspace.Combine($"flask-{mode}.xar"), "--from-env", Interpreters.Pyenv311, "flask", "--bytecode", mode);

    public void Dispose() => Workspace.Dispose();
}

/// <summary>
/// Imports from the archive compile nothing. Compiling a module means reading its source, and
/// CPython reads a source only to compile it or to check a checked-hash pyc. So the launch runs
/// under strace, and no `.py` under the tree may be opened, nor anything opened for writing or
/// created there (a compile would also try to write its pyc). The code comes from
/// __xar__/bytecode.bundle, opened once; no single pyc is opened. The `--bytecode none` archive is
/// the control that shows the trace sees compiles when there are some.
/// </summary>
public sealed partial class BytecodeTests(BytecodeArchives archives) : IClassFixture<BytecodeArchives>
{
    /// <summary>Modules `flask --version` imports from the archive: flask, werkzeug, click, jinja2, markupsafe, itsdangerous, blinker.</summary>
    private const int AtLeastImported = 100;

    private Workspace Workspace => archives.Workspace;

    // 1234 openat(AT_FDCWD, "/path", O_RDONLY|O_CLOEXEC) = 3    and    1234 mkdir("/path", 0777) = -1 EROFS (…);
    // a call strace splits ("<unfinished ...>") has no result here and counts as done.
    [GeneratedRegex("""^\d+\s+(?<call>openat|open|creat|mkdir|mkdirat|rename|renameat2?)\((?:AT_FDCWD, )?"(?<path>[^"]*)"(?:, (?<flags>[A-Z_|]+))?(?:.*\) = (?<result>-?\d+))?""")]
    private static partial Regex TracedCall();

    /// <summary>Sources, pycs and the bundle opened for reading, and every attempt to create or write something (paths relative to the tree).</summary>
    private sealed record Trace(List<string> SourcesRead, List<string> PycsRead, List<string> BundlesRead, List<string> Writes);

    /// <summary>
    /// Launches the archive under `strace -f` and sorts the file system calls that touched
    /// <paramref name="tree"/>. A first launch without strace mounts or extracts: strace -f would
    /// otherwise follow the squashfuse_ll daemon and wait for it to exit.
    /// </summary>
    private Trace Traced(string archive, string tree, IReadOnlyDictionary<string, string?>? environment = null)
    {
        Workspace.Launch(archive, ["--version"], environment).ExitCode.Should().Be(0);
        string log = Workspace.Combine($"strace-{Guid.NewGuid():N}.log");
        var result = Run.Program("strace", ["-f", "-qq", "-o", log, "-e", "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2", archive, "--version"],
            environment, cleanEnvironment: true, workingDirectory: "/");
        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().StartWith("Python 3.11");

        var trace = new Trace([], [], [], []);
        foreach (string line in File.ReadLines(log))
        {
            var call = TracedCall().Match(line);
            if (!call.Success || !call.Groups["path"].Value.StartsWith(tree + "/", StringComparison.Ordinal))
                continue;
            string path = call.Groups["path"].Value[(tree.Length + 1)..];
            string flags = call.Groups["flags"].Value;
            if (call.Groups["call"].Value is not ("open" or "openat") || flags.Contains("O_WRONLY") || flags.Contains("O_RDWR") || flags.Contains("O_CREAT"))
                trace.Writes.Add(line); // attempts count, failed ones too: the mount is read-only
            else if (call.Groups["result"].Value.StartsWith('-'))
                continue; // looked for and not there: the path finder probing
            else if (path.EndsWith(".py", StringComparison.Ordinal))
                trace.SourcesRead.Add(path);
            else if (path.EndsWith(".pyc", StringComparison.Ordinal))
                trace.PycsRead.Add(path);
            else if (path == "__xar__/bytecode.bundle")
                trace.BundlesRead.Add(path);
        }
        return trace;
    }

    [Fact]
    public void Imports_from_a_mount_compile_nothing()
    {
        var trace = Traced(archives.Compiled, Workspace.MountDirectory(archives.Compiled));

        trace.SourcesRead.Should().BeEmpty();
        trace.Writes.Should().BeEmpty();
        trace.BundlesRead.Should().ContainSingle();
        trace.PycsRead.Should().Equal("__xar__/__pycache__/xar_bootstrap.cpython-311.pyc", "__xar__/__pycache__/xar_app.cpython-311.pyc");
    }

    [Fact]
    public void Imports_from_an_extraction_compile_nothing_and_leave_it_unchanged()
    {
        string tree = Workspace.ExtractionDirectory(archives.Compiled);
        Workspace.Launch(archives.Compiled, ["--version"], Workspace.Extraction).ExitCode.Should().Be(0);
        var before = Snapshot(tree);

        var trace = Traced(archives.Compiled, tree, Workspace.Extraction);

        trace.SourcesRead.Should().BeEmpty();
        trace.Writes.Should().BeEmpty();
        trace.BundlesRead.Should().ContainSingle();
        trace.PycsRead.Should().HaveCount(2, "only the bootstrap's own come from pycs");
        Snapshot(tree).Should().Equal(before);
    }

    [Fact]
    public void Without_bytecode_the_same_trace_sees_every_import_compiled()
    {
        var trace = Traced(archives.SourcesOnly, Workspace.MountDirectory(archives.SourcesOnly));

        trace.SourcesRead.Should().Contain("lib/python/flask/__init__.py").And.HaveCountGreaterThan(AtLeastImported);
        trace.Writes.Should().BeEmpty("the archive's interpreter runs with -B: it does not even try to write the pycs of what it compiles");
        trace.PycsRead.Where(p => p.StartsWith("lib/", StringComparison.Ordinal)).Should().BeEmpty();
        trace.BundlesRead.Should().BeEmpty();
    }

    [Fact]
    public void Sourceless_archives_import_their_pycs_and_ship_no_sources()
    {
        var trace = Traced(archives.PycsOnly, Workspace.MountDirectory(archives.PycsOnly));
        var listing = XarTool.Run("ls", archives.PycsOnly, "lib/python/flask");

        trace.SourcesRead.Should().BeEmpty();
        trace.Writes.Should().BeEmpty();
        trace.BundlesRead.Should().ContainSingle();
        trace.PycsRead.Where(p => p.StartsWith("lib/", StringComparison.Ordinal)).Should().BeEmpty("the bundle holds the sourceless modules too");
        listing.Stdout.Should().Contain("app.pyc").And.NotContain("app.py\n").And.NotContain("__pycache__");
    }

    [Fact]
    public void Python_images_have_1_MiB_blocks_and_zstd_level_12_unless_told()
    {
        var info = XarTool.Run("info", archives.Compiled, "--json");
        var given = XarTool.Run("info", XarTool.Build(Workspace.Combine("flask-128k.xar"), "--from-env", Interpreters.Pyenv311, "flask", "-b", "128K", "--level", "15"), "--json");

        var image = System.Text.Json.JsonDocument.Parse(info.Stdout).RootElement.GetProperty("image");
        var givenImage = System.Text.Json.JsonDocument.Parse(given.Stdout).RootElement.GetProperty("image");
        image.GetProperty("blockSize").GetInt32().Should().Be(1 << 20);
        image.GetProperty("level").GetInt32().Should().Be(12);
        givenImage.GetProperty("blockSize").GetInt32().Should().Be(128 << 10);
        givenImage.GetProperty("level").GetInt32().Should().Be(15);
    }

    /// <summary>Every entry under <paramref name="tree"/> with its size and modification time.</summary>
    private static List<string> Snapshot(string tree) =>
        Directory.EnumerateFileSystemEntries(tree, "*", SearchOption.AllDirectories)
            .Select(path => new FileInfo(path))
            .Select(info => $"{info.FullName} {(info.Attributes.HasFlag(FileAttributes.Directory) ? -1 : info.Length)} {info.LastWriteTimeUtc.Ticks}")
            .Order(StringComparer.Ordinal)
            .ToList();
}
