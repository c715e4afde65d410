using System.Text.Json;
using Xar.Python.Standards;

namespace Xar.Python.Tests.Oracle;

/// <summary>
/// The probe against every pyenv interpreter: its marker values must be what that interpreter's
/// own pip (packaging's <c>default_environment()</c>) reports, from Python 2.7 to 3.13.
/// </summary>
public class InterpreterProbeTests
{
    public static TheoryData<string> PyenvSeries => new(Pyenv.Interpreters.Select(i => $"{i.Version.Major}.{i.Version.Minor}"));

    [Theory]
    [MemberData(nameof(PyenvSeries))]
    public void MarkerValuesMatchTheInterpretersOwnPackaging(string series)
    {
        string python = Pyenv.Python(series);
        var probe = InterpreterProbe.Run(python);

        string json = PackagingOracle.RunProgram(python,
            "import json, sys; from pip._vendor.packaging.markers import default_environment; sys.stdout.write(json.dumps(default_environment()))");
        using var expected = JsonDocument.Parse(json);
        foreach (string name in MarkerEnvironment.VariableNames)
            probe.Markers.Get(name).Should().Be(expected.RootElement.GetProperty(name).GetString(), name);

        probe.FullVersion.Should().StartWith(series + ".");
        probe.Facts.Implementation.Should().Be("cpython");
        $"{probe.Facts.MajorVersion}.{probe.Facts.MinorVersion}".Should().Be(series);
        probe.Facts.Glibc.Should().NotBeNull("this machine's interpreters run on glibc");
        probe.Facts.Executable!.Is64Bit.Should().Be(Environment.Is64BitProcess);
        MarkerEnvironment.FromInterpreter(python).Should().Be(probe.Markers);
    }

    [Fact]
    public void OldInterpretersReportTheirAbiFlags()
    {
        var python27 = InterpreterProbe.Run(Pyenv.Python("2.7"));
        python27.Markers.ImplementationName.Should().BeEmpty("Python 2 has no sys.implementation");
        python27.Markers.ImplementationVersion.Should().Be("0");
        python27.Markers.SysPlatform.Should().Be("linux2");
        python27.Facts.ExtensionSuffix.Should().BeNull();

        var python36 = InterpreterProbe.Run(Pyenv.Python("3.6"));
        python36.Facts.Pymalloc.Should().BeTrue();
        python36.Facts.ExtensionSuffix.Should().StartWith(".cpython-36m-");
    }

    [Fact]
    public void AMissingInterpreterIsReportedByName()
    {
        var run = () => InterpreterProbe.Run("/nonexistent/python3");
        run.Should().Throw<InterpreterProbeException>()
            .Which.Message.Should().StartWith("/nonexistent/python3: cannot run the interpreter: ");
    }

    [Fact]
    public void AFailingInterpreterIsReportedWithItsStatus()
    {
        var run = () => InterpreterProbe.Run("/bin/false");
        run.Should().Throw<InterpreterProbeException>().WithMessage("/bin/false: the interpreter exited with status 1*");
    }

    [Fact]
    public void AnAnswerThatIsNotTheProbesIsReported()
    {
        var run = () => InterpreterProbe.Run("/bin/echo");
        run.Should().Throw<InterpreterProbeException>().WithMessage("/bin/echo: unexpected answer from the interpreter probe*");
    }

    [Theory]
    [InlineData("musl libc (x86_64)\nVersion 1.2.4\nDynamic Program Loader\n", 1, 2)]
    [InlineData("\n  musl libc (aarch64)\n\n  Version 1.1.24\n", 1, 1)]
    public void ReadsTheMuslLoadersVersion(string output, int major, int minor)
    {
        InterpreterProbe.ParseMuslVersion(output).Should().Be(new LibcVersion(major, minor));
    }

    [Theory]
    [InlineData("glibc? no\nVersion 1.2.4\n")]
    [InlineData("musl libc\nversion unknown\n")]
    [InlineData("musl libc\n")]
    [InlineData(null)]
    public void IgnoresOtherLoaderOutput(string? output)
    {
        InterpreterProbe.ParseMuslVersion(output).Should().BeNull();
    }

    [Theory]
    [InlineData("2.36", 2, 36)]
    [InlineData("2.28-arch1", 2, 28)]
    public void ReadsGlibcVersions(string text, int major, int minor)
    {
        InterpreterProbe.ParseGlibcVersion(text).Should().Be(new LibcVersion(major, minor));
        InterpreterProbe.ParseGlibcVersion("unknown").Should().BeNull();
    }
}
