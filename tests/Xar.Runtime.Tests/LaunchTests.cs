using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>
/// What a target sees when launched — output, arguments, stdin, exit status, death by signal —
/// for a shell-script and an ELF target in both layouts, through the mount rung.
/// </summary>
public sealed class LaunchTests : IDisposable
{
    private readonly Sandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    public static TheoryData<TargetKind, XarLayout> Matrix() => new()
    {
        { TargetKind.Shell, XarLayout.Xarexec },
        { TargetKind.Shell, XarLayout.Self },
        { TargetKind.Elf, XarLayout.Xarexec },
        { TargetKind.Elf, XarLayout.Self },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Arguments_stdin_and_exit_statuses_reach_the_target_unchanged(TargetKind target, XarLayout layout)
    {
        string archive = _sandbox.Archive(target, layout);
        string[] arguments = ["plain", "with spaces", "it's \"quoted\"", "", "-m", "$HOME `x` \\n", "ünïcode"];

        RunResult first = _sandbox.Launch(archive, arguments);

        first.ExitCode.Should().Be(0, first.ToString());
        first.Stderr.Should().BeEmpty();
        first.Stdout.Should().Be("mode=mount new=1\n" + string.Concat(arguments.Select(a => $"arg=[{a}]\n")));

        RunResult stdin = _sandbox.Launch(archive, ["stdin"], stdin: "line one\nline two\n");
        stdin.Stdout.Should().Be("mode=mount new=0\nline one\nline two\n", "the second launch reuses the mount");

        foreach (int status in (int[])[0, 1, 42])
            _sandbox.Launch(archive, [$"exit:{status}"]).ExitCode.Should().Be(status);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Death_by_a_signal_is_reported_as_128_plus_the_signal(TargetKind target, XarLayout layout)
    {
        string archive = _sandbox.Archive(target, layout);

        _sandbox.Launch(archive, ["kill:15"]).ExitCode.Should().Be(128 + 15);
        _sandbox.Launch(archive, ["kill:9"]).ExitCode.Should().Be(128 + 9);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void The_target_learns_where_it_runs_from_the_environment(TargetKind target, XarLayout layout)
    {
        string archive = _sandbox.Archive(target, layout);
        string mountPath = _sandbox.Xarexec("-n", archive).Stdout.TrimEnd('\n');

        RunResult result = _sandbox.Launch(archive, ["env:XAR_PATH", "env:XAR_MOUNT", "env:XAR_RUN_MODE", "env:XAR_INVOKED_NAME", "env:XAREXEC_LAUNCH_TIMESTAMP", "read:data.txt", "pinned", "env:XAR_IMAGE_SHA256"]);

        string[] lines = result.Stdout.Split('\n');
        using var opened = Xar.Archive.XarArchive.Open(archive);
        lines[1].Should().Be($"XAR_PATH={archive}");
        lines[2].Should().Be($"XAR_MOUNT={mountPath}");
        lines[3].Should().Be("XAR_RUN_MODE=mount");
        lines[4].Should().Be($"XAR_INVOKED_NAME={archive}");
        lines[5].Should().MatchRegex(@"^XAREXEC_LAUNCH_TIMESTAMP=\d+\.\d{6}$");
        lines[6].Should().Be("data from the image");
        lines[7].Should().Be($"pinned={mountPath}", "XAR_MOUNT_FD is an inherited descriptor on the mount's root that keeps it busy");
        lines[8].Should().Be($"XAR_IMAGE_SHA256={opened.Header.ImageSha256}", "the image's identity, the key of per-image caches");
    }

    [Fact]
    public void The_target_gets_default_SIGPIPE_handling_and_no_blocked_signals()
    {
        string archive = _sandbox.Archive(TargetKind.Elf);

        RunResult result = _sandbox.Launch(archive, ["sigign"]);

        // The .NET runtime ignores SIGPIPE; an ignored signal would survive execve.
        result.Stdout.Should().Contain("SigBlk:\t0000000000000000").And.Contain("SigIgn:\t0000000000000000");
    }

    [Fact]
    public void An_xarexec_layout_archive_runs_through_its_shebang_with_xarexec_fuse_on_PATH()
    {
        string archive = _sandbox.Archive(TargetKind.Shell, XarLayout.Xarexec);
        string bin = Path.Combine(_sandbox.Root, "bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "xarexec_fuse"), Launcher.Path);
        File.SetUnixFileMode(archive, (UnixFileMode)0x1ED);

        RunResult result = Run.Program(archive, ["x y"], environment: _sandbox.Env(new Dictionary<string, string?>
        {
            ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
        }));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be("mode=mount new=1\narg=[x y]\n");
    }

    [Fact]
    public void An_archive_of_the_original_builder_keeps_the_original_calling_convention()
    {
        // No XAR_FORMAT: /bin/sh -e <target> <archive as typed> args, as xarexec_fuse does.
        string archive = _sandbox.Archive(TargetKind.Shell);
        byte[] bytes = File.ReadAllBytes(archive);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 0, 4096);
        string withoutFormat = string.Join('\n', header.Split('\n').Where(line => !line.StartsWith("XAR_FORMAT=") && !line.StartsWith("XAR_IMAGE_SHA256=")));
        byte[] newHeader = new byte[4096];
        newHeader.AsSpan().Fill((byte)'\n');
        System.Text.Encoding.UTF8.GetBytes(withoutFormat.TrimEnd('\n') + "\n").CopyTo(newHeader, 0);
        newHeader.CopyTo(bytes, 0);
        File.WriteAllBytes(archive, bytes);

        RunResult result = _sandbox.Launch(archive, ["a b"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be($"mode=mount new=1\narg=[{archive}]\narg=[a b]\n");
    }
}
