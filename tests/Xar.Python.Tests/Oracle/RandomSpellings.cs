using System.Text;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// Seeded generators of the strings the oracle tests send to packaging: mostly valid spellings
/// drawn from the grammars with every alternative spelling, separator, case and whitespace the
/// standards allow, plus a share of mutated (mostly invalid) ones, so that validity is tested too.
/// </summary>
internal sealed class RandomSpellings(int seed)
{
    private static readonly string[] PreReleaseLabels = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"];
    private static readonly string[] PostReleaseLabels = ["post", "rev", "r"];
    private static readonly string[] Separators = [".", "-", "_"];
    private static readonly string[] Whitespace = [" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\x1c"];
    private static readonly string[] MutationCharacters = ["x", "*", ".", "-", "_", "+", "!", " ", "é", "a", "1", ",", ";", "(", ")", "'", "\"", "=", "<", "@", "["];
    private static readonly string[] Operators = ["~=", "==", "!=", "<=", ">=", "<", ">", "==="];
    private static readonly string[] MarkerOperators = ["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in"];

    private static readonly (string Variable, string[] Values)[] MarkerVariables =
    [
        ("python_version", ["2.7", "3", "3.6", "3.8", "3.10", "3.11", "3.12", "3.13", "3.*", "3.1*", "4", "3.11.0"]),
        ("python_full_version", ["3.11.7", "3.11.7rc1", "3.13.0", "3.13", "3.6.15", "2.7.18", "3.11.*", "3.11.7+local", "3.11.7.post1"]),
        ("os_name", ["posix", "nt", "java"]),
        ("os.name", ["posix", "nt"]),
        ("sys_platform", ["linux", "linux2", "win32", "darwin", "lin"]),
        ("sys.platform", ["linux", "win32"]),
        ("platform_release", ["6.1.0-18-amd64", "5.15", "10", "22.04", "23.1.0", "6"]),
        ("platform_system", ["Linux", "Windows", "Darwin", "linux"]),
        ("platform_version", ["#1 SMP", "10.0.19041", "1"]),
        ("platform_machine", ["x86_64", "aarch64", "AMD64", "arm64", "x86", "86"]),
        ("platform.machine", ["x86_64", "arm64"]),
        ("platform_python_implementation", ["CPython", "PyPy", "cpython"]),
        ("python_implementation", ["CPython", "PyPy"]),
        ("platform.python_implementation", ["CPython"]),
        ("implementation_name", ["cpython", "pypy", "CPython", ""]),
        ("implementation_version", ["3.11.7", "7.3.15", "3.13.0rc1", "3.11", "0"]),
        ("extra", ["test", "Foo_Bar", "foo-bar", "DOCS", "", "foo..bar"]),
    ];

    private static readonly string[] ProjectNames = ["requests", "Flask", "zope.interface", "foo_bar", "A", "pkg-2", "x1.y_z-w", "Django"];
    private static readonly string[] Urls = ["https://example.org/pkg-1.0.whl", "file:///tmp/x.whl", "git+https://github.com/a/b.git@v1#egg=b", "https://x/y;z"];

    private readonly Random _random = new(seed);

    /// <summary>A version string in any PEP 440 spelling; one in eight is mutated.</summary>
    public string Version() => MaybeMutate(ValidVersion(small: false), 8);

    /// <summary>A version with small numbers, so that specifiers built the same way often match it.</summary>
    public string SmallVersion(bool local = true)
    {
        var text = new StringBuilder();
        if (Chance(20)) text.Append("1!");
        text.AppendJoin('.', Enumerable.Range(0, _random.Next(1, 4)).Select(_ => _random.Next(0, 4)));
        if (Chance(4)) text.Append(Pick(["a", "b", "rc"])).Append(_random.Next(0, 3));
        if (Chance(5)) text.Append(".post").Append(_random.Next(0, 3));
        if (Chance(5)) text.Append(".dev").Append(_random.Next(0, 3));
        if (local && Chance(6)) text.Append('+').Append(Pick(["local", "1", "abc.2", "ubuntu-1"]));
        return text.ToString();
    }

