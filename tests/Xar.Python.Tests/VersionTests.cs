using System.Numerics;
using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>PEP 440 versions: parsing, normalization, properties and ordering, from the specification's examples.</summary>
public class VersionTests
{
    [Theory]
    [InlineData("1.0", "1.0")]
    [InlineData("1.0a1", "1.0a1")]
    [InlineData("1.0.a.1", "1.0a1")]
    [InlineData("1.0alpha1", "1.0a1")]
    [InlineData("1.0-a1", "1.0a1")]
    [InlineData("1.0_a_1", "1.0a1")]
    [InlineData("1.0A1", "1.0a1")]
    [InlineData("1.0a", "1.0a0")]
    [InlineData("1.0beta2", "1.0b2")]
    [InlineData("1.0c1", "1.0rc1")]
    [InlineData("1.0pre1", "1.0rc1")]
    [InlineData("1.0preview1", "1.0rc1")]
    [InlineData("1.0-1", "1.0.post1")]
    [InlineData("1.0.post", "1.0.post0")]
    [InlineData("1.0-r4", "1.0.post4")]
    [InlineData("1.0rev4", "1.0.post4")]
    [InlineData("1.0-post-4", "1.0.post4")]
    [InlineData("1.0a1-2", "1.0a1.post2")]
    [InlineData("1.0.dev", "1.0.dev0")]
    [InlineData("1.0-dev-1", "1.0.dev1")]
    [InlineData("1.0RC1.POST2.DEV3+LOCAL", "1.0rc1.post2.dev3+local")]
    [InlineData("v1.0", "1.0")]
    [InlineData("V1.0", "1.0")]
    [InlineData("  1.0\n", "1.0")]
    [InlineData("\u00a01.0\u3000", "1.0")]
    [InlineData("01.002.0003", "1.2.3")]
    [InlineData("1.0+Ubuntu-1", "1.0+ubuntu.1")]
    [InlineData("1.0+abc_def.GHI", "1.0+abc.def.ghi")]
    [InlineData("1.0+0001", "1.0+1")]
    [InlineData("1!2.0", "1!2.0")]
    [InlineData("0!1.0", "1.0")]
    [InlineData("1.0a.", "1.0a0")]
    public void Normalizes(string text, string normalized)
    {
        PythonVersion.Parse(text).ToString().Should().Be(normalized);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("foo")]
    [InlineData("1.0-")]
    [InlineData("1.0+")]
    [InlineData("1.0+_abc")]
    [InlineData("1.0+abc..def")]
    [InlineData("1.0.")]
    [InlineData(".1.0")]
    [InlineData("1.0.*")]
    [InlineData("1!")]
    [InlineData("1!!2")]
    [InlineData("1.0 +local")]
    [InlineData("1.0+a b")]
    [InlineData("1.0a1a2")]
    [InlineData("1.0.post1.post2")]
    [InlineData("1.0.dev1.post1")]
    [InlineData("1 .0")]
    [InlineData("vv1.0")]
    // Python's Unicode case folding lets "ſ" stand for "s" and the Kelvin sign for "k"; we keep to
    // ASCII (see PythonText.FoldAscii).
    [InlineData("1.0po\u017ft1")]
    [InlineData("1.0+\u212a")]
    public void RejectsInvalidVersions(string text)
    {
        PythonVersion.TryParse(text, out _).Should().BeFalse();
        var parse = () => PythonVersion.Parse(text);
        parse.Should().Throw<InvalidVersionException>()
            .Which.Should().Match<InvalidVersionException>(e => e.Input == text && e.Message == $"Invalid version: '{text}'");
    }

    [Fact]
    public void InvalidVersionIsAFormatException()
    {
        var parse = () => PythonVersion.Parse("not-a-version");
        parse.Should().Throw<FormatException>().WithMessage("Invalid version: 'not-a-version'");
    }

    [Fact]
    public void ExposesTheSegments()
    {
        var version = PythonVersion.Parse("2!1.02.3rc4.post5.dev6+Ubuntu.07");
        version.Epoch.Should().Be(new BigInteger(2));
        version.Release.Should().Equal(new BigInteger(1), new BigInteger(2), new BigInteger(3));
        version.Pre.Should().Be(new PreRelease("rc", 4));
        version.Post.Should().Be(new BigInteger(5));
        version.Dev.Should().Be(new BigInteger(6));
        version.Local.Should().Be("ubuntu.7");
        version.Public.Should().Be("2!1.2.3rc4.post5.dev6");
        version.BaseVersion.Should().Be("2!1.2.3");
        version.IsPrerelease.Should().BeTrue();
        version.IsPostrelease.Should().BeTrue();
        version.IsDevrelease.Should().BeTrue();
        version.WithoutLocal().ToString().Should().Be("2!1.2.3rc4.post5.dev6");
        version.WithoutSuffixes().ToString().Should().Be("2!1.2.3");
    }

