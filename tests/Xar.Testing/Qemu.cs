namespace Xar.Testing;

/// <summary>
/// aarch64 programs run on this x86-64 host under qemu-user (Debian's qemu-user-static and
/// binfmt-support, scripts/lib/prerequisites.sh): the kernel hands them to qemu through
/// binfmt_misc, whose entry has the F flag (the interpreter is opened when registered), so they run
/// inside a chroot too.
/// </summary>
public static class Qemu
{
    private const string BinfmtDirectory = "/proc/sys/fs/binfmt_misc";
    private static readonly Lazy<bool> s_registered = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Where an aarch64 program started on this host finds its dynamic loader and libc (libc6-arm64-cross).</summary>
    public const string CrossLibraries = "/usr/aarch64-linux-gnu";

    /// <summary>Makes sure binfmt_misc hands aarch64 ELF executables to qemu-aarch64: mounts binfmt_misc and enables Debian's entry when needed.</summary>
    public static void RegisterAarch64() => _ = s_registered.Value;

    /// <summary>The environment an aarch64 program started on this host (not in an arm64 root) needs: qemu's library prefix.</summary>
    public static IReadOnlyDictionary<string, string?> HostEnvironment { get; } = new Dictionary<string, string?> { ["QEMU_LD_PREFIX"] = CrossLibraries };

    private static bool Register()
    {
        string entry = Path.Combine(BinfmtDirectory, "qemu-aarch64");
        if (!File.Exists(Path.Combine(BinfmtDirectory, "register")))
            Run.Checked("mount", ["-t", "binfmt_misc", "binfmt_misc", BinfmtDirectory]);
        if (!File.Exists(entry))
            Run.Checked("update-binfmts", ["--enable", "qemu-aarch64"]);
        string state = File.ReadAllText(entry);
        if (!state.StartsWith("enabled", StringComparison.Ordinal) || !state.Contains("flags: ") || !state.Split("flags: ")[1].Split('\n')[0].Contains('F'))
            throw new InvalidOperationException($"{entry}: not enabled with the F flag (qemu-user-static's entry has it):\n{state}");
        return true;
    }
}
