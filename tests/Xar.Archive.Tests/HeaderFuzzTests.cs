using System.Text;
using Xunit.Abstractions;

namespace Xar.Archive.Tests;

/// <summary>
/// The header parser and the archive opener over hostile archives: header lines removed,
/// repeated, with boundary values (OFFSET, XAR_FORMAT, UUID, the hash) and broken syntax; the ELF
/// header fields of a self archive set to boundary values (<see cref="HostileImages.InterestingValues"/>);
/// random bytes flipped in the header, the superblock and the ELF headers. Opening and verifying
/// must succeed or throw <see cref="XarFormatException"/>, within a time limit. FUZZ_ITERATIONS
/// and FUZZ_SEED set the number and seed of the random cases.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class HeaderFuzzTests(SquashFsImageFixture image, ITestOutputHelper output) : IClassFixture<SquashFsImageFixture>, IDisposable
{
    private static readonly string[] OffsetValues =
    [
        "", "0", "1", "4095", "4097", "8192", "12288", "-4096", "+4096", "0x1000", " 4096", "4096 ", "\uff14\uff10\uff19\uff16",
        "9223372036854771712", "9223372036854775807", "9223372036854775808", "18446744073709551616", "99999999999999999999999999",
        "2147483648", "4294967296", "4294971392",
    ];

    private static readonly string[] OtherValues =
    [
        "", "0", "1", "2", "-1", "2147483648", "4294967296", "9223372036854775808", "ABCDEF", "xyz", new string('a', 64),
        new string('f', 63), new string('0', 65), "\u00e9", "a=b", "\"",
    ];

    private readonly TempDirectory _directory = new("header-fuzz", inMemory: true);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Mutated_header_lines_fail_only_with_XarFormatException()
    {
        byte[] archive = Build(XarLayout.Xarexec);
        Run(LineCases(archive).ToList());
    }

    [Fact]
    public void Mutated_ELF_headers_of_a_self_archive_fail_only_with_XarFormatException()
    {
        byte[] archive = Build(XarLayout.Self);
        var fields = new (string Name, int Offset, int Size)[]
        {
            ("e_phoff", 0x20, 8), ("e_shoff", 0x28, 8), ("e_ehsize", 0x34, 2), ("e_phentsize", 0x36, 2), ("e_phnum", 0x38, 2),
            ("e_shentsize", 0x3A, 2), ("e_shnum", 0x3C, 2), ("e_shstrndx", 0x3E, 2), ("e_ident class", 4, 1), ("e_ident data", 5, 1),
        }.Select(f => new ImageField(f.Name, Enumerable.Range(f.Offset, f.Size).ToArray())).ToList();
        long phoff = (long)fields[0].Read(archive);
        fields.Add(new ImageField("program header 0 p_offset", Enumerable.Range((int)phoff + 8, 8).ToArray()));
        fields.Add(new ImageField("program header 0 p_filesz", Enumerable.Range((int)phoff + 32, 8).ToArray()));
        long shoff = (long)fields[1].Read(archive);
        fields.Add(new ImageField("section header 0 sh_size", Enumerable.Range((int)shoff + 32, 8).ToArray()));
        fields.Add(new ImageField("section header 1 sh_offset", Enumerable.Range((int)shoff + 64 + 24, 8).ToArray()));
        var cases = fields.SelectMany(field => HostileImages.InterestingValues(field, archive).Select(value =>
            new HostileCase($"{field.Name} = 0x{value:x}", original =>
            {
                byte[] copy = (byte[])original.Clone();
                field.Write(copy, value);
                return copy;
            }))).ToList();
        Run(cases, archive);
    }

    [Theory]
    [InlineData(XarLayout.Xarexec)]
    [InlineData(XarLayout.Self)]
    public void Random_flips_in_the_headers_fail_only_with_XarFormatException(XarLayout layout)
    {
        byte[] archive = Build(layout);
        int seed = HostileImages.Seed(1);
        output.WriteLine($"FUZZ_SEED={seed}");
        // Flips land in the first 8 KiB: the ELF headers (self) or the XAR header and the superblock (xarexec).
        byte[] head = archive.AsSpan(0, 8192).ToArray();
        var cases = Enumerable.Range(0, HostileImages.Iterations(1000)).Select(i =>
        {
            var flips = HostileImages.RandomFlips(seed * 1_000_003 + i);
            return new HostileCase(flips.Name, original =>
            {
                byte[] copy = (byte[])original.Clone();
                flips.Apply(head).CopyTo(copy, 0);
                return copy;
            });
        }).ToList();
        Run(cases, archive);
    }

    /// <summary>Each header line removed, repeated, given boundary values, and broken in the ways the parser names.</summary>
    private static IEnumerable<HostileCase> LineCases(byte[] archive)
    {
        string[] lines = Encoding.UTF8.GetString(archive, 0, 4096).TrimEnd('\n').Split('\n');
        HostileCase Edit(string name, Func<List<string>, List<string>> edit) => new(name, original => WithHeader(original, edit([.. lines])));
        for (int i = 0; i < lines.Length; i++)
        {
            int at = i;
            string line = lines[at];
            yield return Edit($"line {at} removed", l => { l.RemoveAt(at); return l; });
            yield return Edit($"line {at} repeated", l => { l.Insert(at, line); return l; });
            foreach (string broken in new[] { line + "\r", line.Replace("\"", ""), line.Replace("=", ""), "=" + line, line + "\0", line.Replace("\"", "\"\"") })
                yield return Edit($"line {at} as \"{broken}\"", l => { l[at] = broken; return l; });
            int equals = line.IndexOf('=');
            if (equals <= 0)
                continue;
            string key = line[..equals];
            foreach (string value in key == "OFFSET" ? OffsetValues : OtherValues)
                yield return Edit($"{key}=\"{value}\"", l => { l[at] = $"{key}=\"{value}\""; return l; });
        }
        yield return Edit("no #xar_stop", l => l.Where(x => x != "#xar_stop").ToList());
        yield return new HostileCase("invalid UTF-8 in a value", original =>
        {
            byte[] copy = (byte[])original.Clone();
            int version = Encoding.UTF8.GetString(copy, 0, 4096).IndexOf("VERSION=\"", StringComparison.Ordinal) + 9;
            copy[version] = 0xFF;
            return copy;
        });
        yield return new HostileCase("no newline in the header", original =>
        {
            byte[] copy = (byte[])original.Clone();
            copy.AsSpan(0, 4096).Replace((byte)'\n', (byte)' ');
            return copy;
        });
    }

    /// <summary>The archive with its 4096-byte header replaced by <paramref name="lines"/> (padded with '\n', or cut).</summary>
    private static byte[] WithHeader(byte[] original, List<string> lines)
    {
        byte[] copy = (byte[])original.Clone();
        byte[] text = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
        copy.AsSpan(0, 4096).Fill((byte)'\n');
        text.AsSpan(0, Math.Min(text.Length, 4096)).CopyTo(copy);
        return copy;
    }

    private byte[] Build(XarLayout layout)
    {
        string path = _directory.Combine($"base-{layout}.xar");
        using FileStream? launcher = layout == XarLayout.Self ? File.OpenRead("/bin/true") : null;
        XarArchiveWriter.Write(path, new XarWriteOptions
        {
            Header = new XarHeaderFields { Version = 1, XarexecTarget = "echo.sh", MountRoot = "/mnt/xarfuse" },
            Layout = layout,
            Launcher = launcher,
        }, new MemoryStream(image.Image));
        return File.ReadAllBytes(path);
    }

    private void Run(IReadOnlyList<HostileCase> cases, byte[]? original = null)
    {
        original ??= Build(XarLayout.Xarexec);
        var problems = new List<string>();
        int rejected = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            string path = _directory.Combine($"{i}.xar");
            File.WriteAllBytes(path, cases[i].Apply(original));
            var open = Task.Run(() =>
            {
                using var archive = XarArchive.Open(path);
                archive.Verify();
                _ = archive.Header.Entries.Count + archive.Header.Dependencies.Count;
            });
            try
            {
                if (!open.Wait(TimeSpan.FromSeconds(10)))
                    problems.Add($"{cases[i].Name}: did not finish within 10 s");
            }
            catch (AggregateException e) when (e.InnerException is XarFormatException { Message.Length: > 0 } format && !format.Message.Contains('\n'))
            {
                rejected++;
            }
            catch (AggregateException e)
            {
                problems.Add($"{cases[i].Name}: {e.InnerException!.GetType().Name}: {e.InnerException.Message}\n{e.InnerException.StackTrace}");
            }
            File.Delete(path);
        }
        output.WriteLine($"{cases.Count} cases: {rejected} rejected, {cases.Count - rejected - problems.Count} opened, {problems.Count} problems");
        problems.Take(10).Should().BeEmpty($"{problems.Count} of {cases.Count} hostile archives misbehaved");
    }
}
