using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>PEP 503 / PEP 685 normalization and the core metadata name rule.</summary>
public class DistributionNameTests
{
    [Theory]
    [InlineData("friendly-bard", "friendly-bard")]
    [InlineData("Friendly-Bard", "friendly-bard")]
    [InlineData("FRIENDLY-BARD", "friendly-bard")]
    [InlineData("friendly.bard", "friendly-bard")]
    [InlineData("friendly_bard", "friendly-bard")]
    [InlineData("friendly--bard", "friendly-bard")]
    [InlineData("FrIeNdLy-._.-bArD", "friendly-bard")]
    [InlineData("zope.interface", "zope-interface")]
    public void Normalizes(string name, string normalized)
    {
        DistributionName.Normalize(name).Should().Be(normalized);
        DistributionName.AreEquivalent(name, normalized).Should().BeTrue();
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("A1", true)]
    [InlineData("foo.bar_baz-qux", true)]
    [InlineData("-foo", false)]
    [InlineData("foo_", false)]
    [InlineData("foo bar", false)]
    [InlineData("", false)]
    [InlineData("f\u00f6o", false)]
    public void ValidatesNames(string name, bool valid)
    {
        DistributionName.IsValid(name).Should().Be(valid);
    }

    [Theory]
    [InlineData("foo-bar", true)]
    [InlineData("foo--bar", false)]
    [InlineData("Foo", false)]
    [InlineData("foo_bar", false)]
    [InlineData("foo-", false)]
    public void RecognizesNormalizedNames(string name, bool normalized)
    {
        DistributionName.IsNormalized(name).Should().Be(normalized);
    }
}
