namespace Xar.Archive.Tests;

/// <summary>
/// What we write in the xarexec layout passes all three original readers (as restated in
/// <see cref="OriginalReaders"/>), so the original xarexec_fuse, XarParser and mount_xar.py read
/// the same OFFSET, UUID, VERSION and XAREXEC_TARGET that we do.
/// </summary>
public sealed class OriginalReadersAcceptOurArchivesTests : IClassFixture<SquashFsImageFixture>, IDisposable
{
    private readonly SquashFsImageFixture _image;
    private readonly TempDirectory _directory = new();

    public OriginalReadersAcceptOurArchivesTests(SquashFsImageFixture image) => _image = image;

    public void Dispose() => _directory.Dispose();

    private byte[] Write(XarHeaderFields fields, XarLayout layout = XarLayout.Xarexec)
    {
        string path = _directory.Combine($"{Guid.NewGuid():N}.xar");
        XarArchiveWriter.Write(path, new XarWriteOptions
        {
            Layout = layout,
            Header = fields,
            Launcher = layout == XarLayout.Self ? File.OpenRead("/bin/true") : null,
        }, new MemoryStream(_image.Image));
        return File.ReadAllBytes(path);
    }

    public static TheoryData<string> Cases => ["plain", "every field", "largest header"];

    private static XarHeaderFields Fields(string name) => name switch
    {
        "plain" => new XarHeaderFields { Version = 1795279275, XarexecTarget = "bootstrap_xar.sh" },
        "every field" => new XarHeaderFields
        {
            Version = 1795279275,
            Dependencies = ["dep.xar"],
            MountRoot = "/dev/shm",
            XarexecTarget = "bootstrap_xar.sh",
            Extra =
            {
                [XarHeaderKeys.RequiresPython] = ">=3.11,<3.14",
                [XarHeaderKeys.RequiresPlatform] = "manylinux_2_28_x86_64",
                [XarHeaderKeys.XarexecTrampolineNames] = "'app' 'invoke_xar_via_trampoline'",
            },
        },
        _ => Largest(),
    };

    private static XarHeaderFields Largest()
    {
        int pad = HeaderSize.LargestValue(new XarHeaderFields { Version = 1795279275, XarexecTarget = "bootstrap_xar.sh" }, "PAD");
        return new XarHeaderFields { Version = 1795279275, XarexecTarget = "bootstrap_xar.sh", Extra = { ["PAD"] = new string('p', pad) } };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_runtime_XarParser_and_mount_xar_read_what_we_read(string name)
    {
        byte[] file = Write(Fields(name));
        string path = _directory.Combine("check.xar");
        File.WriteAllBytes(path, file);
        using XarArchive ours = XarArchive.Open(path);

        foreach (var keys in new[] { OriginalReaders.Runtime(file), OriginalReaders.XarParser(file), OriginalReaders.MountXar(file) })
        {
            keys["OFFSET"].Should().Be("4096");
            keys["UUID"].Should().Be(ours.Header.Uuid);
            keys["VERSION"].Should().Be(ours.Header.Version);
        }
        OriginalReaders.Runtime(file)["XAREXEC_TARGET"].Should().Be("bootstrap_xar.sh");
        OriginalReaders.XarParser(file)["XAREXEC_TARGET"].Should().Be("bootstrap_xar.sh");
        OriginalReaders.Runtime(file).Should().BeEquivalentTo(ours.Header.Entries.ToDictionary(e => e.Key, e => e.Value));
    }

    [Fact]
    public void The_largest_case_is_within_a_byte_of_the_limit()
    {
        var tooBig = Largest();
        tooBig.Extra["PAD"] += "p";

        Action write = () => Write(tooBig);

        write.Should().Throw<ArgumentException>().WithMessage("the header needs 3969 bytes*");
    }

    [Fact]
    public void The_original_runtime_cannot_read_a_self_archive_because_it_reads_the_launcher_at_offset_0()
    {
        byte[] file = Write(Fields("plain"), XarLayout.Self);

        Action runtime = () => OriginalReaders.Runtime(file);

        runtime.Should().Throw<InvalidDataException>();
    }
}
