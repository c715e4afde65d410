using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// `--json` of info, ls and verify (docs/json-output.md), parsed and checked against the archive
/// itself: its header bytes, unsquashfs's reading of its image, and the SHA-256 of its bytes.
/// </summary>
public sealed class JsonOutputTests : IDisposable
{
    private readonly TempDirectory _temp = new("json");

    public void Dispose() => _temp.Dispose();

    /// <summary>A raw xarexec-layout archive (image at 4096) of a tree with a file, an executable, a symlink and a subdirectory.</summary>
    private string Archive() => XarTool.Build(_temp.Combine("app.xar"), "--raw", App(), "--exec", "run.sh", "--layout", "xarexec");

    private string App()
    {
        string app = _temp.Combine("app");
        _temp.Write("app/run.sh", "#!/bin/sh\necho hi\n", (UnixFileMode)0b111_101_101);
        _temp.Write("app/data/notes.txt", "some notes\n", (UnixFileMode)0b110_100_000);
        File.CreateSymbolicLink(Path.Combine(app, "link"), "data/notes.txt");
        return app;
    }

    private static JsonElement Json(params string[] arguments)
    {
        var result = XarTool.Run(arguments);
        result.ExitCode.Should().Be(0, result.ToString());
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    [Fact]
    public void Info_json_has_every_header_line_in_order_and_the_superblock_unsquashfs_reads()
    {
        string archive = Archive();

        var info = Json("info", archive, "--json");

        info.GetProperty("format").GetString().Should().Be("xar-info/1");
        info.GetProperty("path").GetString().Should().Be(archive);
        var header = info.GetProperty("archive");
        header.GetProperty("layout").GetString().Should().Be("xarexec");
        header.GetProperty("headerOffset").GetInt64().Should().Be(0);
        header.GetProperty("imageOffset").GetInt64().Should().Be(4096);
        header.GetProperty("header").EnumerateArray().Select(e => $"{e.GetProperty("key").GetString()}=\"{e.GetProperty("value").GetString()}\"")
            .Should().Equal(HeaderLines(archive));

        var image = info.GetProperty("image");
        var superblock = Run.Checked("unsquashfs", ["-s", "-o", "4096", archive]);
        image.GetProperty("squashfsVersion").GetString().Should().Be("4.0");
        superblock.Should().Contain($"Compression {image.GetProperty("compression").GetString()}\n");
        superblock.Should().Contain($"Block size {image.GetProperty("blockSize").GetUInt32()}\n");
        superblock.Should().Contain($"Number of inodes {image.GetProperty("inodes").GetUInt32()}\n");
        superblock.Should().Contain($"Number of fragments {image.GetProperty("fragments").GetUInt32()}\n");
        superblock.Should().Contain($"Number of ids {image.GetProperty("ids").GetUInt32()}\n");
        superblock.Should().Contain($"Filesystem size {image.GetProperty("bytesUsed").GetUInt64()} bytes");
        image.GetProperty("level").GetInt32().Should().Be(15, "zstd's default level");
        image.GetProperty("tables").EnumerateArray().Select(t => t.GetProperty("name").GetString())
            .Should().StartWith(["data", "inode table", "directories", "fragment table"]);
    }

    [Fact]
    public void Info_reports_the_size_of_each_part_of_a_python_image()
    {
        // A Python image's layout (docs/python-apps.md §1), files of known sizes in every part.
        var files = new Dictionary<string, int>
        {
            ["lib/python/pkg/__init__.py"] = 300, ["lib/python/pkg/big.py"] = 300_000, ["lib/python/pkg/_ext.cpython-311-x86_64-linux-gnu.so"] = 200_000,
            ["lib/python/pkg/data.json"] = 5_000, ["lib/python/pkg-1.0.dist-info/METADATA"] = 100, ["__xar__/bytecode.bundle"] = 400_000,
            ["__xar__/python/bin/python3.11"] = 20_000, ["__xar__/python/lib/python3.11/os.py"] = 40_000, ["__xar__/lib/libffi.so.8"] = 50_000,
            ["__xar__/xar_bootstrap.py"] = 9_000, ["__xar__/__pycache__/xar_bootstrap.cpython-311.pyc"] = 8_000,
        };
        var random = new Random(5);
        foreach (var (path, size) in files)
        {
            var bytes = new byte[size];
            random.NextBytes(bytes); // incompressible: stored as they are, whatever the codec
            _temp.Write("py/" + path, bytes);
        }
        string image = _temp.Combine("py.sqfs");
        Run.Checked("mksquashfs", [_temp.Combine("py"), image, "-quiet", "-no-progress", "-comp", "zstd"]);

        var info = Json("info", image, "--json");

        var parts = info.GetProperty("image").GetProperty("parts").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => (Files: p.GetProperty("files").GetInt64(), Size: p.GetProperty("size").GetInt64(), Stored: p.GetProperty("storedSize").GetInt64()));
        (long, long) Expected(params string[] paths) => (paths.Length, paths.Sum(p => (long)files[p]));
        parts.Keys.Should().Equal("application code", "bytecode", "extension modules", "data", "interpreter and standard library", "native libraries", "bootstrap");
        (parts["application code"].Files, parts["application code"].Size).Should().Be(Expected("lib/python/pkg/__init__.py", "lib/python/pkg/big.py"));
        (parts["bytecode"].Files, parts["bytecode"].Size).Should().Be(Expected("__xar__/bytecode.bundle", "__xar__/__pycache__/xar_bootstrap.cpython-311.pyc"));
        (parts["extension modules"].Files, parts["extension modules"].Size).Should().Be(Expected("lib/python/pkg/_ext.cpython-311-x86_64-linux-gnu.so"));
        (parts["data"].Files, parts["data"].Size).Should().Be(Expected("lib/python/pkg/data.json", "lib/python/pkg-1.0.dist-info/METADATA"));
        (parts["interpreter and standard library"].Files, parts["interpreter and standard library"].Size)
            .Should().Be(Expected("__xar__/python/bin/python3.11", "__xar__/python/lib/python3.11/os.py"));
        (parts["native libraries"].Files, parts["native libraries"].Size).Should().Be(Expected("__xar__/lib/libffi.so.8"));
        (parts["bootstrap"].Files, parts["bootstrap"].Size).Should().Be(Expected("__xar__/xar_bootstrap.py"));
        // Random bytes do not compress: each part takes its size (the zstd frames add a few bytes per block).
        foreach (var (name, part) in parts)
            part.Stored.Should().BeInRange(part.Size, part.Size + part.Size / 100 + 64, name);
        // And the parts together are the image's data area: every data and fragment block, shared out.
        long data = info.GetProperty("image").GetProperty("tables").EnumerateArray().First(t => t.GetProperty("name").GetString() == "data").GetProperty("length").GetInt64();
        parts.Values.Sum(p => p.Stored).Should().BeInRange(data - parts.Count, data);
        XarTool.Run("info", image).Stdout.Should().Contain("interpreter and standard library:");
    }

