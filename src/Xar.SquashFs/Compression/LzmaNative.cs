using System.Runtime.InteropServices;

namespace Xar.SquashFs.Compression;

/// <summary>The part of liblzma's API (lzma.h, 5.0+) used by the xz and legacy lzma codecs.</summary>
internal static unsafe partial class LzmaNative
{
    public const string LibraryName = "liblzma.so.5";

    /// <summary>LZMA_VLI_UNKNOWN: terminates a filter chain.</summary>
    public const ulong FilterChainEnd = ulong.MaxValue;
    public const ulong FilterLzma2 = 0x21;
    public const ulong FilterX86 = 0x04;
    public const ulong FilterPowerPc = 0x05;
    public const ulong FilterIa64 = 0x06;
    public const ulong FilterArm = 0x07;
    public const ulong FilterArmThumb = 0x08;
    public const ulong FilterSparc = 0x09;

    /// <summary>LZMA_CHECK_CRC32: the only integrity check the kernel's xz decoder accepts.</summary>
    public const int CheckCrc32 = 1;

    /// <summary>LZMA_FINISH: all input is present; decode or encode to the end.</summary>
    public const int ActionFinish = 3;

    [LibraryImport(LibraryName)]
    public static partial LzmaResult lzma_stream_buffer_encode(LzmaFilter* filters, int check, void* allocator,
        byte* input, nuint inputSize, byte* output, nuint* outputPosition, nuint outputSize);

    [LibraryImport(LibraryName)]
    public static partial byte lzma_lzma_preset(LzmaOptions* options, uint preset);

    [LibraryImport(LibraryName)]
    public static partial LzmaResult lzma_stream_decoder(LzmaStream* stream, ulong memoryLimit, uint flags);

    [LibraryImport(LibraryName)]
    public static partial LzmaResult lzma_alone_decoder(LzmaStream* stream, ulong memoryLimit);

    [LibraryImport(LibraryName)]
    public static partial LzmaResult lzma_code(LzmaStream* stream, int action);

    [LibraryImport(LibraryName)]
    public static partial void lzma_end(LzmaStream* stream);
}

/// <summary>lzma_ret.</summary>
internal enum LzmaResult
{
    Ok = 0,
    StreamEnd = 1,
    NoCheck = 2,
    UnsupportedCheck = 3,
    GetCheck = 4,
    MemoryError = 5,
    MemoryLimitError = 6,
    FormatError = 7,
    OptionsError = 8,
    DataError = 9,
    BufferError = 10,
    ProgrammingError = 11,
}

/// <summary>lzma_filter: one link of a filter chain.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LzmaFilter(ulong id, void* options)
{
    public ulong Id = id;
    public void* Options = options;
}

/// <summary>
/// lzma_options_lzma (112 bytes on LP64). <c>lzma_lzma_preset</c> fills every field; the codec
/// then overrides only the dictionary size, so the rest stay private.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LzmaOptions
{
    public uint DictionarySize;
    private void* _presetDictionary;
    private uint _presetDictionarySize;
    private uint _literalContextBits;
    private uint _literalPositionBits;
    private uint _positionBits;
    private int _mode;
    private uint _niceLength;
    private int _matchFinder;
    private uint _depth;
    private uint _extFlags;
    private uint _extSizeLow;
    private uint _extSizeHigh;
    private fixed uint _reservedInts[5];
    private fixed int _reservedEnums[4];
    private void* _reservedPointer1;
    private void* _reservedPointer2;
}

/// <summary>lzma_stream (136 bytes on LP64). All-zero is LZMA_STREAM_INIT.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LzmaStream
{
    public byte* NextIn;
    public nuint AvailIn;
    public ulong TotalIn;
    public byte* NextOut;
    public nuint AvailOut;
    public ulong TotalOut;
    private void* _allocator;
    private void* _internal;
    private void* _reservedPointer1;
    private void* _reservedPointer2;
    private void* _reservedPointer3;
    private void* _reservedPointer4;
    private ulong _seekPosition;
    private ulong _reservedInt2;
    private nuint _reservedInt3;
    private nuint _reservedInt4;
    private int _reservedEnum1;
    private int _reservedEnum2;
}

/// <summary>
/// An lzma_stream in native memory (liblzma keeps internal state that must not move), ended with
/// lzma_end and freed by Dispose or, if that never happens, by the finalizer. Re-initialising a
/// decoder on the same stream reuses its dictionary buffer, so blocks after the first allocate
/// nothing.
/// </summary>
internal sealed unsafe class LzmaStreamHandle : SafeHandle
{
    public LzmaStreamHandle() : base(0, ownsHandle: true) =>
        SetHandle((nint)NativeMemory.AllocZeroed((nuint)sizeof(LzmaStream)));

    public override bool IsInvalid => handle == 0;

    public LzmaStream* Stream
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (LzmaStream*)handle;
        }
    }

    protected override bool ReleaseHandle()
    {
        LzmaNative.lzma_end((LzmaStream*)handle);
        NativeMemory.Free((void*)handle);
        return true;
    }
}
