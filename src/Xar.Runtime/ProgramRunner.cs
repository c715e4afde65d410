using System.Runtime.InteropServices;
using System.Text;
using Xar.Interop;


namespace Xar.Runtime;

/// <summary>How a helper program ended.</summary>
internal readonly record struct ProgramResult(int ExitCode, int Signal, string Stderr)
{
    public bool Succeeded => ExitCode == 0 && Signal == 0;

    /// <summary>"exit status N" or "signal N", then the first line of stderr if there is one.</summary>
    public string Describe(string program)
    {
        string how = Signal != 0 ? $"{program} was killed by signal {Signal}" : $"{program} failed with exit status {ExitCode}";
        string firstLine = Stderr.Trim().Split('\n')[0].Trim();
        return firstLine.Length == 0 ? how : $"{how}: {firstLine}";
    }
}

/// <summary>
/// Runs helper programs (squashfuse_ll, fusermount3) with posix_spawn: fork() is unsafe in a
/// running .NET process, and System.Diagnostics.Process would add to the launcher's size and
/// start-up. stdin and stdout are /dev/null; stderr is captured for the error message.
/// </summary>
internal static unsafe class ProgramRunner
{
    /// <summary>Looks <paramref name="program"/> up in <paramref name="searchPath"/>; null when no executable file of that name is found.</summary>
    public static string? Find(string program, string? searchPath)
    {
        if (string.IsNullOrEmpty(searchPath))
            return null;
        foreach (string directory in searchPath.Split(':'))
        {
            if (directory.Length == 0)
                continue;
            string candidate = directory + "/" + program;
            if (IsExecutableFile(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>A regular file (after symlinks) that the caller may execute.</summary>
    public static bool IsExecutableFile(string path) =>
        LibC.Stat(path, followSymlinks: true, out StatX stat) == 0 && stat.IsRegularFile && LibC.access(path, LibC.X_OK) == 0;

    /// <summary>Runs <paramref name="path"/> with <paramref name="arguments"/> (argv[0] included) and waits for it to exit.</summary>
    /// <exception cref="IOException">The program could not be started.</exception>
    public static ProgramResult Run(string path, params string[] arguments)
    {
        int pid = Start(path, arguments, newSession: false, out int readEnd);
        try
        {
            int status = Wait(pid, path);
            // Read only what is there: a daemon that kept our stderr open must not make us wait.
            LibC.fcntl(readEnd, LibC.F_SETFL, LibC.O_NONBLOCK);
            string stderr = Drain(readEnd);
            int signal = status & 0x7F;
            return signal != 0 ? new ProgramResult(0, signal, stderr) : new ProgramResult((status >> 8) & 0xFF, 0, stderr);
        }
        finally
        {
            LibC.close(readEnd);
        }
    }

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="arguments"/> (argv[0] included) without
    /// waiting: stdin and stdout /dev/null, stderr the write end of a pipe whose close-on-exec read
    /// end is <paramref name="stderrReadEnd"/> (or, without <paramref name="captureStderr"/>, ours,
    /// and -1); with <paramref name="newSession"/> in a session of its own (setsid).
    /// </summary>
    /// <returns>The child's pid.</returns>
    /// <exception cref="IOException">The program could not be started.</exception>
    public static int Start(string path, string[] arguments, bool newSession, out int stderrReadEnd, bool captureStderr = true)
    {
        int* pipe = stackalloc int[2] { -1, -1 };
        if (captureStderr && LibC.pipe2(pipe, LibC.O_CLOEXEC) != 0)
            throw new IOException($"pipe: {LibC.ErrorText(LibC.LastError)}");
        int readEnd = pipe[0];
        int writeEnd = pipe[1];
        // Large enough for glibc's posix_spawn_file_actions_t (80 bytes on 64-bit) and posix_spawnattr_t (336).
        byte* actions = stackalloc byte[256];
        byte* attributes = stackalloc byte[512];
        LibC.posix_spawn_file_actions_init(actions);
        LibC.posix_spawnattr_init(attributes);
        using var strings = new NativeStrings();
        try
        {
            byte* devNull = strings.Add("/dev/null");
            LibC.posix_spawn_file_actions_addopen(actions, 0, devNull, LibC.O_RDONLY, 0);
            LibC.posix_spawn_file_actions_addopen(actions, 1, devNull, LibC.O_RDWR, 0);
            if (captureStderr)
                LibC.posix_spawn_file_actions_adddup2(actions, writeEnd, 2);
            if (newSession)
                LibC.posix_spawnattr_setflags(attributes, LibC.POSIX_SPAWN_SETSID);

            byte** argv = strings.AddAll(arguments);

            int pid;
            int error = LibC.posix_spawn(&pid, strings.Add(path), actions, attributes, argv, Environ.Current);
            if (error != 0)
                throw new IOException($"cannot run {path}: {LibC.ErrorText(error)}");
            stderrReadEnd = readEnd;
            readEnd = -1;
            return pid;
        }
        finally
        {
            LibC.posix_spawn_file_actions_destroy(actions);
            LibC.posix_spawnattr_destroy(attributes);
            if (readEnd >= 0)
                LibC.close(readEnd);
            if (writeEnd >= 0)
                LibC.close(writeEnd);
        }
    }

    /// <summary>waitpid with EINTR retried; the wait status.</summary>
    /// <exception cref="IOException">waitpid failed.</exception>
    public static int Wait(int pid, string path)
    {
        int status;
        while (LibC.waitpid(pid, &status, 0) < 0)
        {
            int errno = LibC.LastError;
            if (errno != LibC.EINTR)
                throw new IOException($"waitpid {path}: {LibC.ErrorText(errno)}");
        }
        return status;
    }

    /// <summary>What is in the pipe <paramref name="fd"/> (up to 64 KiB), as UTF-8.</summary>
    public static string Drain(int fd)
    {
        var output = new MemoryStream();
        byte* buffer = stackalloc byte[4096];
        while (output.Length < 65536)
        {
            nint n = LibC.read(fd, buffer, 4096);
            if (n <= 0)
                break;
            output.Write(new ReadOnlySpan<byte>(buffer, (int)n));
        }
        return Encoding.UTF8.GetString(output.GetBuffer(), 0, (int)output.Length);
    }
}
