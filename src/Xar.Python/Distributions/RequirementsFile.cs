using Xar.Python.Standards;

namespace Xar.Python.Distributions;

/// <summary>A requirement with the hashes its line allows (<c>--hash=sha256:…</c>, any of them), and where it was given ("requirements.txt:3", "the command line").</summary>
public sealed record HashedRequirement(Requirement Requirement, IReadOnlyList<(string Algorithm, string Hex)> Hashes, string Where);

/// <summary>
/// A pip requirements file, as far as building from local wheels needs it: one requirement per
/// line, with <c>--hash=ALGORITHM:HEX</c> options; <c>\</c> continues a line, <c>#</c> starts a
/// comment (at the start or after whitespace); <c>-r FILE</c> includes another file (relative
/// to this one) and <c>--require-hashes</c> turns on hash-checking mode; index options are
/// ignored, as no index is used. Any other option is refused, naming the file and line.
/// <para>
/// Hash-checking mode (<see cref="CheckHashMode"/>, <see cref="VerifyHashes"/>) is pip's: it is on
/// when any requirement has a hash or --require-hashes is given, and then every requirement must
/// be pinned with <c>==</c> (or <c>===</c>) and have a hash, and every distribution installed,
/// dependencies included, must be a wheel listed with a hash that matches its file.
/// </para>
/// </summary>
public sealed class RequirementsFile
{
    private static readonly string[] IgnoredOptions = ["-i", "--index-url", "--extra-index-url", "--no-index", "--trusted-host", "--prefer-binary", "--only-binary", "--pre"];

    private RequirementsFile(IReadOnlyList<HashedRequirement> requirements, bool requireHashes)
    {
        Requirements = requirements;
        RequireHashes = requireHashes;
    }

    /// <summary>The requirements, included files' in place of their <c>-r</c> line.</summary>
    public IReadOnlyList<HashedRequirement> Requirements { get; }

    /// <summary>Whether a <c>--require-hashes</c> line was found.</summary>
    public bool RequireHashes { get; }

    /// <summary>Reads the file; a line that cannot be used is a <see cref="LockFileException"/> "FILE:LINE: problem".</summary>
    public static RequirementsFile Read(string path)
    {
        var requirements = new List<HashedRequirement>();
        bool requireHashes = false;
        Read(Path.GetFullPath(path), requirements, ref requireHashes, []);
        return new RequirementsFile(requirements, requireHashes);
    }

    /// <summary>
    /// Whether hash-checking mode is on for these requirements; when it is, throws a
    /// <see cref="LockFileException"/> listing each requirement without a hash or not pinned.
    /// </summary>
    public static bool CheckHashMode(IReadOnlyList<HashedRequirement> requirements, bool requireHashes)
    {
        if (!requireHashes && !requirements.Any(r => r.Hashes.Count > 0)) return false;
        var problems = new List<string>();
        foreach (var (requirement, hashes, where) in requirements)
        {
            if (requirement.Url is not null)
                problems.Add($"{where}: {requirement}: a direct reference; hash-checking mode needs a name pinned with ==");
            else if (requirement.Specifier.Specifiers is not [{ Operator: SpecifierOperator.Equal or SpecifierOperator.ArbitraryEqual } pin] || pin.Version.EndsWith(".*", StringComparison.Ordinal))
                problems.Add($"{where}: {requirement}: not pinned with == (hash-checking mode pins every requirement)");
            if (hashes.Count == 0)
                problems.Add($"{where}: {requirement}: no --hash (hash-checking mode: when any requirement has a hash, or with --require-hashes, every one needs one)");
        }
        if (problems.Count > 0)
            throw new LockFileException("Hash-checking mode:\n" + string.Join("\n", problems.Select(p => "  " + p)));
        return true;
    }

