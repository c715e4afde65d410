using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>PEP 508 environment markers, evaluated against environments written out by hand.</summary>
public class MarkerTests
{
    public static readonly MarkerEnvironment Linux311 = new()
    {
        OsName = "posix",
        SysPlatform = "linux",
        PlatformMachine = "x86_64",
        PlatformPythonImplementation = "CPython",
        PlatformRelease = "6.1.0-18-amd64",
        PlatformSystem = "Linux",
        PlatformVersion = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
        PythonVersion = "3.11",
        PythonFullVersion = "3.11.7",
        ImplementationName = "cpython",
        ImplementationVersion = "3.11.7",
    };

    [Theory]
    // Version comparison, not string comparison: "3.11" > "3.9" as versions, not as strings.
    [InlineData("python_version > \"3.9\"", true)]
    [InlineData("python_version >= '3.8'", true)]
    [InlineData("python_version < \"3.10\"", false)]
    [InlineData("python_version == \"3.11.0\"", true)]
    [InlineData("python_version == \"3.*\"", true)]
    [InlineData("python_version ~= \"3.9\"", true)]
    [InlineData("python_full_version >= \"3.11.7\"", true)]
    [InlineData("python_full_version < \"3.11.7rc1\"", false)]
    [InlineData("python_full_version == \"3.11.*\"", true)]
    [InlineData("python_full_version != \"3.11.7\"", false)]
    [InlineData("python_full_version === \"3.11.7\"", true)]
    [InlineData("\"3.6\" < python_version", true)]
    // Strings.
    [InlineData("platform_machine == \"x86_64\"", true)]
    [InlineData("platform_machine == 'aarch64'", false)]
    [InlineData("platform_machine in \"x86_64 aarch64\"", true)]
    [InlineData("\"arm\" in platform_machine", false)]
    [InlineData("\"86\" in platform_machine", true)]
    [InlineData("platform_machine not in \"arm64 aarch64\"", true)]
    [InlineData("implementation_name === \"CPython\"", true)]
    [InlineData("platform_python_implementation == \"CPython\"", true)]
    // Legacy dotted and aliased names.
    [InlineData("os.name == \"posix\"", true)]
    [InlineData("sys.platform == \"linux\"", true)]
    [InlineData("platform.machine == \"x86_64\"", true)]
    [InlineData("python_implementation == \"CPython\"", true)]
    // A kernel release is not a PEP 440 version: PEP 508's fallback to Python's string operators.
    [InlineData("platform_release >= \"5\"", true)]
    [InlineData("platform_release < \"10\"", false)]
    // "and" binds tighter than "or"; parentheses group.
    [InlineData("os_name == \"posix\" and sys_platform == \"linux\"", true)]
    [InlineData("os_name == \"nt\" or sys_platform == \"linux\"", true)]
    [InlineData("os_name == \"nt\" and sys_platform == \"linux\" or python_version >= \"3\"", true)]
    [InlineData("os_name == \"nt\" and (sys_platform == \"linux\" or python_version >= \"3\")", false)]
    [InlineData("python_version >= \"3\" or os_name == \"nt\" and sys_platform == \"win32\"", true)]
    [InlineData("((os_name == \"posix\"))", true)]
    public void Evaluates(string marker, bool expected)
    {
        Marker.Parse(marker).Evaluate(Linux311).Should().Be(expected);
    }

    [Fact]
    public void PreReleaseInterpretersCompareAsPreReleases()
    {
        var rc = Linux311 with { PythonVersion = "3.13", PythonFullVersion = "3.13.0rc1" };
        Marker.Parse("python_full_version >= \"3.13\"").Evaluate(rc).Should().BeFalse();
        Marker.Parse("python_full_version > \"3.12\"").Evaluate(rc).Should().BeTrue();
        Marker.Parse("python_full_version >= \"3.13.0rc1\"").Evaluate(rc).Should().BeTrue();
    }

