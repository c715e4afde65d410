using Xar.Archive;

namespace Xar.Runtime.Tests;

/// <summary>What a disposed <see cref="Sandbox"/> leaves: no mount of its archives, wherever they were mounted.</summary>
public sealed class SandboxTests
{
    /// <summary>
    /// An archive without MOUNT_ROOT mounts in a default root (/dev/shm/uid-N), outside the
    /// sandbox; its server killed (as the recovery tests do), the mount is dead. Disposing detaches
    /// it and removes the lock file the launcher made beside it.
    /// </summary>
    [Fact]
    public void Disposing_detaches_a_dead_mount_of_its_archive_in_a_default_root_and_removes_its_lock_file()
    {
        string archive, mountPath;
        using (var sandbox = new Sandbox())
        {
            archive = TestArchives.Build(sandbox.Root, TargetKind.Shell, XarLayout.Xarexec, mountRoot: null);
            sandbox.Launch(archive, ["x"]).ExitCode.Should().Be(0);
            mountPath = sandbox.Xarexec("-n", archive).Stdout.Trim();
            Mounts.WithSources().Should().Contain((mountPath, archive));
            foreach (int pid in sandbox.ServerProcesses(mountPath))
                System.Diagnostics.Process.GetProcessById(pid).Kill();
        }

        Mounts.WithSources().Should().NotContain(mount => mount.Source == archive);
        File.Exists(Path.Combine(Path.GetDirectoryName(mountPath)!, "lockfile." + Path.GetFileName(mountPath))).Should().BeFalse();
        Directory.Exists(mountPath).Should().BeFalse();
    }
}