    /// <summary>One specifier: operator, version in some spelling, whitespace; one in eight mutated.</summary>
    public string Specifier()
    {
        string op = Chance(15) ? "===" : Pick(Operators[..^1]);
        string version;
        if (op == "===")
            version = Chance(2) ? SmallVersion() : Pick(["foo", "1.0.0", "1.0", "1.0+LOCAL", ""]);
        else
        {
            version = Respell(SmallVersion(local: op is "==" or "!=" && Chance(3)));
            if (op is "==" or "!=" && Chance(3) && !version.Contains('+')) version = StripSuffixes(version) + ".*";
            if (op == "~=" && !version.Contains('.')) version += ".0";
            if (Chance(20)) version = "v" + version;
        }
        return MaybeMutate(Space(3) + op + Space(4) + version + Space(4), 8);
    }

    /// <summary>One to three specifiers joined by commas (or nothing at all).</summary>
    public string SpecifierSet() =>
        Chance(20) ? Space(2) : string.Join(Pick([",", ", ", " ,"]), Enumerable.Range(0, _random.Next(1, 4)).Select(_ => Specifier()));

    /// <summary>A marker expression up to two levels deep; one in ten mutated.</summary>
    public string Marker() => MaybeMutate(MarkerExpression(depth: 2), 10);

