using System.Text;
using Xar.Python.Distributions;
using Xar.SquashFs.Writing;

namespace Xar.Python.Tests.Distributions;

/// <summary>The destination every source installs into: scheme mapping, shebangs, RECORD and INSTALLER, clashes.</summary>
public sealed class PythonImageDestinationTests : IDisposable
{
    private const int Regular = 0b110_100_100;
    private const string DistInfo = "tool-1.0.dist-info";

    private readonly TempDirectory _scratch = new("pydest");

    public void Dispose() => _scratch.Dispose();

    /// <summary>A source made of the files given, nothing else.</summary>
    private sealed record Source(string Origin, ShebangRewrite Shebangs, InstallRecord? Record, IReadOnlyList<DistributionFile> Files) : IDistributionSource
    {
        public IReadOnlyList<DistributionFile> GetFiles() => Files;

        public override string ToString() => Origin;
    }

    private static DistributionFile File(InstallScheme scheme, string path, string text, int mode = Regular)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return DistributionFile.File(scheme, path, FileContent.FromBytes(bytes), mode, 1_700_000_000, RecordHash.Sha256(bytes), bytes.Length);
    }

    private static Source Tool(ShebangRewrite shebangs = ShebangRewrite.WheelPlaceholder, bool writeInstaller = true, params DistributionFile[] extra) => new(
        "tool.whl", shebangs, new InstallRecord(DistInfo, Regular, 1_600_000_000, writeInstaller),
        [
            File(InstallScheme.Purelib, "tool/__init__.py", "X = 1\n"),
            File(InstallScheme.Platlib, "tool/_speed.so", "ELF"),
            File(InstallScheme.Scripts, "tool-legacy", "#!python\nimport tool\nprint(tool.X)\n"),
            File(InstallScheme.Headers, "tool/tool.h", "int tool(void);\n"),
            File(InstallScheme.Data, "share/tool/tool.1", ".TH TOOL 1\n"),
            File(InstallScheme.Purelib, $"{DistInfo}/METADATA", "Metadata-Version: 2.1\nName: tool\nVersion: 1.0\n"),
            File(InstallScheme.Purelib, $"{DistInfo}/INSTALLER", "pip\n"),
            .. extra,
        ]);

    private static IReadOnlyList<ImageEntry> Install(params IDistributionSource[] sources)
    {
        var destination = new PythonImageDestination();
        foreach (var source in sources) destination.Install(source);
        return destination.Complete();
    }

    [Fact]
    public void Each_scheme_goes_to_its_place_in_the_image_and_RECORD_names_it_from_site_packages()
    {
        var entries = Install(Tool(extra: [File(InstallScheme.Image, "__xar__/python/bin/python3.11", "ELF", 0b111_101_101)]));

        entries.Select(e => e.Path).Should().BeEquivalentTo(
            "lib/python/tool/__init__.py", "lib/python/tool/_speed.so", "bin/tool-legacy", "include/tool/tool.h", "data/share/tool/tool.1",
            "__xar__/python/bin/python3.11", $"lib/python/{DistInfo}/METADATA", $"lib/python/{DistInfo}/INSTALLER", $"lib/python/{DistInfo}/RECORD");
        entries.At("bin/tool-legacy").Permissions.Should().Be(0b111_101_101, "a script is executable whatever the source's mode");
        entries.At("include/tool/tool.h").Permissions.Should().Be(Regular);
        RecordFile.Parse(EntryContents.Text(entries.At($"lib/python/{DistInfo}/RECORD"))).Select(r => r.Path).Should().Equal(
            "tool/__init__.py", "tool/_speed.so", "../../bin/tool-legacy", "../../include/tool/tool.h", "../../data/share/tool/tool.1",
            $"{DistInfo}/METADATA", "../../__xar__/python/bin/python3.11", $"{DistInfo}/INSTALLER", $"{DistInfo}/RECORD");
    }

    [Fact]
    public void INSTALLER_is_xar_for_an_install_of_its_own_and_kept_otherwise()
    {
        EntryContents.Text(Install(Tool()).At($"lib/python/{DistInfo}/INSTALLER")).Should().Be("xar\n");
        EntryContents.Text(Install(Tool(writeInstaller: false)).At($"lib/python/{DistInfo}/INSTALLER")).Should().Be("pip\n");
    }

    [Fact]
    public void Shebangs_are_replaced_by_the_rule_of_the_source()
    {
        var installedScript = File(InstallScheme.Scripts, "tool-installed", "#!/opt/venv/bin/python3.11\nprint(2)\n");
        var placeholder = Install(Tool(ShebangRewrite.WheelPlaceholder, extra: [installedScript]));
        var anyPython = Install(Tool(ShebangRewrite.AnyPython, extra: [installedScript]));

        EntryContents.Text(placeholder.At("bin/tool-legacy")).Should().Be("#!/usr/bin/env python3\nimport tool\nprint(tool.X)\n");
        EntryContents.Text(placeholder.At("bin/tool-installed")).Should().Be("#!/opt/venv/bin/python3.11\nprint(2)\n", "a wheel's own shebang is its author's choice");
        EntryContents.Text(anyPython.At("bin/tool-installed")).Should().Be("#!/usr/bin/env python3\nprint(2)\n");
        EntryContents.Text(anyPython.At("bin/tool-legacy")).Should().StartWith("#!/usr/bin/env python3\n");
    }

    /// <summary>
    /// importlib.metadata, as the application sees it: every file RECORD lists exists where RECORD
    /// says and has the hash and size RECORD gives, the rewritten script included.
    /// </summary>
    [Fact]
    public void RECORD_holds_the_hash_of_what_was_written_as_importlib_metadata_verifies_it()
    {
        var entries = Install(Tool());
        var row = RecordFile.Parse(EntryContents.Text(entries.At($"lib/python/{DistInfo}/RECORD"))).Single(r => r.Path == "../../bin/tool-legacy");
        row.Hash.Should().Be(RecordHash.Sha256(EntryContents.Read(entries.At("bin/tool-legacy"))));

        string root = _scratch.Combine("root");
        ImageRoundTrip.Extract(entries, _scratch.Combine("image.squashfs"), root);
        string output = ImageRoundTrip.RunPython("python3", root, """
            import base64, hashlib, importlib.metadata as md
            checked = 0
            for f in md.distribution('tool').files:
                if f.hash is None:
                    continue
                data = f.locate().read_bytes()
                digest = base64.urlsafe_b64encode(hashlib.new(f.hash.mode, data).digest()).rstrip(b'=').decode()
                assert digest == f.hash.value, (str(f), digest, f.hash.value)
                assert len(data) == f.size, (str(f), len(data), f.size)
                checked += 1
            print(checked)
            """);
        output.Trim().Should().Be("7", "every file but RECORD has a hash, each of them right");
    }

    [Fact]
    public void Two_sources_writing_different_files_to_one_path_are_named_in_one_line()
    {
        var other = new Source("other.whl", ShebangRewrite.WheelPlaceholder, null, [File(InstallScheme.Purelib, "tool/__init__.py", "X = 2\n")]);

        var clash = FluentActions.Invoking(() => Install(Tool(), other)).Should().Throw<ConflictingFilesException>().Which;

        clash.Conflicts.Should().ContainSingle().Which.Should().Be("lib/python/tool/__init__.py: from tool.whl (tool.whl) and other.whl (other.whl)");
    }

    [Fact]
    public void Identical_files_from_two_sources_are_installed_once_and_a_file_where_a_directory_must_be_is_a_clash()
    {
        var same = new Source("same.whl", ShebangRewrite.WheelPlaceholder, null, [File(InstallScheme.Purelib, "tool/__init__.py", "X = 1\n")]);
        Install(Tool(), same).Count(e => e.Path == "lib/python/tool/__init__.py").Should().Be(1);

        var blocking = new Source("blocking.whl", ShebangRewrite.WheelPlaceholder, null, [File(InstallScheme.Data, "share", "not a directory\n")]);
        FluentActions.Invoking(() => Install(Tool(), blocking)).Should().Throw<ConflictingFilesException>()
            .Which.Conflicts.Should().ContainSingle().Which.Should().Be("data/share: a file from blocking.whl, but tool.whl puts data/share/tool/tool.1 inside it");
    }
}
