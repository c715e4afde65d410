using Microsoft.Win32.SafeHandles;
using Xar.Archive;
using Xar.SquashFs.Reading;

namespace Xar.Runtime.Tests;

/// <summary>The start set the FUSE daemon prefetches (<see cref="StartSet"/>): resolved from the header and the image alone.</summary>
public sealed class StartSetTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    /// <summary>An archive whose image has lib/libc.so.6 → ../data.txt and bin/escape → /bin/sh.</summary>
    private string Build(TargetKind target, string startProgram) =>
        TestArchives.Build(_sandbox.Root, target, XarLayout.Xarexec, _sandbox.MountRoot,
            extraHeader: new Dictionary<string, string> { [XarHeaderKeys.StartProgram] = startProgram, [XarHeaderKeys.LibraryPath] = "no/such:lib" },
            symlinks: new Dictionary<string, string> { ["lib/libc.so.6"] = "../data.txt", ["bin/escape"] = "/bin/sh" });

    /// <summary>The image paths of the start set of <see cref="Build"/>'s archive.</summary>
    private List<string> Resolve(TargetKind target, string startProgram)
    {
        string archive = Build(target, startProgram);
        using SafeFileHandle file = File.OpenHandle(archive);
        using SquashFsImage image = SquashFsImage.Open(file, XarArchive.ReadHeader(file, archive).ImageOffset, ownsHandle: false);
        return Paths(StartSet.Resolve(archive, file, image));
    }

    private static List<string> Paths(List<SquashFsEntry> files) => [.. files.Select(file => file.Path.TrimStart('/'))];

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
