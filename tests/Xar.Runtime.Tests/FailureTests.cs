namespace Xar.Runtime.Tests;

/// <summary>Every failure: one line naming the archive and the cause, a documented exit status, nothing left mounted.</summary>
public sealed class FailureTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    [Fact]
    public void A_truncated_archive_is_refused_before_anything_is_mounted()
    {
        string archive = _sandbox.Archive(TargetKind.Elf);
        long cut;
        using (Xar.Archive.XarArchive opened = Xar.Archive.XarArchive.Open(archive))
            cut = opened.ImageOffset + (long)opened.Superblock.BytesUsed - 100;
        using (var stream = new FileStream(archive, FileMode.Open))
            stream.SetLength(cut);

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: {archive}: ").And.Contain("truncated").And.EndWith("\n");
        result.Stderr.Count(c => c == '\n').Should().Be(1);
        _sandbox.Mounts().Should().BeEmpty();
        Directory.Exists(_sandbox.Cache).Should().BeFalse();
    }

    [Fact]
    public void A_corrupted_image_fails_its_hash_check_before_it_is_mounted()
    {
        string archive = _sandbox.Archive(TargetKind.Elf);
        using (var stream = new FileStream(archive, FileMode.Open))
        {
            stream.Position = 4096 + 200; // inside the compressed data, after the superblock
            int value = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(value ^ 0xFF));
        }

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: {archive}: image SHA-256 mismatch: the header records ");
        result.Stderr.Count(c => c == '\n').Should().Be(1);
        _sandbox.Mounts().Should().BeEmpty();
    }

    [Fact]
    public void A_file_changed_after_its_last_verified_mount_is_hashed_again_before_the_next()
    {
        string archive = _sandbox.Archive(TargetKind.Elf);
        _sandbox.Launch(archive).ExitCode.Should().Be(0);
        string mount = _sandbox.Mounts().Should().ContainSingle().Subject.MountPoint;
        File.Exists(VerifiedStamp(mount)).Should().BeTrue("the first mount records the file it verified");
        Run.Program("fusermount3", ["-u", mount]).ExitCode.Should().Be(0);
        Corrupt(archive);

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive, result.ToString());
        result.Stderr.Should().StartWith($"xarexec: {archive}: image SHA-256 mismatch");
        _sandbox.Mounts().Should().BeEmpty();
    }

    [Fact]
    public void A_stamp_that_matches_the_file_spares_the_hash()
    {
        // The stamp is what a verified mount of this very file would have left; the bytes were
        // changed before it was written, so only a launch that skips the hash mounts the image.
        string archive = _sandbox.Archive(TargetKind.Elf);
        string mount = _sandbox.Xarexec("-n", archive).Stdout.Trim();
        Corrupt(archive);
        string identity = Run.Program("stat", ["-c", "%Hd:%Ld %i %s %.9Y %.9Z", archive]).Stdout.Trim();
        Directory.CreateDirectory(Path.GetDirectoryName(mount)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute); // -n creates nothing
        using (var opened = Xar.Archive.XarArchive.Open(archive))
            File.WriteAllText(VerifiedStamp(mount), $"{identity} {opened.ImageOffset} {opened.Header.ImageSha256}\n");

        RunResult result = _sandbox.Launch(archive);

        result.Stderr.Should().NotContain("SHA-256");
        _sandbox.Mounts().Should().ContainSingle();
    }

    private static string VerifiedStamp(string mount) => Path.Combine(Path.GetDirectoryName(mount)!, "verified." + Path.GetFileName(mount));

    private static void Corrupt(string archive, long offset = 4096 + 200)
    {
        using var stream = new FileStream(archive, FileMode.Open);
        stream.Position = offset;
        int value = stream.ReadByte();
        stream.Position--;
        stream.WriteByte((byte)(value ^ 0xFF));
    }

    [Fact]
    public void A_file_that_is_not_an_archive_is_refused()
    {
        string archive = Path.Combine(_sandbox.Root, "garbage.xar");
        File.WriteAllBytes(archive, new byte[10000]);

        RunResult result = _sandbox.Launch(archive);

        result.ExitCode.Should().Be((int)XarExitCode.BadArchive);
        result.Stderr.Should().Be($"xarexec: {archive}: no OFFSET line in the first 4096 bytes of the header\n");
    }

    [Fact]
    public void A_missing_archive_and_a_directory_cannot_be_opened()
    {
        string missing = Path.Combine(_sandbox.Root, "missing.xar");

        RunResult result = _sandbox.Xarexec(missing);
        RunResult directory = _sandbox.Xarexec(_sandbox.Root);

        result.ExitCode.Should().Be((int)XarExitCode.CannotOpen);
        result.Stderr.Should().Be($"xarexec: {missing}: cannot open: No such file or directory\n");
        directory.ExitCode.Should().Be((int)XarExitCode.CannotOpen);
        directory.Stderr.Should().Be($"xarexec: {_sandbox.Root}: cannot open: is a directory\n");
    }

    [Fact]
    public void A_path_of_40_KB_is_shortened_in_the_middle_of_the_error_line()
    {
        string deep = _sandbox.Root + string.Concat(Enumerable.Repeat("/deep", 8000)) + "/missing.xar";

        RunResult result = _sandbox.Xarexec(deep);

        result.ExitCode.Should().Be((int)XarExitCode.CannotOpen);
        result.Stderr.Should().StartWith("xarexec: " + deep[..99] + "…").And.EndWith("/deep/deep/missing.xar: cannot open: File name too long\n");
        result.Stderr.Length.Should().BeLessThan(300);
    }

    [Fact]
    public void An_archive_without_a_target_can_be_mounted_but_not_run()
    {
        string archive = _sandbox.Archive(xarexecTarget: null);

        RunResult run = _sandbox.Xarexec(archive);
        RunResult mount = _sandbox.Xarexec("-m", archive);

        run.ExitCode.Should().Be((int)XarExitCode.TargetNotFound);
        run.Stderr.Should().Be($"xarexec: {archive}: the header has no XAREXEC_TARGET, so there is nothing to run (use xarexec -m to mount it)\n");
        mount.ExitCode.Should().Be(0, mount.ToString());
    }

    [Fact]
    public void A_target_missing_from_the_image_is_reported_as_not_found()
    {
        string archive = _sandbox.Archive(xarexecTarget: "bin/nothing");

        RunResult result = _sandbox.Xarexec(archive);

        result.ExitCode.Should().Be((int)XarExitCode.TargetNotFound);
        result.Stderr.Should().StartWith($"xarexec: {archive}: XAREXEC_TARGET \"bin/nothing\" is not in the image");
    }

    [Theory]
    [InlineData("XAR_MODE", "fuse", "XAR_MODE \"fuse\" is not one of auto, mount, extract")]
    [InlineData("XAR_MOUNT_TIMEOUT", "soon", "XAR_MOUNT_TIMEOUT \"soon\" is not a whole number of seconds (0 = never unmount)")]
    [InlineData("XAR_FUSE_SERVER", "fuse3", "XAR_FUSE_SERVER \"fuse3\" is not one of auto, xar, squashfuse_ll")]
    public void A_bad_XAR_variable_is_a_configuration_error(string name, string value, string message)
    {
        string archive = _sandbox.Archive();

        RunResult result = Run.Program(Launcher.Path, [archive], environment: _sandbox.Env(new Dictionary<string, string?> { [name] = value }));

        result.ExitCode.Should().Be((int)XarExitCode.BadConfiguration);
        result.Stderr.Should().Be($"xarexec: {archive}: {message}\n");
    }

    [Theory]
    [InlineData("-x")]
    [InlineData("--mount")]
    public void An_unknown_option_prints_the_usage(string option)
    {
        RunResult result = _sandbox.Xarexec(option, "app.xar");

        result.ExitCode.Should().Be((int)XarExitCode.Usage);
        result.Stderr.Should().StartWith($"xarexec: unknown option {option}\nUsage: xarexec [-m|-n|-h]");
    }

    [Fact]
    public void No_archive_is_a_usage_error_and_h_prints_the_usage_on_stdout()
    {
        _sandbox.Xarexec().ExitCode.Should().Be((int)XarExitCode.Usage);
        RunResult help = _sandbox.Xarexec("-h");
        help.ExitCode.Should().Be(0);
        help.Stdout.Should().StartWith("Usage: xarexec [-m|-n|-h] [--] FILE.xar [ARGS...]");
    }

    [Fact]
    public void An_archive_named_like_an_option_runs_after_a_double_dash()
    {
        string archive = _sandbox.Archive();
        string dashed = Path.Combine(_sandbox.Root, "-app.xar");
        File.Move(archive, dashed);

        RunResult result = Run.Program(Launcher.Path, ["--", "-app.xar", "-n"], environment: _sandbox.Env(null), workingDirectory: _sandbox.Root);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be("mode=mount new=1\narg=[-n]\n");
    }
}
