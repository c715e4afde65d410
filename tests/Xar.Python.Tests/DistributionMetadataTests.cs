using System.Text;
using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>METADATA and PKG-INFO: the core metadata specification's RFC 822 format.</summary>
public class DistributionMetadataTests
{
    private const string Metadata = """
        Metadata-Version: 2.1
        Name: Flask
        Version: 3.1.3
        Summary: A simple framework for building complex web applications.
        Requires-Python: >=3.9
        Requires-Dist: blinker>=1.9.0
        Requires-Dist: click>=8.1.3
        Requires-Dist: importlib-metadata>=3.6.0; python_version < '3.10'
        Provides-Extra: async
        Requires-Dist: asgiref>=3.2 ; extra == "async"
        requires-dist: python-dotenv
         ; extra == "dotenv"
        Provides-Extra: dotenv
        Classifier: Framework :: Flask
        Classifier: License :: OSI Approved :: BSD License

        # Flask

        Flask is a lightweight WSGI web application framework.

        """;

    [Fact]
    public void ReadsTheFieldsPipUses()
    {
        var metadata = DistributionMetadata.Parse(Metadata);
        metadata.MetadataVersion.Should().Be("2.1");
        metadata.Name.Should().Be("Flask");
        metadata.Version.Should().Be(PythonVersion.Parse("3.1.3"));
        metadata.Summary.Should().Be("A simple framework for building complex web applications.");
        metadata.RequiresPython!.ToString().Should().Be(">=3.9");
        metadata.ProvidesExtra.Should().Equal("async", "dotenv");
        metadata.GetAll("classifier").Should().HaveCount(2);
        metadata.RequiresDist.Should().Equal(
            "blinker>=1.9.0",
            "click>=8.1.3",
            "importlib-metadata>=3.6.0; python_version < '3.10'",
            "asgiref>=3.2 ; extra == \"async\"",
            "python-dotenv ; extra == \"dotenv\"");
        metadata.Requirements.Select(r => r.ToString()).Last().Should().Be("python-dotenv; extra == \"dotenv\"");
        metadata.Body.Should().Be("# Flask\n\nFlask is a lightweight WSGI web application framework.\n");
        metadata.Description.Should().Be(metadata.Body);
        metadata.Get("Missing").Should().BeNull();
        metadata.Headers.First().Should().Be(KeyValuePair.Create("Metadata-Version", "2.1"));
    }

    [Fact]
    public void ReadsALegacyDescriptionHeaderAndCrLf()
    {
        string pkgInfo = "Metadata-Version: 1.1\r\nName: old\r\nVersion: 0.1\r\nDescription: First line\r\n        second line\r\n        \r\n            indented\r\nPlatform: UNKNOWN\r\n";
        var metadata = DistributionMetadata.Parse(Encoding.UTF8.GetBytes(pkgInfo));
        metadata.Name.Should().Be("old");
        metadata.Body.Should().BeEmpty();
        metadata.Description.Should().Be("First line\nsecond line\n\n    indented");
        metadata.Get("platform").Should().Be("UNKNOWN");
        metadata.RequiresDist.Should().BeEmpty();
        metadata.RequiresPython.Should().BeNull();
    }

    [Fact]
    public void ALineThatIsNotAHeaderStartsTheBody()
    {
        var metadata = DistributionMetadata.Parse("Name: x\nVersion: 1\nthis is not a header\nmore\n");
        metadata.Name.Should().Be("x");
        metadata.Body.Should().Be("this is not a header\nmore\n");
    }

    [Fact]
    public void AnInvalidVersionIsReportedWhenAskedFor()
    {
        var metadata = DistributionMetadata.Parse("Name: legacy\nVersion: 1.0-beta-final\n");
        metadata.VersionText.Should().Be("1.0-beta-final");
        var version = () => metadata.Version;
        version.Should().Throw<InvalidVersionException>();
    }
}
