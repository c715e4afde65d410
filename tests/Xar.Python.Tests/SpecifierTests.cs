using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>PEP 440 version specifiers and specifier sets, from the specification's rules.</summary>
public class SpecifierTests
{
    [Theory]
    // Exact and local-version matching: a specifier without a local label ignores the candidate's.
    [InlineData("==1.0", "1.0", true)]
    [InlineData("==1.0", "1.0.0", true)]
    [InlineData("==1.0", "1.0+local", true)]
    [InlineData("==1.0+local", "1.0", false)]
    [InlineData("==1.0+local", "1.0+LOCAL", true)]
    [InlineData("==1.0+local", "1.0+local.1", false)]
    [InlineData("!=1.0", "1.0+local", false)]
    [InlineData("!=1.0+local", "1.0", true)]
    [InlineData("!=1.0+local", "1.0+other", true)]
    // Prefix matching, with zero padding of the candidate's release.
    [InlineData("==1.*", "1.5", true)]
    [InlineData("==1.*", "1.0.post1", true)]
    [InlineData("==1.*", "1.5+local", true)]
    [InlineData("==1.*", "2.0", false)]
    [InlineData("==1.1.*", "1.1", true)]
    [InlineData("==1.1.*", "1.10", false)]
    [InlineData("==1.0.0.*", "1.0", true)]
    [InlineData("==1!1.*", "1.0", false)]
    [InlineData("!=1.*", "1.5", false)]
    [InlineData("!=1.*", "1.0+local", false)]
    [InlineData("!=1.*", "2.0", true)]
    [InlineData("!=1.*", "0.9", true)]
    [InlineData("!=1.1.*", "1.10", true)]
    // Compatible release: ~=2.2 is >=2.2, ==2.*.
    [InlineData("~=2.2", "2.3", true)]
    [InlineData("~=2.2", "2.2", true)]
    [InlineData("~=2.2", "3.0", false)]
    [InlineData("~=2.2", "2.1", false)]
    [InlineData("~=2.2.0", "2.2.5", true)]
    [InlineData("~=2.2.0", "2.3", false)]
    [InlineData("~=2.2.post3", "2.2.post4", true)]
    [InlineData("~=2.2.post3", "2.2", false)]
    [InlineData("~=1.4.5a4", "1.4.5", true)]
    [InlineData("~=1.4.5a4", "1.4.5a5", true)]
    // packaging computes ~='s prefix from the text as written, so a leading "v" defeats it.
    [InlineData("~=v2.2", "2.3", false)]
    // Inclusive ordered comparisons ignore the candidate's local label.
    [InlineData("<=2.0", "2.0+local", true)]
    [InlineData(">=2.0", "2.0+local", true)]
    [InlineData(">=2.0", "1.9", false)]
    // Exclusive ordered comparisons: <V excludes V's pre-releases, >V excludes V's post-releases
    // and local versions.
    [InlineData("<3.1", "3.0", true)]
    [InlineData("<3.1", "3.1", false)]
    [InlineData("<3.1rc1", "3.1a1", false)]
    [InlineData(">3.1", "3.1.post1", false)]
    [InlineData(">3.1", "3.2.post1", true)]
    [InlineData(">3.1.post1", "3.1.post2", true)]
    [InlineData(">3.1", "3.1+local", false)]
    [InlineData(">3.1", "3.1.1+local", true)]
    // Arbitrary equality compares the normalized candidate as a string, case-insensitively.
    [InlineData("===1.0", "1.0", true)]
    [InlineData("===1.0", "1.0.0", false)]
    [InlineData("===1.0+LOCAL", "1.0+local", true)]
    [InlineData("===foo", "1.0", false)]
    public void MatchesFinalReleases(string specifier, string version, bool expected)
    {
        Specifier.Parse(specifier).Contains(version).Should().Be(expected);
    }

    [Theory]
    [InlineData("<3.1", "3.1.dev0", false)]
    [InlineData("<3.1", "3.0.dev0", true)]
    [InlineData("<3.1rc1", "3.1a1", true)]
    [InlineData(">=1.0", "2.0a1", true)]
    [InlineData("==1.*", "1.0a1", true)]
    [InlineData(">3.1.dev0", "3.1.dev1", true)]
    public void MatchesPreReleasesWhenAllowed(string specifier, string version, bool expected)
    {
        Specifier.Parse(specifier).Contains(version, prereleases: true).Should().Be(expected);
    }

