namespace Xar.Interop;

/// <summary>
/// The four bytes every ELF object starts with (e_ident[EI_MAG0..3], what execve looks for): one
/// definition for the layers that recognise ELF files — the archive's self layout and ELF reader,
/// the FUSE server's prefetch — of which Xar.Fuse must not reference Xar.Archive.
/// </summary>
public static class ElfMagic
{
    public static ReadOnlySpan<byte> Bytes => [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>Whether <paramref name="start"/>, the first bytes of a file, begins with the magic.</summary>
    public static bool Starts(ReadOnlySpan<byte> start) => start.StartsWith(Bytes);
}