    /// <summary>A PEP 508 requirement with any of its optional parts; one in ten mutated.</summary>
    public string Requirement()
    {
        var text = new StringBuilder(Space(6));
        text.Append(Chance(15) ? Pick(["-bad", "bad-", "b@d"]) : Pick(ProjectNames));
        if (Chance(3))
        {
            var extras = Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Pick(["security", "socks", "Foo_Bar", "test", "a"]));
            text.Append(Space(3)).Append('[').Append(Space(3)).AppendJoin(Space(3) + "," + Space(3), extras).Append(Space(3)).Append(']');
        }
        if (Chance(6))
        {
            text.Append(Space(2)).Append('@').Append(Space(2)).Append(Pick(Urls));
            if (Chance(2)) text.Append(Pick([" ", "  "])).Append(';').Append(Space(2)).Append(MarkerExpression(depth: 1));
        }
        else
        {
            if (Chance(2))
            {
                string specifiers = string.Join(",", Enumerable.Range(0, _random.Next(1, 3)).Select(_ => Specifier()));
                text.Append(Space(3)).Append(Chance(3) ? "(" + specifiers + ")" : specifiers);
            }
            if (Chance(3)) text.Append(Space(2)).Append(';').Append(Space(2)).Append(MarkerExpression(depth: 1));
        }
        text.Append(Space(6));
        return MaybeMutate(text.ToString(), 10);
    }

    /// <summary>A wheel file name, valid or broken in the ways PEP 427 rules out.</summary>
    public string WheelFilename()
    {
        string name = Pick(["pip", "Foo_Bar", "zope.interface", "numpy", "foo__bar", "é_pkg", "a-b", "x"]);
        string version = Chance(10) ? "not.a.version!" : Respell(SmallVersion(local: Chance(5)));
        string build = Chance(4) ? "-" + Pick(["1", "12local", "x1", "0_a"]) : "";
        string tags = Pick(["py3-none-any", "py2.py3-none-any", "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
            "CP39-ABI3-Linux_X86_64", "cp311-cp311", "py3-none-any-extra"]);
        string extension = Chance(15) ? ".zip" : ".whl";
        return name + "-" + version + build + "-" + tags + extension;
    }

    private string ValidVersion(bool small)
    {
        var text = new StringBuilder();
        if (Chance(20)) text.Append(Pick(Whitespace));
        if (Chance(10)) text.Append(Pick(["v", "V"]));
        if (Chance(10)) text.Append(Number(small)).Append('!');
        text.AppendJoin('.', Enumerable.Range(0, _random.Next(1, 5)).Select(_ => Number(small)));
        if (Chance(4)) text.Append(Separator()).Append(Case(Pick(PreReleaseLabels))).Append(Separator()).Append(Chance(4) ? "" : Number(small));
        if (Chance(5))
        {
            if (Chance(3)) text.Append('-').Append(Number(small));
            else text.Append(Separator()).Append(Case(Pick(PostReleaseLabels))).Append(Separator()).Append(Chance(4) ? "" : Number(small));
        }
        if (Chance(5)) text.Append(Separator()).Append(Case("dev")).Append(Separator()).Append(Chance(4) ? "" : Number(small));
        if (Chance(6))
            text.Append('+').AppendJoin("", Enumerable.Range(0, _random.Next(1, 4)).Select((_, i) => (i > 0 ? Pick(Separators) : "") + LocalPart()));
        if (Chance(20)) text.Append(Pick(Whitespace));
        return text.ToString();
    }

    private string LocalPart() => _random.Next(4) switch
    {
        0 => Number(small: false),
        1 => Case(Pick(["abc", "ubuntu", "local", "z", "deb"])),
        2 => "0" + _random.Next(0, 100),
        _ => Case(Pick(["1a", "abc123", "x9y"])),
    };

    private string MarkerExpression(int depth)
    {
        int atoms = _random.Next(1, depth == 2 ? 4 : 3);
        var text = new StringBuilder();
        for (int i = 0; i < atoms; i++)
        {
            if (i > 0) text.Append(Pick([" and ", " or ", "  and\t", " or  "]));
            if (depth > 1 && Chance(4)) text.Append('(').Append(Space(3)).Append(MarkerExpression(depth - 1)).Append(Space(3)).Append(')');
            else text.Append(MarkerComparison());
        }
        return text.ToString();
    }

    private string MarkerComparison()
    {
        var (variable, values) = MarkerVariables[_random.Next(MarkerVariables.Length)];
        string quote = Pick(["'", "\""]);
        string value = quote + Pick(values) + quote;
        string op = Pick(MarkerOperators);
        string opSpacing = op.StartsWith("not") || op == "in" ? Pick([" ", "  ", "\t"]) : Space(2);
        return Chance(5)
            ? value + opSpacing + op + opSpacing + variable
            : variable + opSpacing + op + opSpacing + value;
    }

    // Rewrites a normalized small version with alternative spellings of its labels and separators.
    private string Respell(string version) =>
        version.Replace("rc", Pick(["rc", "c", "pre", "preview", "RC"]))
            .Replace(".post", Pick([".post", "post", "-post", ".rev", "-r", "_post"]))
            .Replace(".dev", Pick([".dev", "dev", "-dev", "_DEV"]));

    private static string StripSuffixes(string version)
    {
        int end = 0;
        while (end < version.Length && (char.IsAsciiDigit(version[end]) || version[end] is '.' or '!')) end++;
        return version[..end].TrimEnd('.');
    }

    private string MaybeMutate(string text, int oneIn)
    {
        if (!Chance(oneIn)) return text;
        int position = _random.Next(text.Length + 1);
        return _random.Next(3) switch
        {
            0 => text.Insert(position, Pick(MutationCharacters)),
            1 when text.Length > 0 => text.Remove(Math.Min(position, text.Length - 1), 1),
            _ => text.Insert(position, text[position..Math.Min(text.Length, position + 3)]),
        };
    }

    private string Number(bool small) => _random.Next(20) switch
    {
        _ when small => _random.Next(0, 4).ToString(),
        0 => "0" + _random.Next(0, 10),
        1 => string.Concat(Enumerable.Range(0, 25).Select(_ => _random.Next(0, 10))).TrimStart('0') + "1",
        2 => _random.Next(0, 3000).ToString(),
        _ => _random.Next(0, 20).ToString(),
    };

    private string Separator() => Chance(2) ? "" : Pick(Separators);

    private string Case(string text) => Chance(5)
        ? string.Concat(text.Select(c => Chance(2) ? char.ToUpperInvariant(c) : c))
        : text;

    private string Space(int oneIn) => Chance(oneIn) ? Pick([" ", "  ", "\t", " \t"]) : "";

    private bool Chance(int oneIn) => _random.Next(oneIn) == 0;

    private string Pick(string[] choices) => choices[_random.Next(choices.Length)];
}