    [Theory]
    [InlineData(">=1.0", false)]
    [InlineData(">=1.0a1", true)]
    [InlineData("==1.0.dev1", true)]
    [InlineData("~=1.0rc1", true)]
    [InlineData("<=2.0b1", true)]
    [InlineData("<2.0b1", false)]
    [InlineData(">2.0b1", false)]
    [InlineData("!=2.0b1", false)]
    [InlineData("===1.0a1", true)]
    [InlineData("===foo", false)]
    public void AllowsPreReleasesWhenAnInclusiveSpecifierNamesOne(string specifier, bool expected)
    {
        var parsed = Specifier.Parse(specifier);
        parsed.Prereleases.Should().Be(expected);
        // By default a pre-release matches exactly when pre-releases are allowed and it would match if they were.
        parsed.Contains("2.5a1").Should().Be(expected && parsed.Contains("2.5a1", prereleases: true));
    }

    [Fact]
    public void ThePreReleaseOverrideWins()
    {
        Specifier.Parse(">=1.0", prereleases: true).Contains("2.0a1").Should().BeTrue();
        Specifier.Parse(">=1.0a1", prereleases: false).Contains("2.0a1").Should().BeFalse();
        Specifier.Parse(">=1.0").Contains("2.0a1", prereleases: true).Should().BeTrue();
    }

    [Theory]
    [InlineData("~=1")]
    [InlineData("~=1.0.*")]
    [InlineData(">=1.0.*")]
    [InlineData("<1.0+local")]
    [InlineData("==1.0.*+local")]
    [InlineData("==1.0a1.*")]
    [InlineData("=1.0")]
    [InlineData("1.0")]
    [InlineData(">= 1.0 1")]
    [InlineData(">=")]
    [InlineData("==foo")]
    public void RejectsInvalidSpecifiers(string text)
    {
        var parse = () => Specifier.Parse(text);
        parse.Should().Throw<InvalidSpecifierException>().Which.Message.Should().Be($"Invalid specifier: '{text}'");
    }

    [Fact]
    public void KeepsTheOperatorAndVersionAsWritten()
    {
        var specifier = Specifier.Parse("  ~= V2.2 \t");
        specifier.Operator.Should().Be(SpecifierOperator.Compatible);
        specifier.OperatorText.Should().Be("~=");
        specifier.Version.Should().Be("V2.2");
        specifier.ToString().Should().Be("~=V2.2");
        Specifier.Parse("===").Version.Should().BeEmpty();
    }

    [Fact]
    public void EqualityUsesTheCanonicalVersion()
    {
        Specifier.Parse("==1.0").Should().Be(Specifier.Parse("==1.0.0"));
        Specifier.Parse("==1.0").GetHashCode().Should().Be(Specifier.Parse("== 1.0.0").GetHashCode());
        Specifier.Parse("~=1.0").Should().NotBe(Specifier.Parse("~=1.0.0"));
        Specifier.Parse(">=1.0").Should().NotBe(Specifier.Parse(">1.0"));
    }

    [Fact]
    public void FilterFallsBackToPreReleasesOnlyWhenNothingElseMatches()
    {
        var atLeastOne = Specifier.Parse(">=1.0");
        Versions(atLeastOne.Filter(Parse("1.0", "2.0a1", "1.5"))).Should().Equal("1.0", "1.5");
        Versions(atLeastOne.Filter(Parse("2.0a1", "2.0b1", "0.5"))).Should().Equal("2.0a1", "2.0b1");
        Versions(atLeastOne.Filter(Parse("2.0a1", "1.5"), prereleases: true)).Should().Equal("2.0a1", "1.5");
        Versions(atLeastOne.Filter(Parse("2.0a1"), prereleases: false)).Should().BeEmpty();
    }

    [Fact]
    public void FilterKeepsTheCallersItems()
    {
        var wheels = new[] { ("a", "1.0"), ("b", "2.0"), ("c", "3.0") };
        Specifier.Parse("<3").Filter(wheels, w => PythonVersion.Parse(w.Item2)).Select(w => w.Item1).Should().Equal("a", "b");
    }