    [Theory]
    [InlineData("1.0", false, false, false)]
    [InlineData("1.0a1", true, false, false)]
    [InlineData("1.0.dev1", true, false, true)]
    [InlineData("1.0.post1", false, true, false)]
    [InlineData("1.0.post1.dev1", true, true, true)]
    [InlineData("1.0+local", false, false, false)]
    public void ClassifiesReleases(string text, bool prerelease, bool postrelease, bool devrelease)
    {
        var version = PythonVersion.Parse(text);
        version.IsPrerelease.Should().Be(prerelease);
        version.IsPostrelease.Should().Be(postrelease);
        version.IsDevrelease.Should().Be(devrelease);
    }

    // packaging's test_version.py ordering, which follows PEP 440's examples: dev < pre < final <
    // post within a release; local versions after their public version, alphanumeric parts before
    // numeric ones, shorter before longer.
    public static readonly string[] Ordered =
    [
        "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
        "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346", "1.0c1.dev456", "1.0c1", "1.0rc2", "1.0c3",
        "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1", "1.2+123abc", "1.2+123abc456", "1.2+abc",
        "1.2+abc123", "1.2+abc123def", "1.2+1234.abc", "1.2+123456", "1.2.r32+123456", "1.2.rev33+123456",
        "1!1.0.dev456", "1!1.0a1", "1!1.0a2.dev456", "1!1.0a12.dev456", "1!1.0a12", "1!1.0b1.dev456",
        "1!1.0b2", "1!1.0b2.post345.dev456", "1!1.0b2.post345", "1!1.0b2-346", "1!1.0c1.dev456", "1!1.0c1",
        "1!1.0rc2", "1!1.0c3", "1!1.0", "1!1.0.post456.dev34", "1!1.0.post456", "1!1.1.dev1",
        "1!1.2+123abc", "1!1.2+123abc456", "1!1.2+abc", "1!1.2+abc123", "1!1.2+abc123def",
        "1!1.2+1234.abc", "1!1.2+123456", "1!1.2.r32+123456", "1!1.2.rev33+123456",
    ];

    [Fact]
    public void OrdersAsPep440Says()
    {
        var versions = Ordered.Select(PythonVersion.Parse).ToArray();
        for (int i = 1; i < versions.Length; i++)
        {
            (versions[i - 1] < versions[i]).Should().BeTrue($"{Ordered[i - 1]} < {Ordered[i]}");
            (versions[i] > versions[i - 1]).Should().BeTrue();
            versions[i].CompareTo(versions[i - 1]).Should().BePositive();
            (versions[i - 1] == versions[i]).Should().BeFalse();
        }
        versions.Reverse().Order().Select(v => v.ToString()).Should().Equal(versions.Select(v => v.ToString()));
    }

    [Theory]
    [InlineData("1.0", "1.0.0")]
    [InlineData("1.0", "1.0.0.0.0")]
    [InlineData("1.0", "v1.0")]
    [InlineData("1.0a1", "1.0.ALPHA.1")]
    [InlineData("1.0+01", "1.0+1")]
    [InlineData("1.0+ABC", "1.0+abc")]
    [InlineData("0!1.0", "1.0")]
    [InlineData("1.0-1", "1.0.post1")]
    public void TreatsEquivalentSpellingsAsEqual(string left, string right)
    {
        var (a, b) = (PythonVersion.Parse(left), PythonVersion.Parse(right));
        (a == b).Should().BeTrue();
        a.Equals(b).Should().BeTrue();
        a.GetHashCode().Should().Be(b.GetHashCode());
        a.CompareTo(b).Should().Be(0);
    }

    [Theory]
    [InlineData("1.0", "1.0+local")]
    [InlineData("1.0+abc", "1.0+abc.0")]
    [InlineData("1.0", "1!1.0")]
    [InlineData("1.0.dev0", "1.0a0")]
    [InlineData("1.0.post1", "1.0-2")]
    public void OrdersDistinctVersions(string lower, string higher)
    {
        (PythonVersion.Parse(lower) < PythonVersion.Parse(higher)).Should().BeTrue();
        (PythonVersion.Parse(lower) != PythonVersion.Parse(higher)).Should().BeTrue();
    }

    [Fact]
    public void NumbersAreUnbounded()
    {
        var big = PythonVersion.Parse("1.99999999999999999999999999999");
        var bigger = PythonVersion.Parse("1.100000000000000000000000000000");
        (big < bigger).Should().BeTrue();
        bigger.ToString().Should().Be("1.100000000000000000000000000000");
    }

    [Theory]
    [InlineData("1.0.0", true, "1")]
    [InlineData("1.0.0", false, "1.0.0")]
    [InlineData("0.0", true, "0")]
    [InlineData("1.2.0rc1+Local", true, "1.2rc1+local")]
    [InlineData("2!1.10.0.post0", true, "2!1.10.post0")]
    public void CanonicalizesLikePackaging(string text, bool stripTrailingZero, string canonical)
    {
        PythonVersion.Parse(text).ToCanonicalString(stripTrailingZero).Should().Be(canonical);
    }
}
