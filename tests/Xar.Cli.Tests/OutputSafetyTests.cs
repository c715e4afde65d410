using System.Diagnostics;
using System.Security.Cryptography;
using Xar.Cli;
using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// Where `xar squashfs create` and `xar build` write (run as root, as they often are): never
/// through a planted link at a temporary name, never renaming over a FIFO, device node or pipe,
/// nothing left behind when interrupted, and holes in sparse inputs not read.
/// </summary>
public sealed class OutputSafetyTests : IDisposable
{
    private static readonly string Xar = typeof(XarCommandLine).Assembly.Location.Replace(".dll", "");
    private readonly TempDirectory _temp = new("outputs");

    public void Dispose() => _temp.Dispose();

    private string Tree()
    {
        string source = _temp.Combine("src");
        Directory.CreateDirectory(Path.Combine(source, "pkg"));
        File.WriteAllText(Path.Combine(source, "pkg/a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(source, "run.sh"), "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(Path.Combine(source, "run.sh"), (UnixFileMode)Convert.ToInt32("755", 8));
        return source;
    }

    /// <summary>The image of <see cref="Tree"/> written to a regular file, to compare what went elsewhere with.</summary>
    private byte[] ReferenceImage(string source)
    {
        string reference = _temp.Combine("reference.img");
        XarTool.Run("squashfs", "create", source, reference, "--mtime", "1600000000", "-q").ExitCode.Should().Be(0);
        return File.ReadAllBytes(reference);
    }

    private static string Describe(string path) => Run.Checked("stat", ["-c", "%F %t:%T %a", path]).Trim();

    [Fact]
    public void A_symlink_planted_at_the_old_temporary_name_is_not_followed()
    {
        string source = Tree();
        string victim = _temp.Write("victim", "precious\n");
        string image = _temp.Combine("out.img");
        // The name the writer used to create with FileMode.Create, which follows links.
        string planted = _temp.Combine($".out.img.{Environment.ProcessId}.tmp");
        File.CreateSymbolicLink(planted, victim);

        XarTool.Run("squashfs", "create", source, image, "-q").ExitCode.Should().Be(0);

        File.ReadAllText(victim).Should().Be("precious\n");
        new FileInfo(image).LinkTarget.Should().BeNull("the image is a new regular file, not the planted link");
        Run.Checked("unsquashfs", ["-l", image]).Should().Contain("squashfs-root/pkg/a.txt");
        Directory.GetFiles(_temp.Path, ".out.img.*").Should().Equal(planted);
    }

    [Fact]
    public void An_output_onto_a_character_device_writes_into_it_and_leaves_the_node()
    {
        string source = Tree();
        string device = _temp.Combine("null");
        Run.Checked("mknod", ["-m", "620", device, "c", "1", "3"]);
        string before = Describe(device);

        XarTool.Run("squashfs", "create", source, device, "-q").Should().Be(new RunResult(0, "", ""));
        Describe(device).Should().Be(before);
        XarTool.Run("build", "--raw", source, "--exec", "run.sh", "--layout", "xarexec", "-o", device).ExitCode.Should().Be(0);
        Describe(device).Should().Be(before, "neither replaced nor chmodded to the archive's mode");
        Directory.GetFiles(_temp.Path, ".null.*").Should().BeEmpty();
    }

    [Fact]
    public async Task An_output_onto_a_fifo_streams_the_image_through_it()
    {
        string source = Tree();
        byte[] expected = ReferenceImage(source);
        string fifo = _temp.Combine("fifo");
        Run.Checked("mkfifo", [fifo]);
        string copy = _temp.Combine("copy");
        // A reader in another process, bounded: before the fix the FIFO was replaced and this open never returned.
        var reader = Task.Run(() => Run.Program("sh", ["-c", "timeout 60 cat \"$0\" > \"$1\"", fifo, copy]));

        XarTool.Run("squashfs", "create", source, fifo, "--mtime", "1600000000", "-q").Should().Be(new RunResult(0, "", ""));

        (await reader.WaitAsync(TimeSpan.FromSeconds(90))).ExitCode.Should().Be(0, "the reader got end of file, not a timeout");
        File.ReadAllBytes(copy).Should().Equal(expected);
        Describe(fifo).Should().StartWith("fifo");
    }

    [Fact]
    public void An_output_onto_standard_output_writes_the_image_into_the_pipe()
    {
        string source = Tree();
        byte[] expected = ReferenceImage(source);
        // Without -q too: the report goes to stderr when the output is stdout.
        Run.CheckedBytes(Xar, ["squashfs", "create", source, "/proc/self/fd/1", "--mtime", "1600000000"]).Should().Equal(expected);
        // What /dev/stdout is, without going near the real one: a link to the pipe, which stays a link.
        string stdoutLink = _temp.Combine("stdout");
        File.CreateSymbolicLink(stdoutLink, "/proc/self/fd/1");
        Run.CheckedBytes(Xar, ["squashfs", "create", source, stdoutLink, "--mtime", "1600000000", "-q"]).Should().Equal(expected);
        new FileInfo(stdoutLink).LinkTarget.Should().Be("/proc/self/fd/1");

        File.WriteAllText(Path.Combine(source, "run.sh"), "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(Path.Combine(source, "run.sh"), (UnixFileMode)0x1ED);
        string archive = _temp.Combine("app.xar");
        XarTool.Run("build", "--raw", source, "--exec", "run.sh", "-o", archive, "--layout", "xarexec").ExitCode.Should().Be(0);
        Run.CheckedBytes(Xar, ["build", "--raw", source, "--exec", "run.sh", "-o", "/proc/self/fd/1", "--layout", "xarexec"])
            .Should().Equal(File.ReadAllBytes(archive), "the archive alone is on stdout, its report on stderr");
    }

    [Fact]
    public void An_output_that_is_a_symlink_replaces_the_file_it_points_to()
    {
        string source = Tree();
        byte[] expected = ReferenceImage(source);
        Directory.CreateDirectory(_temp.Combine("real"));
        string target = _temp.Write("real/app.img", "old\n");
        string link = _temp.Combine("link.img");
        File.CreateSymbolicLink(link, "real/app.img");

        XarTool.Run("squashfs", "create", source, link, "--mtime", "1600000000", "-q").ExitCode.Should().Be(0);

        new FileInfo(link).LinkTarget.Should().Be("real/app.img");
        File.ReadAllBytes(target).Should().Equal(expected);
        Directory.GetFiles(_temp.Path, ".*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public void An_output_that_is_a_dangling_symlink_is_refused()
    {
        string source = Tree();
        string link = _temp.Combine("dangling.img");
        File.CreateSymbolicLink(link, "nowhere/app.img");
        Directory.CreateDirectory(_temp.Combine("nowhere"));

        var (status, stdout, stderr) = XarTool.Run("squashfs", "create", source, link, "-q");

        (status, stdout).Should().Be((1, ""));
        stderr.Should().StartWith($"xar: {link}: ").And.Contain("symlink").And.EndWith("\n");
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(1);
        File.Exists(_temp.Combine("nowhere/app.img")).Should().BeFalse();
        new FileInfo(link).LinkTarget.Should().Be("nowhere/app.img");
    }

    [Fact]
    public void An_output_that_is_a_directory_is_refused_in_one_line()
    {
        string source = Tree();
        string directory = _temp.Combine("dir");
        Directory.CreateDirectory(directory);

        var (status, _, stderr) = XarTool.Run("squashfs", "create", source, directory, "-q");

        status.Should().Be(1);
        stderr.Should().Be($"xar: {directory}: is a directory, not a file to write to\n");
        Directory.GetFileSystemEntries(directory).Should().BeEmpty();
    }

    /// <summary>
    /// Interrupted while writing (the temporary file exists), the command removes it and exits as
    /// a shell expects of a program killed by the signal (128 + its number).
    /// </summary>
    [Theory]
    [InlineData("create", "INT", 130)]
    [InlineData("create", "TERM", 143)]
    [InlineData("create", "HUP", 129)]
    [InlineData("build", "INT", 130)]
    [InlineData("build", "TERM", 143)]
    [InlineData("create", "KILL", 137)]
    [InlineData("build", "KILL", 137)]
    public async Task An_interrupted_write_leaves_no_temporary_file(string command, string signal, int expectedStatus)
    {
        // Incompressible data under xz on one thread: seconds of work, so the signal lands mid-way.
        string source = _temp.Combine("big");
        Directory.CreateDirectory(source);
        for (int i = 0; i < 8; i++)
            File.WriteAllBytes(Path.Combine(source, $"random{i}"), RandomNumberGenerator.GetBytes(8 << 20));
        File.WriteAllText(Path.Combine(source, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(source, "run.sh"), (UnixFileMode)Convert.ToInt32("755", 8));
        string output = _temp.Combine("out.img");
        string[] arguments = command == "create"
            ? ["squashfs", "create", source, output, "--compression", "xz", "-j", "1"]
            : ["build", "--raw", source, "--exec", "run.sh", "--layout", "xarexec", "-o", output, "--compression", "xz", "-j", "1"];

        // env resets the signals to their default: a test host started in the background ignores SIGINT, and children inherit that.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["--default-signal", Xar, .. arguments]) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        while (!IsWritingTemporary(process.Id))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"exited with {process.ExitCode} before its temporary file appeared: {await stderr}");
            deadline.Elapsed.Should().BeLessThan(TimeSpan.FromMinutes(1));
            Thread.Sleep(2); // not Task.Delay: see An_interrupted_or_failed_extraction_leaves_no_destination
        }
        Run.Checked("kill", [$"-{signal}", process.Id.ToString()]);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
            await process.WaitForExitAsync(timeout.Token);

        process.ExitCode.Should().Be(expectedStatus, await stderr);
        Directory.GetFiles(_temp.Path, ".out.img.*").Should().BeEmpty();
        File.Exists(output).Should().BeFalse();
        (await stdout).Should().BeEmpty();
    }

    /// <summary>Whether process <paramref name="pid"/> has its temporary output open: named (.out.img.*.tmp) or unnamed (O_TMPFILE, "#inode (deleted)").</summary>
    private bool IsWritingTemporary(int pid)
    {
        string[] descriptors;
        try
        {
            descriptors = Directory.GetFileSystemEntries($"/proc/{pid}/fd");
        }
        catch (DirectoryNotFoundException)
        {
            return false; // it exited: the caller's loop says how
        }
        foreach (string fd in descriptors)
        {
            string? target = null;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
            }
            if (target is not null && (target.StartsWith(_temp.Combine("#"), StringComparison.Ordinal)
                || (target.StartsWith(_temp.Combine(".out.img."), StringComparison.Ordinal) && target.EndsWith(".tmp", StringComparison.Ordinal))))
                return true;
        }
        return false;
    }

    /// <summary>
    /// `xar extract` into a destination that does not exist makes it whole or not at all: failed
    /// (a hostile image) or interrupted half-way, it leaves neither the destination nor its
    /// temporary tree.
    /// </summary>
    [Fact]
    public async Task An_interrupted_or_failed_extraction_leaves_no_destination()
    {
        string source = _temp.Combine("many");
        for (int d = 0; d < 100; d++)
        {
            Directory.CreateDirectory(Path.Combine(source, $"d{d}"));
            for (int f = 0; f < 400; f++)
                File.WriteAllText(Path.Combine(source, $"d{d}", $"f{f}"), $"{d} {f}\n");
        }
        string image = _temp.Combine("many.img");
        XarTool.Run("squashfs", "create", source, image, "-q").ExitCode.Should().Be(0);
        string destination = _temp.Combine("dest");

        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["--default-signal", Xar, "squashfs", "extract", image, destination]) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        // Polled on this thread, without awaiting: a Task.Delay continuation waits for a pool
        // thread, and with the suite's other tests holding them it once came back after the whole
        // extraction (about a second) had finished.
        while (Directory.GetDirectories(_temp.Path, ".dest.*.tmp").Length == 0)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"exited with {process.ExitCode} before its temporary tree appeared: {await stderr}");
            deadline.Elapsed.Should().BeLessThan(TimeSpan.FromMinutes(1));
            Thread.Sleep(2);
        }
        Run.Checked("kill", ["-INT", process.Id.ToString()]);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
            await process.WaitForExitAsync(timeout.Token);

        process.ExitCode.Should().Be(130, await stderr);
        Path.Exists(destination).Should().BeFalse();
        Directory.GetDirectories(_temp.Path, ".dest.*").Should().BeEmpty();

        var completed = XarTool.Run("squashfs", "extract", image, destination);
        completed.ExitCode.Should().Be(0, completed.Stderr);
        File.ReadAllText(Path.Combine(destination, "d99", "f399")).Should().Be("99 399\n");
        Directory.GetDirectories(_temp.Path, ".dest.*").Should().BeEmpty();
    }

    /// <summary>
    /// Interrupted while pip builds the project's wheel, `xar build` ends pip and the build
    /// backend it runs, and removes its scratch directory with pip's temporary files.
    /// </summary>
    [Fact]
    public async Task An_interrupted_python_build_ends_pip_and_removes_its_scratch_files()
    {
        string project = _temp.Combine("slowapp");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "pyproject.toml"),
            "[build-system]\nrequires = []\nbuild-backend = \"slowbackend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"slowapp\"\nversion = \"1.0\"\n");
        // A backend that says it is running, then takes its time.
        File.WriteAllText(Path.Combine(project, "slowbackend.py"), """
            import os, time
            def get_requires_for_build_wheel(config_settings=None):
                return []
            def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
                with open(os.environ["SLOW_BACKEND_PID"] + ".part", "w") as f:
                    f.write(str(os.getpid()))
                os.rename(os.environ["SLOW_BACKEND_PID"] + ".part", os.environ["SLOW_BACKEND_PID"])
                time.sleep(120)
            """);
        string temporary = _temp.Combine("tmp");
        Directory.CreateDirectory(temporary);
        string pidFile = _temp.Combine("backend.pid");

        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["--default-signal", Xar, "build", project, "-o", _temp.Combine("app.xar"), "--layout", "xarexec", "--no-index"])
            start.ArgumentList.Add(argument);
        start.Environment["TMPDIR"] = temporary;
        start.Environment["SLOW_BACKEND_PID"] = pidFile;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(pidFile))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"exited with {process.ExitCode} before the backend ran: {await stderr}");
            deadline.Elapsed.Should().BeLessThan(TimeSpan.FromMinutes(2));
            await Task.Delay(50);
        }
        int backend = int.Parse(File.ReadAllText(pidFile));
        Run.Checked("kill", ["-TERM", process.Id.ToString()]);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
            await process.WaitForExitAsync(timeout.Token);

        process.ExitCode.Should().Be(143, await stderr);
        // Gone, or a zombie that no init reaps in this container: not running either way.
        string? state = File.Exists($"/proc/{backend}/stat") ? File.ReadAllText($"/proc/{backend}/stat").Split(") ")[1][..1] : null;
        (state is null or "Z").Should().BeTrue($"the build backend {backend} was ended with pip (state {state})");
        Directory.GetFileSystemEntries(temporary).Where(e => Path.GetFileName(e).StartsWith("xar-build-", StringComparison.Ordinal)
            || Path.GetFileName(e).StartsWith("pip-", StringComparison.Ordinal)).Should().BeEmpty();
    }

    /// <summary>
    /// Compares two files of the same size byte for byte over the data extents of either
    /// (SEEK_DATA/SEEK_HOLE): elsewhere both are holes, which read as zeros. cmp would read
    /// gigabytes of zeros from each.
    /// </summary>
    private const string SparseCompare = """
        import os, sys
        def extents(path):
            fd = os.open(path, os.O_RDONLY)
            size, found, position = os.fstat(fd).st_size, [], 0
            while position < size:
                try:
                    data = os.lseek(fd, position, os.SEEK_DATA)
                except OSError:
                    break
                position = os.lseek(fd, data, os.SEEK_HOLE)
                found.append((data, position))
            os.close(fd)
            return size, found
        (size_a, extents_a), (size_b, extents_b) = extents(sys.argv[1]), extents(sys.argv[2])
        assert size_a == size_b, (size_a, size_b)
        with open(sys.argv[1], "rb") as a, open(sys.argv[2], "rb") as b:
            for start, end in extents_a + extents_b:
                a.seek(start)
                b.seek(start)
                while start < end:
                    n = min(1 << 20, end - start)
                    if a.read(n) != b.read(n):
                        sys.exit(f"differ in [{start}, {start + n})")
                    start += n
        print("same")
        """;

    /// <summary>
    /// A 5 GiB file with three small data extents: its holes are not read (the child's rchar, all
    /// bytes read by read/pread, stays far below the file's size), and unsquashfs gives it back
    /// byte for byte, as a sparse file.
    /// </summary>
    [Fact]
    public void Holes_of_a_sparse_input_are_not_read()
    {
        const long size = 5L << 30;
        string source = _temp.Combine("sparse");
        Directory.CreateDirectory(source);
        string file = Path.Combine(source, "disk.raw");
        long[] extents = [0, (1L << 30) + 12345, size - 70000];
        using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write))
        {
            stream.SetLength(size);
            foreach (long offset in extents)
            {
                stream.Position = offset;
                stream.Write(RandomNumberGenerator.GetBytes(65536));
            }
        }
        string image = _temp.Combine("sparse.img");

        // The shell's /proc/PID/io includes its reaped children's reads.
        string report = Run.Checked("sh", ["-c", "\"$0\" squashfs create \"$1\" \"$2\" -q || exit 1; cat /proc/$$/io", Xar, source, image]);
        long readBytes = long.Parse(report.Split('\n').Single(l => l.StartsWith("rchar:", StringComparison.Ordinal))["rchar:".Length..].Trim());
        readBytes.Should().BeLessThan(512L << 20, "only the data extents (and the program's own files) are read");

        string extracted = _temp.Combine("extracted");
        Run.Checked("unsquashfs", ["-q", "-n", "-d", extracted, image]);
        string copy = Path.Combine(extracted, "disk.raw");
        new FileInfo(copy).Length.Should().Be(size);
        Run.Checked("python3", ["-c", SparseCompare, file, copy]).Should().Be("same\n");
        long allocated = long.Parse(Run.Checked("stat", ["-c", "%b", copy]).Trim()) * 512;
        allocated.Should().BeLessThan(64L << 20, "unsquashfs recreated the holes from sparse blocks");
    }
}
