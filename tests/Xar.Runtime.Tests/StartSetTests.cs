using Microsoft.Win32.SafeHandles;
using Xar.Archive;
using Xar.Fuse;
using Xar.SquashFs.Reading;

namespace Xar.Runtime.Tests;

/// <summary>The start set the FUSE daemon prefetches (<see cref="StartSet"/>): resolved from the header and the image alone.</summary>
public sealed class StartSetTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    /// <summary>An archive whose image has lib/libc.so.6 → ../data.txt and bin/escape → /bin/sh.</summary>
    private string Build(TargetKind target, string startProgram, string? startReads = null) =>
        TestArchives.Build(_sandbox.Root, target, XarLayout.Xarexec, _sandbox.MountRoot,
            extraHeader: new Dictionary<string, string> { [XarHeaderKeys.StartProgram] = startProgram, [XarHeaderKeys.LibraryPath] = "no/such:lib" }
                .Concat(startReads is null ? [] : [KeyValuePair.Create(XarHeaderKeys.StartReads, startReads)]).ToDictionary(),
            symlinks: new Dictionary<string, string> { ["lib/libc.so.6"] = "../data.txt", ["bin/escape"] = "/bin/sh", ["data-link"] = "data.txt" });

    /// <summary>The image paths of the start set of <see cref="Build"/>'s archive, with the bytes of each the prefetch decompresses.</summary>
    private List<string> Resolve(TargetKind target, string startProgram, string? startReads = null)
    {
        string archive = Build(target, startProgram, startReads);
        using SafeFileHandle file = File.OpenHandle(archive);
        using SquashFsImage image = SquashFsImage.Open(file, XarArchive.ReadHeader(file, archive).ImageOffset, ownsHandle: false);
        return Paths(StartSet.Resolve(archive, file, image));
    }

    private static List<string> Paths(List<StartFile> files) => [.. files.Select(start => start.File.Path.TrimStart('/'))];

    [Fact]
    public void The_start_program_and_the_libraries_it_needs_are_found_in_the_library_path_through_symlinks_inside_the_image()
    {
        // The compiled target needs libc.so.6: the second directory of the path has it, as a symlink to another file of the image.
        Resolve(TargetKind.Elf, StartCommand.InImage(TestArchives.TargetPath)).Should().Equal(TestArchives.TargetPath, "data.txt");
    }

    [Fact]
    public void A_start_program_that_is_not_ELF_or_not_in_the_image_gives_nothing_and_one_leaving_it_is_refused()
    {
        Resolve(TargetKind.Shell, StartCommand.InImage(TestArchives.TargetPath)).Should().BeEmpty();
        Resolve(TargetKind.Elf, "/bin/sh").Should().BeEmpty();
        FluentActions.Invoking(() => Resolve(TargetKind.Elf, StartCommand.InImage("bin/escape"))).Should().Throw<XarRuntimeException>();
    }

    /// <summary>
    /// XAR_START_READS adds the files every start reads, after the program and its libraries, each
    /// as far as the header says (never past its end): through symlinks inside the image; a path the
    /// image does not hold, a directory or a symlink leaving the image is left out (a hint, not a requirement).
    /// </summary>
    [Fact]
    public void The_start_reads_follow_the_program_each_up_to_its_length_and_what_the_image_lacks_is_left_out()
    {
        string archive = Build(TargetKind.Elf, StartCommand.InImage(TestArchives.TargetPath), "data-link=5:no/such/file=10:bin=10:bin/escape=10:data.txt=1000000");
        using SafeFileHandle file = File.OpenHandle(archive);
        using SquashFsImage image = SquashFsImage.Open(file, XarArchive.ReadHeader(file, archive).ImageOffset, ownsHandle: false);

        var set = StartSet.Resolve(archive, file, image);

        set.Select(start => (start.File.Path.TrimStart('/'), start.Length)).Should().Equal(
            (TestArchives.TargetPath, set[0].File.Size), ("data.txt", set[1].File.Size), ("data.txt", 5L), ("data.txt", "data from the image\n".Length));
    }

    [Fact]
    public void Start_reads_come_without_a_start_program_of_the_image_and_a_malformed_item_is_refused()
    {
        Resolve(TargetKind.Shell, StartCommand.InImage(TestArchives.TargetPath), "data.txt=4").Should().Equal("data.txt");
        foreach (string malformed in new[] { "data.txt", "data.txt=0", "data.txt=-1", "=4", "../data.txt=4", "/data.txt=4", "data.txt=4x" })
            FluentActions.Invoking(() => Resolve(TargetKind.Elf, "/bin/sh", malformed)).Should().Throw<XarFormatException>()
                .WithMessage($"*{XarHeaderKeys.StartReads}*", malformed);
    }

    /// <summary>
    /// The daemon serves the image of the file it opened; a file renamed over the archive's path
    /// since (another archive, then no archive at all) changes nothing of its start set.
    /// </summary>
    [Fact]
    public void The_start_set_comes_from_the_open_archive_whatever_its_path_names_since()
    {
        string archive = Build(TargetKind.Elf, StartCommand.InImage(TestArchives.TargetPath));
        using SafeFileHandle file = File.OpenHandle(archive);
        using SquashFsImage image = SquashFsImage.Open(file, XarArchive.ReadHeader(file, archive).ImageOffset, ownsHandle: false);

        File.Move(Build(TargetKind.Elf, "/bin/sh"), archive, overwrite: true);
        Paths(StartSet.Resolve(archive, file, image)).Should().Equal(TestArchives.TargetPath, "data.txt");

        string text = Path.Combine(_sandbox.Root, "text");
        File.WriteAllText(text, "not an archive\n");
        File.Move(text, archive, overwrite: true);
        Paths(StartSet.Resolve(archive, file, image)).Should().Equal(TestArchives.TargetPath, "data.txt");
    }
}
