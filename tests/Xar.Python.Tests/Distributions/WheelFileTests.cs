using System.Text;
using Xar.Python.Distributions;
using Xar.SquashFs.Writing;

namespace Xar.Python.Tests.Distributions;

/// <summary>Wheels written by the tests: the layout of every scheme, and every way a wheel can be broken.</summary>
public sealed class WheelFileTests : IDisposable
{
    private readonly TempDirectory _scratch = new("pydist");
    private readonly List<WheelFile> _opened = [];

    public void Dispose()
    {
        foreach (var wheel in _opened) wheel.Dispose();
        _scratch.Dispose();
    }

    private static TestWheel Demo() => new TestWheel
    {
        Name = "demo-app",
        Version = "1.2",
        EntryPoints = "[console_scripts]\ndemo = demo.cli:main\n",
    }
        .With("demo/__init__.py", "VERSION = '1.2'\n")
        .With("demo/cli.py", "def main():\n    return 3\n")
        .With("demo/_native.so", "ELF", 0b111_101_101)
        .With("demo_app-1.2.data/purelib/demo_extra.py", "EXTRA = 1\n")
        .With("demo_app-1.2.data/platlib/demo_plat.py", "PLAT = 1\n")
        .With("demo_app-1.2.data/scripts/demo-legacy", "#!python\nimport demo\nprint(demo.VERSION)\n")
        .With("demo_app-1.2.data/scripts/demo-shell", "#!/bin/sh\necho shell\n")
        .With("demo_app-1.2.data/headers/demo.h", "#define DEMO 1\n")
        .With("demo_app-1.2.data/data/share/demo/readme.txt", "data\n");

    private ImageEntry[] EntriesOf(TestWheel wheel)
    {
        var file = WheelFile.Open(wheel.WriteTo(_scratch.Path));
        _opened.Add(file);
        return file.GetImageEntries().ToArray();
    }

    [Fact]
    public void Every_scheme_lands_where_docs_python_apps_says()
    {
        using var wheel = WheelFile.Open(Demo().WriteTo(_scratch.Path));
        var entries = wheel.GetImageEntries();

        entries.Select(e => e.Path).Should().BeEquivalentTo(
            "lib/python/demo/__init__.py",
            "lib/python/demo/cli.py",
            "lib/python/demo/_native.so",
            "lib/python/demo_extra.py",
            "lib/python/demo_plat.py",
            "bin/demo-legacy",
            "bin/demo-shell",
            "include/demo-app/demo.h",
            "data/share/demo/readme.txt",
            "lib/python/demo_app-1.2.dist-info/METADATA",
            "lib/python/demo_app-1.2.dist-info/WHEEL",
            "lib/python/demo_app-1.2.dist-info/entry_points.txt",
            "lib/python/demo_app-1.2.dist-info/INSTALLER",
            "lib/python/demo_app-1.2.dist-info/RECORD");
        entries.Should().OnlyContain(e => e.Type == ImageEntryType.File);
        wheel.Name.Should().Be("demo-app");
        wheel.VersionText.Should().Be("1.2");
        wheel.EntryPoints.ConsoleScripts.Should().ContainSingle().Which.Value.Should().Be("demo.cli:main");
    }

    [Fact]
    public void Scripts_are_executable_and_get_a_portable_shebang_only_when_marked_python()
    {
        var entries = EntriesOf(Demo());

        var legacy = entries.At("bin/demo-legacy");
        EntryContents.Text(legacy).Should().Be("#!/usr/bin/env python3\nimport demo\nprint(demo.VERSION)\n");
        legacy.Content!.Length.Should().Be(EntryContents.Read(legacy).Length);
        legacy.Permissions.Should().Be(0b111_101_101);

        var shell = entries.At("bin/demo-shell");
        EntryContents.Text(shell).Should().Be("#!/bin/sh\necho shell\n");
        shell.Permissions.Should().Be(0b111_101_101);
    }

