using Xar.Python.Building;
using Xar.Python.Standards;

namespace Xar.Python.Tests.Building;

/// <summary>pyproject.toml read in C# (Tomlyn): the examples' real files, and broken ones; no interpreter runs for them.</summary>
public sealed class PythonProjectTests : IDisposable
{
    // Reading must not need the interpreter when pyproject.toml names the project: this one does not exist.
    private const string NoInterpreter = "/nonexistent/python3";

    private readonly TempDirectory _scratch = new("pyproject");

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("py-hello", "xar-example-hello", "hello", "zstd")]
    [InlineData("py-ext", "xar-example-ext", null, null)]
    [InlineData("sci-app", "xar-example-sci", "sci", null)]
    public void The_examples_name_and_tool_xar_table_are_read_without_the_interpreter(string example, string name, string? entry, string? compression)
    {
        var project = PythonProject.Read(Repository.Example(example), NoInterpreter);

        project.Name.Should().Be(name);
        project.Settings.String("entry").Should().Be(entry);
        project.Settings.String("compression").Should().Be(compression);
    }

    [Fact]
    public void Tool_xar_keys_with_underscores_read_as_the_options_names_and_keep_their_types()
    {
        string project = _scratch.Write("p/pyproject.toml", "[project]\nname = \"p\"\n\n[tool.xar]\ninherit_site = true\nlevel = 19\nblock-size = \"256K\"\n");

        var settings = PythonProject.Read(Path.GetDirectoryName(project)!, NoInterpreter).Settings;

        settings.Boolean("inherit-site").Should().BeTrue();
        settings.Integer("level").Should().Be(19);
        settings.Value("block-size").Should().Be("256K");
        var wrongType = () => settings.String("level");
        wrongType.Should().Throw<InvalidTomlException>().Which.Message.Should().Be($"{project}: tool.xar.level: expected a string, got the number 19");
    }

    [Fact]
    public void Bad_TOML_is_one_line_naming_the_file_line_and_column()
    {
        string project = _scratch.Write("p/pyproject.toml", "[project]\nname = \"p\"\n\n[tool.xar]\nentry = hello\n");

        var read = () => PythonProject.Read(Path.GetDirectoryName(project)!, NoInterpreter);

        read.Should().Throw<InvalidTomlException>().Which.Message.Should().MatchRegex($"^{System.Text.RegularExpressions.Regex.Escape(project)}:5:[0-9]+: invalid TOML: [^\n]+$");
    }

    [Fact]
    public void A_pyproject_without_a_name_and_no_setup_files_is_refused()
    {
        string project = _scratch.Write("p/pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\n");

        var read = () => PythonProject.Read(Path.GetDirectoryName(project)!, NoInterpreter);

        read.Should().Throw<PythonBuildException>().Which.Message.Should().Be($"{project}: the project has no name ([project] name)");
    }
}
