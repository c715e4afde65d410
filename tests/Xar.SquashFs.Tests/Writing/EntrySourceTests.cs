using System.Text;
using Xar.SquashFs.Compression;
using Xar.SquashFs.Tests.Support;
using Xar.SquashFs.Writing;

namespace Xar.SquashFs.Tests.Writing;

/// <summary>Images built from entries handed over one by one (no staging directory), read back by unsquashfs.</summary>
public sealed class EntrySourceTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void EntriesOfEveryKindAreWrittenAsDescribed()
    {
        var big = new byte[1_000_000];
        new Random(5).NextBytes(big);
        var writer = new SquashFsWriter(new SquashFsWriterOptions { BlockSize = 64 * 1024, KeepOwners = true });
        writer.Add(ImageEntry.Directory("", 0b111_101_101, mtime: 1_700_000_000));
        writer.Add(ImageEntry.File("pkg/__init__.py", FileContent.FromBytes("print('hi')\n"u8.ToArray()), 0b110_100_100, 1_700_000_001));
        writer.Add(ImageEntry.File("pkg/data/big.bin", FileContent.FromStream(() => new MemoryStream(big), big.Length, "big.bin"), 0b111_101_101, 1_700_000_002));
        writer.Add(ImageEntry.Directory("pkg/data", 0b111_000_000, mtime: 1_700_000_003));
        writer.Add(ImageEntry.HardLink("bin/alias", "pkg/__init__.py"));
        writer.Add(ImageEntry.Symlink("bin/tool", "../pkg/__init__.py", mtime: 1_700_000_004));
        writer.Add(new ImageEntry { Path = "dev/null", Type = ImageEntryType.CharDevice, DeviceMajor = 1, DeviceMinor = 3, Permissions = 0b110_110_110 });
        writer.Add(new ImageEntry { Path = "dev/big-minor", Type = ImageEntryType.BlockDevice, DeviceMajor = 259, DeviceMinor = 70000 });
        writer.Add(new ImageEntry { Path = "run/pipe", Type = ImageEntryType.Fifo, Permissions = 0b110_000_000, Uid = 1000, Gid = 100 });
        writer.Add(ImageEntry.File("empty", FileContent.FromBytes(Array.Empty<byte>())));
        string image = _temp.Combine("entries.sqfs");
        writer.WriteToFile(image);

        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, image]);
        var tree = TreeSnapshot.Capture(output, withOwners: true);
        File.ReadAllText(Path.Combine(output, "pkg/__init__.py")).Should().Be("print('hi')\n");
        File.ReadAllBytes(Path.Combine(output, "pkg/data/big.bin")).Should().Equal(big);
        tree["pkg/data"].Permissions.Should().Be(0b111_000_000, "a directory added after its content keeps its own attributes");
        tree["pkg/data"].ModificationTime.Should().Be(1_700_000_003);
        tree["pkg"].Permissions.Should().Be(0b111_101_101, "implied parents are 0755");
        tree["bin/alias"].HardLinkGroup.Should().Be("bin/alias").And.Be(tree["pkg/__init__.py"].HardLinkGroup);
        tree["bin/tool"].LinkTarget.Should().Be("../pkg/__init__.py");
        tree["dev/null"].Should().Match<EntryState>(e => e.Type == 'c' && e.RdevMajor == 1 && e.RdevMinor == 3);
        tree["dev/big-minor"].Should().Match<EntryState>(e => e.Type == 'b' && e.RdevMajor == 259 && e.RdevMinor == 70000);
        tree["run/pipe"].Should().Match<EntryState>(e => e.Type == 'p' && e.Uid == 1000 && e.Gid == 100 && e.Permissions == 0b110_000_000);
        tree["empty"].Size.Should().Be(0);
    }

    /// <summary>Text of random words: compressible, and more so at a higher zstd level.</summary>
    private static byte[] Words(int seed, int length)
    {
        string[] words = ["import", "return", "self", "value", "def", "class", "lambda", "None", "True", "for", "in", "if", "else", "yield", "module", "path"];
        var random = new Random(seed);
        var text = new StringBuilder();
        while (text.Length < length) text.Append(words[random.Next(words.Length)]).Append(random.Next(10) == 0 ? '\n' : ' ');
        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }

    [Fact]
    public void AFileAtItsOwnCompressionLevelIsStoredSmallerAndReadsBackTheSame()
    {
        byte[] bundle = Words(1, 3 << 20), other = Words(2, 3 << 20);
        long ImageWith(int? level, string name)
        {
            var writer = new SquashFsWriter(new SquashFsWriterOptions { Compression = CompressionSettings.For(CompressionAlgorithm.Zstd, 3), BlockSize = 1 << 20 });
            writer.Add(new ImageEntry { Path = "bundle", Type = ImageEntryType.File, Content = FileContent.FromBytes(bundle), CompressionLevel = level });
            writer.Add(ImageEntry.File("other", FileContent.FromBytes(other)));
            string image = _temp.Combine(name);
            writer.WriteToFile(image);
            return new FileInfo(image).Length;
        }

        long plain = ImageWith(null, "plain.sqfs"), higher = ImageWith(19, "higher.sqfs");

        higher.Should().BeLessThan(plain - 4096, "the file's blocks are compressed at level 19, the rest at the image's 3");
        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, _temp.Combine("higher.sqfs")]);
        File.ReadAllBytes(Path.Combine(output, "bundle")).Should().Equal(bundle);
        File.ReadAllBytes(Path.Combine(output, "other")).Should().Equal(other);
    }

    [Fact]
    public void ACompressionLevelOutsideTheCodecsRangeIsRefusedNamingTheFile()
    {
        var writer = new SquashFsWriter();
        writer.Add(new ImageEntry
        {
            Path = "bundle", Type = ImageEntryType.File, Content = FileContent.FromStream(() => new MemoryStream(new byte[10]), 10, "wheel:bundle"), CompressionLevel = 40,
        });
        string image = _temp.Combine("bad.sqfs");

        var act = () => writer.WriteToFile(image);

        act.Should().Throw<SquashFsException>().WithMessage("wheel:bundle: zstd level 40 is not between 1 and 22");
        File.Exists(image).Should().BeFalse();
    }

    [Fact]
    public void ContentShorterThanDeclaredFailsAndLeavesNoImage()
    {
        var writer = new SquashFsWriter();
        writer.Add(ImageEntry.File("liar", FileContent.FromStream(() => new MemoryStream(new byte[10]), 5_000_000, "wheel:liar.py")));
        string image = _temp.Combine("bad.sqfs");

        var act = () => writer.WriteToFile(image);

        act.Should().Throw<SquashFsException>().WithMessage("*wheel:liar.py*changed size*");
        Directory.GetFiles(_temp.Path).Should().BeEmpty("nothing half-written is left behind");
    }

    [Fact]
    public void EntriesAddedAfterAScanMergeWithTheScannedNames()
    {
        string source = _temp.Combine("mix");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "x"), "scanned");
        File.WriteAllText(Path.Combine(source, "sub/y"), "scanned too");
        var writer = new SquashFsWriter();
        writer.AddDirectory(source);
        writer.Add(ImageEntry.File("sub/z", FileContent.FromBytes("added into a scanned directory"u8.ToArray())));
        writer.Add(ImageEntry.File("new/w", FileContent.FromBytes("added into a new directory"u8.ToArray())));

        // The scan does not index names; Add must still find them rather than write a second "x".
        FluentActions.Invoking(() => writer.Add(ImageEntry.File("x", FileContent.FromBytes(Array.Empty<byte>())))).Should().Throw<SquashFsException>().WithMessage("*added twice*");
        FluentActions.Invoking(() => writer.Add(ImageEntry.File("sub/y", FileContent.FromBytes(Array.Empty<byte>())))).Should().Throw<SquashFsException>().WithMessage("*added twice*");
        FluentActions.Invoking(() => writer.Add(ImageEntry.File("x/v", FileContent.FromBytes(Array.Empty<byte>())))).Should().Throw<SquashFsException>().WithMessage("*not a directory*");
        FluentActions.Invoking(() => writer.AddDirectory(source)).Should().Throw<InvalidOperationException>();
        string image = _temp.Combine("mix.sqfs");
        writer.WriteToFile(image);

        string output = _temp.Combine("out");
        ExternalTool.Run("unsquashfs", "squashfs-tools", ["-no-progress", "-d", output, image]);
        TreeSnapshot.Capture(output).Keys.Should().BeEquivalentTo([".", "x", "sub", "sub/y", "sub/z", "new", "new/w"]);
        File.ReadAllText(Path.Combine(output, "sub/z")).Should().Be("added into a scanned directory");
        File.ReadAllText(Path.Combine(output, "x")).Should().Be("scanned");

        var added = new SquashFsWriter();
        added.Add(ImageEntry.File("x", FileContent.FromBytes("added"u8.ToArray())));
        FluentActions.Invoking(() => added.AddDirectory(source)).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void AFileThatDisappearsDuringTheBuildIsNamed()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(source);
        for (int i = 0; i < 50; i++) File.WriteAllText(Path.Combine(source, $"f{i}"), new string('x', i));
        var writer = new SquashFsWriter();
        writer.AddDirectory(source);
        File.Delete(Path.Combine(source, "f17"));

        var act = () => writer.WriteToFile(_temp.Combine("gone.sqfs"));

        act.Should().Throw<SquashFsException>().WithMessage($"*{source}/f17*cannot open*");
        File.Exists(_temp.Combine("gone.sqfs")).Should().BeFalse();
    }

    [Theory]
    [InlineData("a/../b", "'..'")]
    [InlineData("x/y", "added twice")]
    public void InvalidPathsAreRejected(string path, string message)
    {
        var writer = new SquashFsWriter();
        writer.Add(ImageEntry.File("x/y", FileContent.FromBytes(new byte[1])));

        var act = () => writer.Add(ImageEntry.File(path, FileContent.FromBytes(new byte[1])));

        act.Should().Throw<SquashFsException>().WithMessage($"*{message}*");
    }

    [Fact]
    public void ANameLongerThan256BytesIsRejected()
    {
        var writer = new SquashFsWriter();
        var act = () => writer.Add(ImageEntry.File(new string('é', 129), FileContent.FromBytes(new byte[1])));
        act.Should().Throw<SquashFsException>().WithMessage("*longer than 256 bytes*");
    }

    [Fact]
    public void AHardLinkToAMissingTargetIsRejected()
    {
        var writer = new SquashFsWriter();
        var act = () => writer.Add(ImageEntry.HardLink("b", "a"));
        act.Should().Throw<SquashFsException>().WithMessage("*'a' was not added*");
    }

    [Fact]
    public void NamesThatAreNotUtf8SurviveFromADirectory()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(source);
        // A Latin-1 name: bytes that are not valid UTF-8. Created through the shell to bypass .NET's UTF-16 names.
        Run.Checked("sh", ["-c", $"printf latin1 > \"{source}/$(printf 'caf\\351')\""]);
        SquashFsWriter.CreateImage(source, _temp.Combine("latin1.sqfs"));

        string listing = Encoding.Latin1.GetString(ExternalTool.Run("unsquashfs", "squashfs-tools", ["-ls", "-d", "", _temp.Combine("latin1.sqfs")]));
        listing.Should().Contain("/caf\u00e9");
    }
}
