using System.Runtime.InteropServices;
using System.Text;

namespace Xar.Interop;

/// <summary>
/// NUL-terminated UTF-8 copies of strings in native memory, for calls that take pointers the
/// garbage collector must not move and a forked child may read (posix_spawn's and execve's path,
/// argv and envp): all freed together on Dispose.
/// </summary>
public sealed unsafe class NativeStrings : IDisposable
{
    private readonly List<nint> _allocations = [];

    /// <summary>A copy of <paramref name="text"/>.</summary>
    public byte* Add(string text)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        byte* copy = (byte*)NativeMemory.Alloc((nuint)length + 1);
        _allocations.Add((nint)copy);
        Encoding.UTF8.GetBytes(text, new Span<byte>(copy, length));
        copy[length] = 0;
        return copy;
    }

    /// <summary>A NULL-terminated array of copies of <paramref name="texts"/> (an argv or envp).</summary>
    public byte** AddAll(string[] texts)
    {
        byte** array = (byte**)NativeMemory.Alloc((nuint)(texts.Length + 1), (nuint)sizeof(byte*));
        _allocations.Add((nint)array);
        for (int i = 0; i < texts.Length; i++)
            array[i] = Add(texts[i]);
        array[texts.Length] = null;
        return array;
    }

    public void Dispose()
    {
        foreach (nint allocation in _allocations)
            NativeMemory.Free((void*)allocation);
        _allocations.Clear();
    }
}
