using System.Numerics;
using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>PEP 427 wheel file names and PEP 425 compressed tag sets.</summary>
public class WheelFilenameTests
{
    [Fact]
    public void ParsesASimpleName()
    {
        var wheel = WheelFilename.Parse("pip-23.2.1-py3-none-any.whl");
        wheel.Name.Should().Be("pip");
        wheel.Version.Should().Be(PythonVersion.Parse("23.2.1"));
        wheel.BuildTag.Should().BeNull();
        wheel.Tags.Should().Equal(new WheelTag("py3", "none", "any"));
        wheel.ToString().Should().Be("pip-23.2.1-py3-none-any.whl");
    }

    [Fact]
    public void ExpandsCompressedTagSets()
    {
        WheelFilename.Parse("six-1.16.0-py2.py3-none-any.whl").Tags.Select(t => t.ToString())
            .Should().Equal("py2-none-any", "py3-none-any");
        WheelFilename.Parse("numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").Tags.Select(t => t.ToString())
            .Should().Equal("cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-manylinux2014_x86_64");
        WheelTag.ParseCompressed("py2.py3-none.abi3-any.linux_x86_64").Should().HaveCount(8);
    }

    [Fact]
    public void ReadsBuildTagsAndNormalizesNames()
    {
        var wheel = WheelFilename.Parse("Foo_Bar-1.0-12local-CP39-ABI3-Linux_X86_64.whl");
        wheel.Name.Should().Be("Foo_Bar");
        wheel.NormalizedName.Should().Be("foo-bar");
        wheel.BuildTag.Should().Be(new WheelBuildTag(new BigInteger(12), "local"));
        wheel.Tags.Should().Equal(new WheelTag("cp39", "abi3", "linux_x86_64"));
        (new WheelBuildTag(2, "") .CompareTo(new WheelBuildTag(10, ""))).Should().BeNegative();
        (new WheelBuildTag(2, "a").CompareTo(new WheelBuildTag(2, "b"))).Should().BeNegative();
    }

    [Theory]
    [InlineData("foo-1.0-py3-none-any.zip", "the extension must be '.whl'")]
    [InlineData("foo-1.0-py3-none.whl", "expected name-version(-build)?-python-abi-platform")]
    [InlineData("foo-1.0-1-2-py3-none-any.whl", "expected name-version(-build)?-python-abi-platform")]
    [InlineData("foo-bar-1.0-py3-none-any.whl", "invalid version 'bar'")]
    [InlineData("foo__bar-1.0-py3-none-any.whl", "invalid project name 'foo__bar'")]
    [InlineData("foo+bar-1.0-py3-none-any.whl", "invalid project name 'foo+bar'")]
    [InlineData("-1.0-py3-none-any.whl", "invalid project name ''")]
    [InlineData("foo-1.0-x1-py3-none-any.whl", "invalid build tag 'x1': it must start with a digit")]
    public void RejectsInvalidNames(string fileName, string problem)
    {
        var parse = () => WheelFilename.Parse(fileName);
        parse.Should().Throw<InvalidWheelFilenameException>()
            .Which.Should().Match<InvalidWheelFilenameException>(e => e.Input == fileName && e.Message == $"Invalid wheel filename '{fileName}': {problem}");
        WheelFilename.TryParse(fileName, out _).Should().BeFalse();
    }
}
