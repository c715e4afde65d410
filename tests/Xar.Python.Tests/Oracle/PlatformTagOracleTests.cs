using Xar.Python.Standards;
using Xar.Testing;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// The tags of an interpreter described for another platform (xar build --platform, --python-version)
/// against pip's: `pip debug --verbose --platform P --python-version X.Y` run by the same interpreter
/// lists the tags `pip download` with those options accepts.
/// </summary>
public class PlatformTagOracleTests
{
    [Theory]
    [InlineData("3.11", "manylinux2014_aarch64")]
    [InlineData("3.11", "manylinux_2_28_aarch64")]
    [InlineData("3.11", "linux_aarch64")]
    [InlineData("3.11", "manylinux2014_x86_64")]
    [InlineData("3.12", "manylinux2010_x86_64")]
    [InlineData("3.8", "manylinux2014_aarch64")]
    public void An_interpreter_described_for_a_platform_gets_the_tags_pip_accepts_for_it(string series, string platform)
    {
        string python = Pyenv.Python(series);
        var ours = CompatibilityTags.ForInterpreter(InterpreterProbe.Run(python).ForPlatform(platform).Facts).Select(t => t.ToString());

        string debug = Run.Checked(python, ["-m", "pip", "debug", "--verbose", "--disable-pip-version-check", "--platform", platform, "--python-version", series]);
        var pips = debug.Split('\n').SkipWhile(line => !line.StartsWith("Compatible tags", StringComparison.Ordinal)).Skip(1)
            .Select(line => line.Trim()).Where(line => line.Length > 0).ToArray();

        pips.Should().NotBeEmpty(debug);
        ours.Should().Equal(pips);
    }

    [Fact]
    public void A_platform_that_is_not_a_linux_tag_is_one_line_naming_it()
    {
        var probe = InterpreterProbe.Run(Pyenv.Python("3.11"));
        var act = () => probe.ForPlatform("win_amd64");
        act.Should().Throw<ArgumentException>().WithMessage("--platform win_amd64: not a Linux platform tag*");
    }

    [Fact]
    public void Markers_are_evaluated_as_on_the_platform()
    {
        var probe = InterpreterProbe.Run(Pyenv.Python("3.11")).ForPlatform("manylinux2014_aarch64");
        probe.Markers.PlatformMachine.Should().Be("aarch64");
        probe.Facts.Platform.Should().Be("linux-aarch64");
        probe.Markers.PythonVersion.Should().Be("3.11");
    }
}