    [Fact]
    public void Modes_come_from_the_zip_attributes()
    {
        var entries = EntriesOf(Demo());
        entries.At("lib/python/demo/_native.so").Permissions.Should().Be(0b111_101_101);
        entries.At("lib/python/demo/cli.py").Permissions.Should().Be(0b110_100_100);
    }

    [Fact]
    public void Zip_times_are_read_as_UTC_whatever_the_local_zone()
    {
        var entries = EntriesOf(Demo());
        entries.At("lib/python/demo/cli.py").ModificationTime.Should().Be(new DateTimeOffset(2024, 5, 6, 7, 8, 10, TimeSpan.Zero).ToUnixTimeSeconds());
    }

    [Fact]
    public void The_new_RECORD_lists_installed_paths_with_hashes_that_match_the_image_contents()
    {
        var entries = EntriesOf(Demo());
        var record = RecordFile.Parse(EntryContents.Text(entries.At("lib/python/demo_app-1.2.dist-info/RECORD")));
        EntryContents.Text(entries.At("lib/python/demo_app-1.2.dist-info/INSTALLER")).Should().Be("xar\n");

        record.Select(r => r.Path).Should().BeEquivalentTo(entries.Select(e => PythonImageLayout.FromSitePackages(e.Path)));
        record.Should().Contain(r => r.Path == "../../bin/demo-legacy");
        foreach (var row in record.Where(r => r.Hash is not null))
        {
            var entry = entries.At(row.Path.StartsWith("../../", StringComparison.Ordinal) ? row.Path[6..] : "lib/python/" + row.Path);
            byte[] content = EntryContents.Read(entry);
            row.Hash!.Should().Be(RecordHash.Sha256(content), row.Path);
            row.Size.Should().Be(content.Length);
        }
        record.Single(r => r.Path.EndsWith("/RECORD", StringComparison.Ordinal)).Hash.Should().BeNull();
    }

