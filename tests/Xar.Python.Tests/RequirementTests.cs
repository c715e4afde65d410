using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>PEP 508 dependency specifiers, from the specification's grammar and examples.</summary>
public class RequirementTests
{
    [Fact]
    public void ParsesABareName()
    {
        var requirement = Requirement.Parse("requests");
        requirement.Name.Should().Be("requests");
        requirement.Extras.Should().BeEmpty();
        requirement.Specifier.IsEmpty.Should().BeTrue();
        requirement.Url.Should().BeNull();
        requirement.Marker.Should().BeNull();
        requirement.ToString().Should().Be("requests");
    }

    [Fact]
    public void ParsesEveryPart()
    {
        var requirement = Requirement.Parse("requests [security , socks] >= 2.8.1, == 2.8.* ; python_version < '2.7'");
        requirement.Name.Should().Be("requests");
        requirement.Extras.Should().Equal("security", "socks");
        requirement.Specifier.ToString().Should().Be("==2.8.*,>=2.8.1");
        requirement.Marker!.ToString().Should().Be("python_version < \"2.7\"");
        requirement.ToString().Should().Be("requests[security,socks]==2.8.*,>=2.8.1; python_version < \"2.7\"");
    }

    [Theory]
    [InlineData("name (>=1.0)", ">=1.0")]
    [InlineData("name(>=1.0,<2)", "<2,>=1.0")]
    [InlineData("name ( >=1.0 , <2 ) ", "<2,>=1.0")]
    [InlineData("name>=1.0;os_name=='posix'", ">=1.0")]
    [InlineData("name (>=1.0) ; os_name=='posix'", ">=1.0")]
    [InlineData("name==1.0+local", "==1.0+local")]
    [InlineData("name===anything-goes", "===anything-goes")]
    [InlineData("name[]", "")]
    public void AcceptsTheSpecifierForms(string text, string specifier)
    {
        Requirement.Parse(text).Specifier.ToString().Should().Be(specifier);
    }

    [Fact]
    public void ParsesUrlRequirements()
    {
        var plain = Requirement.Parse("pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686");
        plain.Url.Should().Be("https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686");
        plain.Specifier.IsEmpty.Should().BeTrue();
        plain.ToString().Should().Be("pip@ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686");

        var withMarker = Requirement.Parse("name[extra]@file:///tmp/name-1.0.whl ; python_version >= '3'");
        withMarker.Url.Should().Be("file:///tmp/name-1.0.whl");
        withMarker.Extras.Should().Equal("extra");
        withMarker.ToString().Should().Be("name[extra]@ file:///tmp/name-1.0.whl ; python_version >= \"3\"");

        // A URL runs to the next space, so a semicolon without one is part of it.
        Requirement.Parse("name @ https://x/y;z").Url.Should().Be("https://x/y;z");
    }

    [Theory]
    [InlineData("name>=1.0+local", "Local version label can only be used with `==` or `!=` operators\n    name>=1.0+local\n        ~~~~~^")]
    [InlineData("name>=1.0.*", ".* suffix can only be used with `==` or `!=` operators\n    name>=1.0.*\n        ~~~~~~^")]
    [InlineData("name @", "Expected URL after @\n    name @\n          ^")]
    [InlineData("name[extra1 extra2]", "Expected comma between extra names\n    name[extra1 extra2]\n                ^")]
    [InlineData("name[extra1", "Expected matching RIGHT_BRACKET for LEFT_BRACKET, after extras\n    name[extra1\n        ~~~~~~~^")]
    [InlineData("name~=1", "Expected end or semicolon (after name and no valid version specifier)\n    name~=1\n        ^")]
    [InlineData("-name", "Expected package name at the start of dependency specifier\n    -name\n    ^")]
    [InlineData("name (>=1.0", "Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after version specifier\n    name (>=1.0\n         ~~~~~~^")]
    [InlineData("name; os_name", "Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in\n    name; os_name\n                 ^")]
    [InlineData("name>=1.0 and", "Expected end or semicolon (after version specifier)\n    name>=1.0 and\n        ~~~~~~^")]
    public void ExplainsWhereParsingStopped(string text, string message)
    {
        var parse = () => Requirement.Parse(text);
        parse.Should().Throw<InvalidRequirementException>()
            .Which.Should().Match<InvalidRequirementException>(e => e.Input == text && e.Message == message);
        Requirement.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void ComparesNormalized()
    {
        Requirement.Parse("Foo.Bar[b,a]>=1").Should().Be(Requirement.Parse("foo_bar [a, b] (>=1.0)"));
        Requirement.Parse("foo>=1").Should().NotBe(Requirement.Parse("foo>1"));
        Requirement.Parse("Name.With_Odd-chars").NormalizedName.Should().Be("name-with-odd-chars");
        Requirement.Parse("requests[Security]").HasExtra("SECURITY").Should().BeTrue();
        Requirement.Parse("requests[a,a]").Extras.Should().Equal("a");
    }

    [Fact]
    public void MarkerExtrasAreNormalizedInTheMarker()
    {
        Requirement.Parse("pytest ; extra == 'Test_Suite'").Marker!.ToString().Should().Be("extra == \"test-suite\"");
    }
}