    /// <summary>
    /// Checks every distribution of <paramref name="bundle"/> against the hashes of the
    /// requirement of its name: a wheel whose file hash is not one of them is an
    /// <see cref="ArtifactHashException"/>, a distribution no hashed requirement names (a
    /// dependency not listed, or one taken from an installed environment) a <see cref="LockFileException"/>.
    /// </summary>
    public static void VerifyHashes(IReadOnlyList<HashedRequirement> requirements, DistributionBundle bundle)
    {
        var byName = requirements.GroupBy(r => r.Requirement.NormalizedName).ToDictionary(g => g.Key, g => g.SelectMany(r => r.Hashes).ToArray());
        var unlisted = new List<string>();
        foreach (var distribution in bundle.Distributions)
        {
            if (!byName.TryGetValue(distribution.NormalizedName, out var hashes))
                unlisted.Add($"{distribution} ({distribution.Origin}): not in the requirements; hash-checking mode needs every dependency listed with ==VERSION and --hash");
            else if (distribution is not WheelFile wheel)
                unlisted.Add($"{distribution} ({distribution.Origin}): not a wheel, so its hash cannot be checked");
            else
                wheel.VerifyHashes(hashes);
        }
        if (unlisted.Count > 0)
            throw new LockFileException("Hash-checking mode:\n" + string.Join("\n", unlisted.Select(p => "  " + p)));
    }

    private static void Read(string path, List<HashedRequirement> requirements, ref bool requireHashes, HashSet<string> reading)
    {
        if (!reading.Add(path)) throw new LockFileException($"{path}: includes itself (-r)");
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: cannot read the requirements file: {e.Message}", e);
        }
        foreach (var (number, line) in LogicalLines(lines))
        {
            string where = $"{path}:{number}";
            LockFileException Problem(string problem) => new($"{where}: {problem}");
            var tokens = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0) continue;
            int firstOption = Array.FindIndex(tokens, t => t.StartsWith('-'));
            if (firstOption == 0)
            {
                var (option, value) = Option(tokens, 0, out int next);
                if (option is "-r" or "--requirement")
                    Read(Path.GetFullPath(value ?? throw Problem($"{option} needs a file"), Path.GetDirectoryName(path)!), requirements, ref requireHashes, reading);
                else if (option == "--require-hashes")
                    requireHashes = true;
                else if (!IgnoredOptions.Contains(option))
                    throw Problem($"{tokens[0]}: not supported when xar builds from wheels (only requirements, --hash, -r and --require-hashes)");
                continue;
            }
            string text = string.Join(' ', firstOption < 0 ? tokens : tokens[..firstOption]);
            Requirement requirement;
            try
            {
                requirement = Requirement.Parse(text);
            }
            catch (InvalidRequirementException e)
            {
                throw Problem(e.Message.Split('\n')[0]);
            }
            var hashes = new List<(string, string)>();
            for (int i = firstOption; i >= 0 && i < tokens.Length;)
            {
                var (option, value) = Option(tokens, i, out i);
                if (option != "--hash") throw Problem($"{option}: not supported on a requirement line (only --hash)");
                int colon = value?.IndexOf(':') ?? -1;
                if (colon <= 0 || colon == value!.Length - 1) throw Problem($"--hash {value}: use --hash=ALGORITHM:HEX (e.g. sha256:…)");
                hashes.Add((value[..colon], value[(colon + 1)..]));
            }
            requirements.Add(new HashedRequirement(requirement, hashes, where));
        }
        reading.Remove(path);
    }

    // "--opt=value", "--opt value", "-rFILE", "-r FILE", or a flag.
    private static (string Option, string? Value) Option(string[] tokens, int index, out int next)
    {
        string token = tokens[index];
        next = index + 1;
        int equals = token.IndexOf('=');
        if (token.StartsWith("--", StringComparison.Ordinal) && equals > 0) return (token[..equals], token[(equals + 1)..]);
        if (!token.StartsWith("--", StringComparison.Ordinal) && token.Length > 2) return (token[..2], token[2..]);
        if (token is "--require-hashes" or "--no-index" or "--prefer-binary" or "--pre") return (token, null);
        if (next < tokens.Length && !tokens[next].StartsWith('-')) return (token, tokens[next++]);
        return (token, null);
    }

    // Lines joined where one ends with a backslash, comments removed; numbered by their first line.
    private static IEnumerable<(int Number, string Text)> LogicalLines(string[] lines)
    {
        var text = new System.Text.StringBuilder();
        int start = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            if (text.Length == 0) start = i + 1;
            string line = StripComment(lines[i]);
            if (line.EndsWith('\\'))
            {
                text.Append(line, 0, line.Length - 1).Append(' ');
                continue;
            }
            text.Append(line);
            yield return (start, text.ToString());
            text.Clear();
        }
        if (text.Length > 0) yield return (start, text.ToString());
    }

    private static string StripComment(string line)
    {
        for (int i = 0; i < line.Length; i++)
            if (line[i] == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
                return line[..i].TrimEnd();
        return line.TrimEnd();
    }
}
