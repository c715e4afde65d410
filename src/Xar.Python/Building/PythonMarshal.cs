using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Xar.Python.Building;

/// <summary>
/// Writes the few value types of Python's <c>marshal</c> format that the bytecode bundle's index
/// needs: str, int, tuple and dict. Only codes every Python 3 reads are used (no
/// references, no short forms), so <c>marshal.loads</c> of 3.7 through 3.13 reads the result.
/// </summary>
internal sealed class PythonMarshal
{
    private readonly MemoryStream _output = new();

    public byte[] ToArray() => _output.ToArray();

    public void String(string value)
    {
        _output.WriteByte((byte)'u');
        Int32Raw(Encoding.UTF8.GetByteCount(value));
        Span<byte> bytes = Encoding.UTF8.GetBytes(value);
        _output.Write(bytes);
    }

    public void Integer(long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            _output.WriteByte((byte)'i');
            Int32Raw((int)value);
            return;
        }
        // TYPE_LONG: a signed count of 15-bit digits, least significant first.
        var magnitude = BigInteger.Abs(value);
        var digits = new List<ushort>();
        for (; magnitude > 0; magnitude >>= 15) digits.Add((ushort)(magnitude & 0x7fff));
        _output.WriteByte((byte)'l');
        Int32Raw(value < 0 ? -digits.Count : digits.Count);
        Span<byte> digit = stackalloc byte[2];
        foreach (ushort d in digits)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(digit, d);
            _output.Write(digit);
        }
    }

    /// <summary>Starts a tuple of <paramref name="count"/> items; write the items next.</summary>
    public void Tuple(int count)
    {
        _output.WriteByte((byte)'(');
        Int32Raw(count);
    }

    /// <summary>Starts a dict; write key and value pairs, then <see cref="EndDict"/>.</summary>
    public void Dict() => _output.WriteByte((byte)'{');

    public void EndDict() => _output.WriteByte((byte)'0');

    private void Int32Raw(int value)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(word, value);
        _output.Write(word);
    }
}