    [Fact]
    public void ExtraIsNormalizedAndSuppliedPerEvaluation()
    {
        var marker = Marker.Parse("extra == \"Foo_Bar\"");
        marker.ToString().Should().Be("extra == \"foo-bar\"");
        marker.Evaluate(Linux311).Should().BeFalse();
        marker.Evaluate(Linux311, "foo-bar").Should().BeTrue();
        marker.Evaluate(Linux311, "FOO.bar").Should().BeTrue();
        marker.Evaluate(Linux311, ["test", "foo__bar"]).Should().BeTrue();
        marker.Evaluate(Linux311, ["test"]).Should().BeFalse();
        marker.Evaluate(Linux311, Array.Empty<string>()).Should().BeFalse();

        // Without an extra requested, a marker that does not mention one still holds.
        Marker.Parse("python_version >= \"3\"").Evaluate(Linux311, ["test"]).Should().BeTrue();
        Marker.Parse("python_version >= '3' and extra == 'test'").Evaluate(Linux311, ["other", "Test"]).Should().BeTrue();
        Marker.Parse("os_name == 'posix' and extra != 'test'").ToString().Should().Be("os_name == \"posix\" and extra != \"test\"");
        Marker.Parse("'Test' == extra").ToString().Should().Be("\"test\" == extra");
        // packaging prints only the first comparison's extra normalized; we print all of them so.
        Marker.Parse("os_name == 'posix' and extra == 'Foo_Bar'").ToString().Should().Be("os_name == \"posix\" and extra == \"foo-bar\"");
    }

    [Fact]
    public void ComparisonsWithoutMeaningAreErrors()
    {
        var evaluate = () => Marker.Parse("platform_machine ~= \"x86\"").Evaluate(Linux311);
        evaluate.Should().Throw<MarkerEvaluationException>().WithMessage("Undefined ~= on 'x86_64' and 'x86'.");
    }

    [Theory]
    [InlineData("python_version>'3.6'  and(os_name==\"posix\")", "python_version > \"3.6\" and os_name == \"posix\"")]
    [InlineData("(python_version>'3.6' or os_name=='nt') and extra=='x'", "(python_version > \"3.6\" or os_name == \"nt\") and extra == \"x\"")]
    [InlineData("(python_version>'3.6' or os_name=='nt')", "python_version > \"3.6\" or os_name == \"nt\"")]
    [InlineData("os_name=='a' and ((os_name=='b' or os_name=='c'))", "os_name == \"a\" and (os_name == \"b\" or os_name == \"c\")")]
    [InlineData("os.name not  in 'posix'", "os_name not in \"posix\"")]
    public void PrintsTheNormalizedForm(string marker, string normalized)
    {
        var parsed = Marker.Parse(marker);
        parsed.ToString().Should().Be(normalized);
        parsed.Should().Be(Marker.Parse(normalized));
    }

    [Theory]
    [InlineData("python_version", "Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in\n    python_version\n                  ^")]
    [InlineData("python_version >= 3", "Expected a marker variable or quoted string\n    python_version >= 3\n                      ^")]
    [InlineData("foo == \"1\"", "Expected a marker variable or quoted string\n    foo == \"1\"\n    ^")]
    [InlineData("python_version >= \"3\" and", "Expected a marker variable or quoted string\n    python_version >= \"3\" and\n                             ^")]
    [InlineData("(python_version >= \"3\"", "Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker expression\n    (python_version >= \"3\"\n    ~~~~~~~~~~~~~~~~~~~~~~^")]
    [InlineData("python_version notin \"3\"", "Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in\n    python_version notin \"3\"\n                   ^")]
    [InlineData("python_version >= \"3\" AND os_name == \"posix\"", "Expected end of marker expression\n    python_version >= \"3\" AND os_name == \"posix\"\n                          ^")]
    public void ExplainsWhereParsingStopped(string marker, string message)
    {
        var parse = () => Marker.Parse(marker);
        parse.Should().Throw<InvalidMarkerException>().Which.Message.Should().Be(message);
        Marker.TryParse(marker, out _).Should().BeFalse();
    }

    [Fact]
    public void EnvironmentValuesAreLookedUpByName()
    {
        foreach (string name in MarkerEnvironment.VariableNames) Linux311.Get(name).Should().NotBeNullOrEmpty();
        var unknown = () => Linux311.Get("extra");
        unknown.Should().Throw<ArgumentException>();
    }
}
