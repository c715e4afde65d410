using System.Buffers.Binary;
using Xar.Archive.Elf;

namespace Xar.Archive.Tests.Elf;

/// <summary>
/// Hostile objects: whatever the bytes, the reader gives a result or one ElfFormatException
/// naming the file, never another exception, a hang or an allocation beyond the file's size.
/// </summary>
public sealed class HostileElfTests
{
    private const string Name = "hostile.so";

    private static readonly byte[] s_valid = new SyntheticElf
    {
        Needed = ["libfoo.so.1", "libc.so.6"],
        Soname = "libhostile.so.1",
        Runpath = "$ORIGIN",
        VersionsNeeded = [("libc.so.6", ["GLIBC_2.17", "GLIBC_2.34"])],
    }.Build();

    private static ElfObject Read(byte[] bytes) => ElfObject.Read(new MemoryStream(bytes), Name);

    private static void ShouldFail(byte[] bytes, string problem)
    {
        var act = () => Read(bytes);
        act.Should().Throw<ElfFormatException>().Where(e => e.FilePath == Name && e.Message.StartsWith(Name + ": ") && !e.Message.Contains('\n'))
            .Which.Problem.Should().Contain(problem);
    }

    [Fact]
    public void The_valid_object_reads()
    {
        var elf = Read(s_valid);
        elf.Needed.Should().Equal("libfoo.so.1", "libc.so.6");
        elf.VersionsNeeded.Single().Versions.Should().Equal("GLIBC_2.17", "GLIBC_2.34");
    }

    [Fact]
    public void Every_truncation_fails_in_one_line_or_reads()
    {
        for (int length = 0; length < s_valid.Length; length++)
        {
            byte[] cut = s_valid[..length];
            try
            {
                Read(cut);
            }
            catch (ElfFormatException e)
            {
                e.Message.Should().StartWith(Name + ": ").And.NotContain("\n");
            }
        }
        ShouldFail(s_valid[..3], "not an ELF file");
        ShouldFail(s_valid[..40], "cut short");
        ShouldFail(s_valid[..100], "program header table");
    }

    [Fact]
    public void Offsets_out_of_range_fail_naming_the_field()
    {
        ShouldFail(With(s_valid, 0x20, ulong.MaxValue), "program header table");
        ShouldFail(With16(s_valid, 0x36, 8), "shorter than the 56");
        ShouldFail(With16(s_valid, 0x38, 0xFFFF), "program header table");
        // PT_DYNAMIC (the second program header) at an offset past the end.
        ShouldFail(With(s_valid, 64 + 56 + 8, 1UL << 40), "PT_DYNAMIC");
        // DT_STRTAB (the tag after DT_NEEDED×2, DT_SONAME, DT_RUNPATH) at an unmapped address.
        int dynamic = 64 + 2 * 56;
        ShouldFail(With(s_valid, dynamic + 4 * 16 + 8, 0x10), "DT_STRTAB");
        // DT_NEEDED naming a string past the table.
        ShouldFail(With(s_valid, dynamic + 8, 1 << 20), "outside DT_STRTAB");
        // DT_VERNEED at an unmapped address, then with its first record pointing away.
        ShouldFail(With(s_valid, dynamic + 6 * 16 + 8, 0x10), "DT_VERNEED");
        ShouldFail(With(s_valid, dynamic + 6 * 16 + 8, SyntheticElf.Base + s_valid.Length - 8), "DT_VERNEED record 0");
    }

    [Fact]
    public void A_huge_string_table_size_allocates_no_more_than_the_file()
    {
        int dynamic = 64 + 2 * 56;
        var elf = Read(With(s_valid, dynamic + 5 * 16 + 8, long.MaxValue)); // DT_STRSZ: clamped to what the segment holds
        elf.Needed.Should().Equal("libfoo.so.1", "libc.so.6");
    }

    [Fact]
    public void Random_flips_never_give_another_exception()
    {
        var random = new Random(20261203);
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = (byte[])s_valid.Clone();
            for (int flips = random.Next(1, 6); flips > 0; flips--)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            try
            {
                Read(bytes);
            }
            catch (ElfFormatException e)
            {
                e.Message.Should().StartWith(Name + ": ").And.NotContain("\n");
            }
        }
    }

    private static byte[] With(byte[] original, int at, ulong value)
    {
        byte[] copy = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(at), value);
        return copy;
    }

    private static byte[] With(byte[] original, int at, long value) => With(original, at, (ulong)value);

    private static byte[] With16(byte[] original, int at, ushort value)
    {
        byte[] copy = (byte[])original.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(at), value);
        return copy;
    }
}