    [Fact]
    public void SetsParseNormalizeAndCompare()
    {
        var set = SpecifierSet.Parse(" >=1.0 , !=1.3.*, <2 ,");
        set.Count.Should().Be(3);
        set.ToString().Should().Be("!=1.3.*,<2,>=1.0");
        set.Should().Be(SpecifierSet.Parse("<2,>=1.0.0,!=1.3.*"));
        set.GetHashCode().Should().Be(SpecifierSet.Parse("<2,>=1.0.0,!=1.3.*").GetHashCode());
        SpecifierSet.Parse(">=1.0,>=1.0.0").Count.Should().Be(1);
        SpecifierSet.Parse("").IsEmpty.Should().BeTrue();
        SpecifierSet.Parse(" , ").Should().Be(SpecifierSet.Empty);
    }

    [Theory]
    [InlineData(">=1.0,!=1.3.*,<2", "1.5", true)]
    [InlineData(">=1.0,!=1.3.*,<2", "1.3.4", false)]
    [InlineData(">=1.0,!=1.3.*,<2", "2.0", false)]
    [InlineData(">=1.0,<2", "1.5a1", false)]
    [InlineData(">=1.0a1,<2", "1.5a1", true)]
    [InlineData("", "1.0", true)]
    [InlineData("", "1.0a1", false)]
    public void SetsMatchWhenEverySpecifierMatches(string set, string version, bool expected)
    {
        SpecifierSet.Parse(set).Contains(version).Should().Be(expected);
    }

    [Fact]
    public void SetPreReleaseRules()
    {
        SpecifierSet.Parse("").Prereleases.Should().BeNull();
        SpecifierSet.Parse(">=1.0").Prereleases.Should().BeFalse();
        SpecifierSet.Parse(">=1.0,<=2.0b1").Prereleases.Should().BeTrue();
        SpecifierSet.Parse("").Contains("1.0a1", prereleases: true).Should().BeTrue();
        SpecifierSet.Parse(">=1.0", prereleases: true).Contains("1.5a1").Should().BeTrue();

        // A non-empty set filters pre-releases out unless they are allowed; the empty set keeps
        // them when there is nothing else.
        Versions(SpecifierSet.Parse(">=1.0").Filter(Parse("2.0a1"))).Should().BeEmpty();
        Versions(SpecifierSet.Parse("").Filter(Parse("1.0a1", "0.9"))).Should().Equal("0.9");
        Versions(SpecifierSet.Parse("").Filter(Parse("1.0a1", "0.9a1"))).Should().Equal("1.0a1", "0.9a1");
        Versions(SpecifierSet.Parse("").Filter(Parse("1.0a1"), prereleases: false)).Should().BeEmpty();
    }

    [Fact]
    public void IntersectCombinesSpecifiersAndOverrides()
    {
        var both = SpecifierSet.Parse(">=1.0").Intersect(SpecifierSet.Parse("<2,>=1.0.0", prereleases: true));
        both.ToString().Should().Be("<2,>=1.0");
        both.Prereleases.Should().BeTrue();
        var clash = () => SpecifierSet.Parse(">=1", prereleases: false).Intersect(SpecifierSet.Parse("<2", prereleases: true));
        clash.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void AnInvalidMemberNamesTheSetAndTheMember()
    {
        var parse = () => SpecifierSet.Parse(">=1.0, foo");
        parse.Should().Throw<InvalidSpecifierException>()
            .Which.Should().Match<InvalidSpecifierException>(e => e.Input == ">=1.0, foo" && e.Message.Contains("'foo'"));
    }

    [Fact]
    public void AnInvalidCandidateVersionIsReported()
    {
        var contains = () => Specifier.Parse(">=1").Contains("not a version");
        contains.Should().Throw<InvalidVersionException>();
    }

    private static PythonVersion[] Parse(params string[] versions) => versions.Select(PythonVersion.Parse).ToArray();

    private static IEnumerable<string> Versions(IEnumerable<PythonVersion> versions) => versions.Select(v => v.ToString());
}