    [Fact]
    public void Info_json_of_a_bare_image_has_no_archive()
    {
        string image = _temp.Combine("bare.sqfs");
        Run.Checked("mksquashfs", [App(), image, "-quiet", "-no-progress", "-comp", "gzip"]);

        var info = Json("info", image, "--json");

        info.GetProperty("archive").ValueKind.Should().Be(JsonValueKind.Null);
        info.GetProperty("image").GetProperty("compression").GetString().Should().Be("gzip");
        info.GetProperty("image").GetProperty("level").GetInt32().Should().Be(9);
    }

    [Fact]
    public void Ls_json_lists_the_entries_unsquashfs_lists_with_their_type_mode_owner_and_size()
    {
        string archive = Archive();

        var listing = Json("ls", archive, "-R", "--json");

        listing.GetProperty("format").GetString().Should().Be("xar-ls/1");
        listing.GetProperty("directory").GetString().Should().Be("/");
        var ours = listing.GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("path").GetString()!);
        // unsquashfs -lln: "drwxr-xr-x 0/0   44 2026-12-03 10:04 squashfs-root/dir", numeric owners.
        var theirs = Run.Checked("unsquashfs", ["-lln", "-o", "4096", archive]).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields[5] != "squashfs-root")
            .ToDictionary(fields => fields[5]["squashfs-root".Length..]);
        ours.Keys.Should().BeEquivalentTo(theirs.Keys);
        foreach (var (path, fields) in theirs)
        {
            var entry = ours[path];
            entry.GetProperty("modeString").GetString().Should().Be(fields[0], path);
            entry.GetProperty("type").GetString().Should().Be(fields[0][0] switch { 'd' => "directory", 'l' => "symlink", _ => "file" }, path);
            $"{entry.GetProperty("uid").GetUInt32()}/{entry.GetProperty("gid").GetUInt32()}".Should().Be(fields[1], path);
            entry.GetProperty("size").GetInt64().ToString().Should().Be(fields[2], path);
        }
        ours["/run.sh"].GetProperty("mode").GetInt32().Should().Be(Convert.ToInt32("755", 8));
        ours["/data/notes.txt"].GetProperty("mode").GetInt32().Should().Be(Convert.ToInt32("640", 8));
        ours["/data/notes.txt"].GetProperty("mtime").GetUInt32().Should().Be((uint)new DateTimeOffset(File.GetLastWriteTimeUtc(_temp.Combine("app/data/notes.txt"))).ToUnixTimeSeconds());
        ours["/link"].GetProperty("target").GetString().Should().Be("data/notes.txt");
        ours["/run.sh"].GetProperty("target").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public void Verify_json_reports_verified_with_the_images_hash_and_a_corrupted_image_as_failed_with_status_1()
    {
        string archive = Archive();
        byte[] bytes = File.ReadAllBytes(archive);

        var verified = Json("verify", archive, "--json");

        verified.GetProperty("format").GetString().Should().Be("xar-verify/1");
        verified.GetProperty("result").GetString().Should().Be("verified");
        verified.GetProperty("imageSha256").GetString().Should().Be(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(4096))));
        verified.GetProperty("error").ValueKind.Should().Be(JsonValueKind.Null);

        bytes[^1000] ^= 0x40;
        string corrupted = _temp.Combine("corrupted.xar");
        File.WriteAllBytes(corrupted, bytes);
        var result = XarTool.Run("verify", corrupted, "--json");
        result.ExitCode.Should().Be(XarCommandLine.ExitFailure);
        var failed = JsonDocument.Parse(result.Stdout).RootElement;
        failed.GetProperty("result").GetString().Should().Be("failed");
        failed.GetProperty("error").GetString().Should().Contain("image SHA-256 mismatch");
        failed.GetProperty("imageSha256").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public void Verify_json_of_an_archive_without_a_recorded_hash_says_so()
    {
        string archive = Archive();
        byte[] bytes = File.ReadAllBytes(archive);
        // The original builder's header (docs/xar-format.md §4): no XAR_IMAGE_SHA256.
        byte[] header = Encoding.ASCII.GetBytes("#!/usr/bin/env xarexec_fuse\nOFFSET=\"4096\"\nUUID=\"5ea3a17c\"\nVERSION=\"1\"\nXAREXEC_TARGET=\"run.sh\"\n" +
                                                "#xar_stop\necho This XAR file should not be executed by sh\nexit 1\n# Actual squashfs file begins at 4096\n");
        string original = _temp.Combine("original.xar");
        File.WriteAllBytes(original, [.. header, .. Enumerable.Repeat((byte)'\n', 4096 - header.Length), .. bytes.AsSpan(4096)]);

        var report = Json("verify", original, "--json");

        report.GetProperty("result").GetString().Should().Be("no-hash-recorded");
        report.GetProperty("imageSha256").ValueKind.Should().Be(JsonValueKind.Null);
    }

    /// <summary>
    /// A header whose start lines or native library keys would only fail at launch
    /// (XAR_START_PROGRAM, XAR_LIBRARY_PATH, XAR_REQUIRES_GLIBC) or be skipped by the daemon
    /// (XAR_START_READS) fails verify, in one line and in the document.
    /// </summary>
    [Theory]
    [InlineData("XAR_START_READS=\"__xar__/bytecode.bundle=0\"", "XAR_START_READS")]
    [InlineData("XAR_START_PROGRAM=\"{root}/../etc/passwd\"", "XAR_START_PROGRAM")]
    [InlineData("XAR_START_PROGRAM=\"{root}//etc/passwd\"", "XAR_START_PROGRAM")]
    [InlineData("XAR_LIBRARY_PATH=\"__xar__/lib:/usr/lib\"", "XAR_LIBRARY_PATH")]
    [InlineData("XAR_LIBRARY_PATH=\"__xar__/lib::lib\"", "XAR_LIBRARY_PATH")]
    [InlineData("XAR_REQUIRES_GLIBC=\"2\"", "XAR_REQUIRES_GLIBC")]
    public void Verify_refuses_a_malformed_start_line(string line, string key)
    {
        byte[] bytes = File.ReadAllBytes(Archive());
        byte[] header = Encoding.ASCII.GetBytes("#!/usr/bin/env xarexec_fuse\nOFFSET=\"4096\"\nUUID=\"5ea3a17c\"\nVERSION=\"1\"\nXAREXEC_TARGET=\"run.sh\"\n" + line + "\n" +
                                                "#xar_stop\necho This XAR file should not be executed by sh\nexit 1\n# Actual squashfs file begins at 4096\n");
        string archive = _temp.Combine("start-line.xar");
        File.WriteAllBytes(archive, [.. header, .. Enumerable.Repeat((byte)'\n', 4096 - header.Length), .. bytes.AsSpan(4096)]);

        var text = XarTool.Run("verify", archive);
        var json = XarTool.Run("verify", archive, "--json");

        text.ExitCode.Should().NotBe(0);
        text.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain(archive).And.Contain(key);
        json.ExitCode.Should().Be(XarCommandLine.ExitFailure);
        var report = JsonDocument.Parse(json.Stdout).RootElement;
        report.GetProperty("result").GetString().Should().Be("failed");
        report.GetProperty("error").GetString().Should().Contain(key);
    }

    /// <summary>The KEY="value" lines of the header, read from the file: up to #xar_stop, without the shebang.</summary>
    private static List<string> HeaderLines(string archive)
    {
        string text = Encoding.UTF8.GetString(File.ReadAllBytes(archive).AsSpan(0, 4096));
        return [.. text.Split('\n').Skip(1).TakeWhile(line => line != "#xar_stop")];
    }
}
