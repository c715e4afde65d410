using Xar.Python.Standards;

namespace Xar.Python.Tests;

/// <summary>entry_points.txt as the entry points specification defines it.</summary>
public class EntryPointsTests
{
    private const string Sample = """
        # written by setuptools
        [console_scripts]
        pygmentize = pygments.cmdline:main
        Tool-Name=pkg.cli : run.main   [color, fast-io]
        plain = pkg.__main__

        ; a comment
        [gui_scripts]
        app-gui = pkg.gui:start

        [pygments.lexers]
        mylexer = pkg.lexer:MyLexer
        """;

    [Fact]
    public void ReadsGroupsNamesReferencesAndExtras()
    {
        var file = EntryPointsFile.Parse(Sample);
        file.EntryPoints.Should().HaveCount(5);

        file.ConsoleScripts.Select(e => e.Name).Should().Equal("pygmentize", "Tool-Name", "plain");
        var pygmentize = file.ConsoleScripts.First();
        pygmentize.Module.Should().Be("pygments.cmdline");
        pygmentize.Attribute.Should().Be("main");
        pygmentize.Extras.Should().BeEmpty();

        var tool = file.ConsoleScripts.ElementAt(1);
        tool.Module.Should().Be("pkg.cli");
        tool.Attribute.Should().Be("run.main");
        tool.AttributePath.Should().Equal("run", "main");
        tool.Extras.Should().Equal("color", "fast-io");
        tool.Value.Should().Be("pkg.cli:run.main [color, fast-io]");

        var plain = file.ConsoleScripts.Last();
        plain.Attribute.Should().BeNull();
        plain.AttributePath.Should().BeEmpty();

        file.GuiScripts.Should().ContainSingle().Which.Should().BeEquivalentTo(
            new EntryPoint("gui_scripts", "app-gui", "pkg.gui", "start", []));
        file.InGroup("pygments.lexers").Single().Attribute.Should().Be("MyLexer");
    }

    [Fact]
    public void AcceptsWindowsLineEndingsAndAnEmptyFile()
    {
        EntryPointsFile.Parse("[console_scripts]\r\na = b:c\r\n").ConsoleScripts.Single().Attribute.Should().Be("c");
        EntryPointsFile.Parse("").EntryPoints.Should().BeEmpty();
    }

    [Theory]
    [InlineData("[console_scripts]\nno-equals-sign", "no-equals-sign")]
    [InlineData("orphan = a:b", "orphan = a:b")]
    [InlineData("[console_scripts]\nx = a b:c", "a b:c")]
    [InlineData("[console_scripts]\nx = a:", "a:")]
    [InlineData("[console_scripts]\nx = a:b [c", "a:b [c")]
    [InlineData("[console_scripts\nx = a:b", "[console_scripts")]
    [InlineData("[console_scripts]\n = a:b", "= a:b")]
    public void RejectsMalformedLines(string text, string offending)
    {
        var parse = () => EntryPointsFile.Parse(text);
        parse.Should().Throw<InvalidEntryPointException>().Which.Input.Should().Be(offending);
    }

    [Fact]
    public void ParsesAnObjectReferenceOnItsOwn()
    {
        var entry = EntryPointsFile.ParseObjectReference("console_scripts", "main", "package.module:function");
        entry.Module.Should().Be("package.module");
        entry.Attribute.Should().Be("function");
    }
}
