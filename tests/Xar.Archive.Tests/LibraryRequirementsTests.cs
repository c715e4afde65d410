namespace Xar.Archive.Tests;

/// <summary>XAR_LIBRARY_PATH and XAR_REQUIRES_GLIBC as the launcher, the daemon and `xar verify` read them.</summary>
public sealed class LibraryRequirementsTests
{
    private static XarHeader Header(Dictionary<string, string> lines)
    {
        var fields = new XarHeaderFields { Version = 1 };
        foreach ((string key, string value) in lines)
            fields.Extra[key] = value;
        return XarHeader.Parse(XarHeaderText.Format(fields, 4096, "01234567", new string('0', 64)), "app.xar");
    }

    [Fact]
    public void They_read_back_as_the_builder_writes_them_and_are_nothing_when_absent()
    {
        XarHeader header = Header(new() { [XarHeaderKeys.LibraryPath] = "__xar__/lib:__xar__/python/lib", [XarHeaderKeys.RequiresGlibc] = "2.36" });

        LibraryRequirements.Directories(header, "app.xar").Should().Equal("__xar__/lib", "__xar__/python/lib");
        LibraryRequirements.Glibc(header, "app.xar").Should().Be(new Version(2, 36, 0, 0));
        LibraryRequirements.Directories(Header([]), "app.xar").Should().BeEmpty();
        LibraryRequirements.Glibc(Header([]), "app.xar").Should().BeNull();
    }

    [Theory]
    [InlineData(XarHeaderKeys.LibraryPath, "/usr/lib")]
    [InlineData(XarHeaderKeys.LibraryPath, "__xar__/lib:../../usr/lib")]
    [InlineData(XarHeaderKeys.LibraryPath, "__xar__/lib::lib")]
    [InlineData(XarHeaderKeys.LibraryPath, "lib:")]
    [InlineData(XarHeaderKeys.RequiresGlibc, "two.34")]
    [InlineData(XarHeaderKeys.RequiresGlibc, "2")]
    public void A_malformed_value_is_refused_in_one_line_naming_the_archive_and_the_key(string key, string value)
    {
        XarHeader header = Header(new() { [key] = value });

        var refused = FluentActions.Invoking(() =>
        {
            LibraryRequirements.Directories(header, "app.xar");
            LibraryRequirements.Glibc(header, "app.xar");
        }).Should().Throw<XarFormatException>().Which;
        refused.Message.Should().StartWith($"app.xar: {key} \"{value}\" is not").And.NotContain("\n");
    }
}
