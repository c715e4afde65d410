namespace Xar.SquashFs.Reading;

/// <summary>One extended attribute: the full name with its namespace prefix ("user.x") and the value.</summary>
public sealed class SquashFsXattr
{
    internal SquashFsXattr(string name, byte[] nameBytes, byte[] value)
    {
        Name = name;
        NameBytes = nameBytes;
        Value = value;
    }

    /// <summary>"user.", "trusted." or "security." followed by the stored name, decoded as UTF-8.</summary>
    public string Name { get; }

    /// <summary>The full name as raw bytes (prefix included, no terminator).</summary>
    public ReadOnlyMemory<byte> NameBytes { get; }

    public ReadOnlyMemory<byte> Value { get; }

    public override string ToString() => $"{Name} ({Value.Length} bytes)";
}