    [Fact]
    public void Contents_stream_from_the_zip_on_many_threads_at_once()
    {
        var wheel = new TestWheel { Name = "many" };
        var expected = new Dictionary<string, byte[]>();
        var random = new Random(4);
        for (int i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 70_000)];
            random.NextBytes(bytes);
            wheel.Files.Add(($"many/file{i}.bin", bytes, null));
            expected[$"lib/python/many/file{i}.bin"] = bytes;
        }
        using var file = WheelFile.Open(wheel.WriteTo(_scratch.Path));
        var entries = file.GetImageEntries().Where(e => expected.ContainsKey(e.Path)).ToArray();

        Parallel.ForEach(Enumerable.Range(0, 3).SelectMany(_ => entries), new ParallelOptions { MaxDegreeOfParallelism = 8 }, entry =>
        {
            EntryContents.Read(entry).Should().Equal(expected[entry.Path]);
            entry.Content!.Length.Should().Be(expected[entry.Path].Length);
        });
    }

    [Fact]
    public void A_content_that_differs_from_RECORD_fails_when_read_naming_wheel_and_file()
    {
        var wheel = Demo();
        var tampered = new TestWheel
        {
            Name = wheel.Name,
            Version = wheel.Version,
            Files = wheel.Files,
            EditRecord = rows => rows.Select(r => r[0] == "demo/cli.py" ? [r[0], "sha256=" + TestWheel.Hash("def main(): pass\n"u8.ToArray()), r[2]] : r).ToList(),
        };
        string path = tampered.WriteTo(_scratch.Path);
        using var file = WheelFile.Open(path);
        var cli = file.GetImageEntries().At("lib/python/demo/cli.py");

        var read = () => EntryContents.Read(cli);
        read.Should().Throw<InvalidWheelException>()
            .Which.Message.Should().Contain(path).And.Contain("demo/cli.py").And.Contain("sha256").And.Contain("RECORD says");
    }

    [Fact]
    public void A_hash_mismatch_also_fails_the_image_writer()
    {
        var tampered = new TestWheel
        {
            Name = "tampered",
            EditRecord = rows => rows.Select(r => r[0] == "tampered/big.bin" ? [r[0], "sha256=" + TestWheel.Hash([1, 2, 3]), r[2]] : r).ToList(),
        };
        tampered.Files.Add(("tampered/big.bin", new byte[300_000], null));
        using var file = WheelFile.Open(tampered.WriteTo(_scratch.Path));
        var writer = new SquashFsWriter();
        foreach (var entry in file.GetImageEntries()) writer.Add(entry);

        var write = () => writer.WriteTo(new MemoryStream());
        write.Should().Throw<Exception>().Which.Message.Should().Contain("tampered/big.bin").And.Contain("RECORD says");
    }

    [Fact]
    public void METADATA_that_differs_from_RECORD_is_refused_at_open_before_it_is_believed()
    {
        var tampered = new TestWheel
        {
            EditRecord = rows => rows.Select(r => r[0].EndsWith("/METADATA", StringComparison.Ordinal) ? [r[0], "sha256=" + TestWheel.Hash("Name: demo\nVersion: 1.0\n"u8.ToArray()), r[2]] : r).ToList(),
        };
        Open(tampered).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("demo-1.0.dist-info/METADATA: its sha256 is");
    }

    [Fact]
    public void A_size_that_differs_from_RECORD_is_refused_at_open()
    {
        var wheel = Demo();
        var tampered = new TestWheel
        {
            Name = wheel.Name,
            Version = wheel.Version,
            Files = wheel.Files,
            EditRecord = rows => rows.Select(r => r[0] == "demo/cli.py" ? [r[0], r[1], "5"] : r).ToList(),
        };
        Open(tampered).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("demo/cli.py is 25 bytes, RECORD says 5");
    }

    [Fact]
    public void A_member_missing_from_RECORD_is_refused()
    {
        var wheel = Demo();
        wheel.Unlisted.Add(("demo/sneaky.py", "import os\n"u8.ToArray()));
        Open(wheel).Should().Throw<InvalidWheelException>().Which.Message.Should().EndWith("demo/sneaky.py is not listed in RECORD");
    }

    [Fact]
    public void A_RECORD_row_without_a_member_is_refused()
    {
        var wheel = new TestWheel { EditRecord = rows => [.. rows, ["demo/ghost.py", "sha256=" + TestWheel.Hash([]), "0"]] };
        Open(wheel).Should().Throw<InvalidWheelException>().Which.Message.Should().EndWith("RECORD lists demo/ghost.py, which is not in the wheel");
    }

    [Fact]
    public void A_RECORD_row_without_a_hash_or_with_a_weak_one_is_refused()
    {
        var noHash = new TestWheel { EditRecord = rows => rows.Select(r => r[0].EndsWith("METADATA", StringComparison.Ordinal) ? [r[0], "", r[2]] : r).ToList() };
        Open(noHash).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("RECORD has no hash for demo-1.0.dist-info/METADATA");

        var md5 = new TestWheel { EditRecord = rows => rows.Select(r => r[0].EndsWith("METADATA", StringComparison.Ordinal) ? [r[0], "md5=abc", r[2]] : r).ToList() };
        Open(md5).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("with md5");
    }

    [Fact]
    public void An_empty_file_with_a_wrong_hash_is_refused_at_open()
    {
        var wheel = new TestWheel { EditRecord = rows => rows.Select(r => r[0] == "demo/empty.py" ? [r[0], "sha256=" + TestWheel.Hash([1]), r[2]] : r).ToList() }
            .With("demo/empty.py", "");
        Open(wheel).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("demo/empty.py is empty");
    }

    [Fact]
    public void A_wheel_without_RECORD_WHEEL_or_METADATA_is_refused()
    {
        Open(new TestWheel { WithoutRecord = true }).Should().Throw<InvalidWheelException>().Which.Message.Should().EndWith("demo-1.0.dist-info/RECORD is missing");
        Open(new TestWheel { WithoutWheelFile = true, EditRecord = rows => rows.Where(r => !r[0].EndsWith("/WHEEL", StringComparison.Ordinal)).ToList() })
            .Should().Throw<InvalidWheelException>().Which.Message.Should().EndWith("demo-1.0.dist-info/WHEEL is missing");
    }

    [Theory]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("../../evil.py", "'..'")]
    [InlineData("demo/../../evil.py", "'..'")]
    [InlineData("demo\\..\\evil.py", "backslash")]
    [InlineData("demo-1.0.data/scripts/../../../evil", "'..'")]
    [InlineData("C:/evil.py", "drive letter")]
    [InlineData("demo//evil.py", "empty")]
    public void Members_that_would_escape_their_target_are_refused(string member, string problem)
    {
        var wheel = new TestWheel().With(member, "x = 1\n");
        Open(wheel).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain($"'{member}' is refused").And.Contain(problem);
    }

    [Fact]
    public void A_RECORD_row_that_would_escape_is_refused_even_without_such_a_member()
    {
        var wheel = new TestWheel { EditRecord = rows => [.. rows, ["../outside.py", "sha256=x", "1"]] };
        Open(wheel).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("RECORD lists '../outside.py', which is refused");
    }

    [Fact]
    public void An_unknown_data_scheme_is_refused()
    {
        var wheel = new TestWheel().With("demo-1.0.data/lib/x.py", "x\n");
        using var file = WheelFile.Open(wheel.WriteTo(_scratch.Path));
        file.Invoking(f => f.GetImageEntries()).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("'lib' is not a wheel data scheme");
    }

    [Fact]
    public void The_dist_info_directory_and_metadata_must_match_the_file_name()
    {
        Open(new TestWheel { DistInfoName = "other-1.0.dist-info" }).Should().Throw<InvalidWheelException>()
            .Which.Message.Should().Contain("the .dist-info directory other-1.0.dist-info does not match the file name");
        Open(new TestWheel { DistInfoName = "demo-2.0.dist-info" }).Should().Throw<InvalidWheelException>()
            .Which.Message.Should().Contain("does not match");
        Open(new TestWheel { MetadataOverride = "Metadata-Version: 2.1\nName: demo\nVersion: 1.1\n" }).Should().Throw<InvalidWheelException>()
            .Which.Message.Should().Contain("METADATA says version '1.1', the file name says '1.0'");
        Open(new TestWheel { MetadataOverride = "Metadata-Version: 2.1\nName: nomed\nVersion: 1.0\n" }).Should().Throw<InvalidWheelException>()
            .Which.Message.Should().Contain("names project 'nomed'");
    }

    [Fact]
    public void Two_dist_info_directories_are_refused()
    {
        var wheel = new TestWheel().With("other-1.0.dist-info/METADATA", "Name: other\n");
        Open(wheel).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("several .dist-info directories");
    }

    [Fact]
    public void Only_Wheel_Version_1_is_accepted()
    {
        Open(new TestWheel { WheelVersion = "2.0" }).Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("Wheel-Version 2.0 is not supported");
        Open(new TestWheel { WheelVersion = "1.9" }).Should().NotThrow();
    }

    [Fact]
    public void Names_are_compared_normalized()
    {
        // Some tools write the dist-info with the project's own spelling.
        var wheel = new TestWheel { Name = "Demo.App", DistInfoName = "Demo.App-1.0.dist-info" };
        using var file = WheelFile.Open(wheel.WriteTo(_scratch.Path));
        file.NormalizedName.Should().Be("demo-app");
        file.GetImageEntries().Should().Contain(e => e.Path == "lib/python/Demo.App-1.0.dist-info/METADATA");
    }

    [Fact]
    public void A_file_that_is_not_a_zip_is_refused()
    {
        string path = _scratch.Write("demo-1.0-py3-none-any.whl", "this is not a zip file at all, sorry");
        var open = () => WheelFile.Open(path);
        open.Should().Throw<InvalidWheelException>().Which.Message.Should().Contain(path).And.Contain("not a readable zip file");
    }

    [Fact]
    public void A_truncated_wheel_is_refused()
    {
        string path = Demo().WriteTo(_scratch.Path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var open = () => WheelFile.Open(path);
        open.Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("not a readable zip file");
    }

    [Fact]
    public void Corrupt_compressed_data_fails_the_read_naming_the_member()
    {
        var wheel = new TestWheel { Name = "corrupt" };
        var random = new Random(7);
        var payload = new byte[200_000];
        for (int i = 0; i < payload.Length; i++) payload[i] = (byte)"abcdefgh"[random.Next(8)];
        wheel.Files.Add(("corrupt/payload.txt", payload, null));
        string path = wheel.WriteTo(_scratch.Path);

        // Scramble the middle of the compressed payload (the largest member, so near the middle of the file).
        var bytes = File.ReadAllBytes(path);
        for (int i = bytes.Length / 3; i < bytes.Length / 3 + 2000; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);

        using var file = WheelFile.Open(path);
        var read = () => EntryContents.Read(file.GetImageEntries().At("lib/python/corrupt/payload.txt"));
        read.Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("corrupt/payload.txt");
    }

    [Fact]
    public void Tags_the_target_does_not_support_are_an_error_naming_wheel_and_interpreter()
    {
        var target = Targets.CPython(11);
        using var windows = WheelFile.Open(new TestWheel { Name = "native", Tag = "cp311-cp311-win_amd64" }.WriteTo(_scratch.Path));
        windows.Invoking(w => w.EnsureCompatible(target)).Should().Throw<IncompatibleWheelException>()
            .Which.Message.Should().Contain("native-1.0-cp311-cp311-win_amd64.whl").And.Contain(target.Description).And.Contain("cp311-cp311-win_amd64");

        using var otherAbi = WheelFile.Open(new TestWheel { Name = "abi", Tag = "cp312-cp312-manylinux_2_17_x86_64" }.WriteTo(_scratch.Path));
        otherAbi.Invoking(w => w.EnsureCompatible(target)).Should().Throw<IncompatibleWheelException>();

        using var fits = WheelFile.Open(new TestWheel { Name = "fits", Tag = "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64" }.WriteTo(_scratch.Path));
        fits.Invoking(w => w.EnsureCompatible(target)).Should().NotThrow();
    }

    [Fact]
    public void RECORD_quoting_round_trips_as_Pythons_csv_module_writes_it()
    {
        var rows = RecordFile.Parse("\"a,b.py\",sha256=x,3\r\nplain.py,,\n\"say \"\"hi\"\".txt\",sha256=y,\n\n");
        rows.Should().BeEquivalentTo(new[]
        {
            new RecordEntry("a,b.py", new RecordHash("sha256", "x"), 3),
            new RecordEntry("plain.py", null, null),
            new RecordEntry("say \"hi\".txt", new RecordHash("sha256", "y"), null),
        });
        RecordFile.Parse(RecordFile.Format(rows)).Should().BeEquivalentTo(rows);
        RecordFile.Format(rows).Should().StartWith("\"a,b.py\",sha256=x,3\nplain.py,,\n");
        var bad = () => RecordFile.Parse("a,b,c,d\n");
        bad.Should().Throw<FormatException>();
    }

    private Func<WheelFile> Open(TestWheel wheel)
    {
        string path = wheel.WriteTo(_scratch.Path);
        return () =>
        {
            var file = WheelFile.Open(path);
            file.Dispose();
            return file;
        };
    }
}
