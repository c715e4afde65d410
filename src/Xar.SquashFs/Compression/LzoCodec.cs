using System.Runtime.InteropServices;

namespace Xar.SquashFs.Compression;

/// <summary>
/// SquashFS "lzo" blocks: raw LZO1X, whichever lzo1x_* variant compressed them (they share one
/// decoder). Read-only here.
/// </summary>
internal sealed unsafe class LzoDecompressor : BlockDecompressor
{
    public LzoDecompressor() => NativeCodecLibrary.Lzo.EnsureLoaded("lzo");

    public override int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        nuint length = (nuint)destination.Length;
        int result;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
            result = LzoNative.lzo1x_decompress_safe(src, (nuint)source.Length, dst, &length, null);
        return result switch
        {
            LzoNative.Ok => (int)length,
            LzoNative.OutputOverrun => throw new SquashFsException($"lzo: block expands beyond {destination.Length} bytes"),
            _ => throw new SquashFsException($"lzo: corrupt block ({LzoNative.ErrorName(result)})"),
        };
    }
}

/// <summary>The LZO1X decoder of liblzo2 (lzo1x.h, 2.x).</summary>
internal static unsafe partial class LzoNative
{
    public const string LibraryName = "liblzo2.so.2";

    public const int Ok = 0;
    public const int OutputOverrun = -5;

    /// <summary>lzo_uint is unsigned long: pointer-sized on LP64 Linux.</summary>
    [LibraryImport(LibraryName)]
    public static partial int lzo1x_decompress_safe(byte* source, nuint sourceLength, byte* destination, nuint* destinationLength, void* workMemory);

    public static string ErrorName(int result) => result switch
    {
        -4 => "input overrun",
        -6 => "lookbehind overrun",
        -7 => "end of stream not found",
        -8 => "input not consumed",
        _ => $"LZO error {result}",
    };
}
