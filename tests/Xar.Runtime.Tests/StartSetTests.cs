using Xar.Archive;
using Xar.SquashFs.Reading;

namespace Xar.Runtime.Tests;

/// <summary>The start set the FUSE daemon prefetches (<see cref="StartSet"/>): resolved from the header and the image alone.</summary>
public sealed class StartSetTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    /// <summary>The image paths of the start set of an archive whose image has lib/libc.so.6 → ../data.txt and bin/escape → /bin/sh.</summary>
    private List<string> Resolve(TargetKind target, string startProgram)
    {
        string archive = TestArchives.Build(_sandbox.Root, target, XarLayout.Xarexec, _sandbox.MountRoot,
            extraHeader: new Dictionary<string, string> { [XarHeaderKeys.StartProgram] = startProgram, [XarHeaderKeys.LibraryPath] = "no/such:lib" },
            symlinks: new Dictionary<string, string> { ["lib/libc.so.6"] = "../data.txt", ["bin/escape"] = "/bin/sh" });
        using XarArchive opened = XarArchive.Open(archive);
        using SquashFsImage image = SquashFsImage.Open(archive, opened.ImageOffset);
        return [.. StartSet.Resolve(archive, image).Select(file => file.Path.TrimStart('/'))];
    }

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
}
