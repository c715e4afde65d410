using System.Runtime.InteropServices;
using Xar.Archive.Elf;

namespace Xar.Archive;

/// <summary>
/// A machine archives are built for (<c>xar build --target</c>): the .NET runtime identifier its
/// launcher is published for, the ELF e_machine of every executable and library it may carry, and
/// the architecture as uname and Python's platform tags name it (<c>linux_aarch64</c>).
/// </summary>
public sealed class TargetPlatform
{
    public static readonly TargetPlatform LinuxX64 = new("linux-x64", ElfObject.MachineX86_64, "x86_64");
    public static readonly TargetPlatform LinuxArm64 = new("linux-arm64", ElfObject.MachineAArch64, "aarch64");

    /// <summary>Every target a launcher is built for (src/Xar.Cli/Xar.Cli.csproj embeds one per target).</summary>
    public static IReadOnlyList<TargetPlatform> All { get; } = [LinuxX64, LinuxArm64];

    private TargetPlatform(string runtimeIdentifier, ushort elfMachine, string architecture)
    {
        RuntimeIdentifier = runtimeIdentifier;
        ElfMachine = elfMachine;
        Architecture = architecture;
    }

    /// <summary>linux-x64, linux-arm64: what --target takes and what XAR_PLATFORM records.</summary>
    public string RuntimeIdentifier { get; }

    public ushort ElfMachine { get; }

    /// <summary>x86_64, aarch64.</summary>
    public string Architecture { get; }

    /// <summary>The machine this process runs on.</summary>
    /// <exception cref="PlatformNotSupportedException">Neither x86-64 nor arm64.</exception>
    public static TargetPlatform Host => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => LinuxX64,
        System.Runtime.InteropServices.Architecture.Arm64 => LinuxArm64,
        var other => throw new PlatformNotSupportedException($"xar builds on x86-64 and arm64 hosts, not {other}"),
    };

    /// <summary>The target a runtime identifier names, or null.</summary>
    public static TargetPlatform? Find(string runtimeIdentifier) => All.FirstOrDefault(t => t.RuntimeIdentifier == runtimeIdentifier);

    /// <summary>
    /// Checks that <paramref name="elf"/> runs on this target: one line naming
    /// <paramref name="path"/>, its machine and the target's otherwise.
    /// </summary>
    /// <exception cref="IOException">The object is for another machine.</exception>
    public void Check(ElfObject elf, string path)
    {
        ArgumentNullException.ThrowIfNull(elf);
        if (elf.Machine != ElfMachine)
            throw new IOException($"{path}: an ELF object for {elf.MachineName}, but the target is {RuntimeIdentifier} ({ElfObject.NameOf(ElfMachine)})");
    }

    public override string ToString() => RuntimeIdentifier;
}
