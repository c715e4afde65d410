using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// An application whose only declared dependency is Debian's matplotlib (python3-matplotlib,
/// whose metadata declares nothing), built `--wheels APP.whl --from-env /usr`: once following
/// imports, once with --no-follow-imports, the build before the import closure.
/// </summary>
public sealed class DebianMatplotlibArchives : IDisposable
{
    /// <summary>Plots with the Agg backend; says where matplotlib's data is and whether its files are there.</summary>
    private const string App = """
        import os
        import sys

        try:
            import yaml  # optional: the app works without it
        except ImportError:
            yaml = None


        def main():
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            figure, axes = plt.subplots(figsize=(2, 2), dpi=50)
            axes.plot([0, 1, 2], [0, 1, 4])
            figure.savefig(sys.argv[1])
            data = matplotlib.get_data_path()
            print("data inside the package:", data == os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data"))
            print("DejaVuSans.ttf:", os.path.isfile(os.path.join(data, "fonts", "ttf", "DejaVuSans.ttf")))
            print("yaml:", yaml is not None)
        """;

    internal Workspace Workspace { get; } = new();

    public DebianMatplotlibArchives()
    {
        (Following, NotFollowing) = Workspace.DisposeIfThrows(() =>
        {
            Interpreters.Require("/usr/lib/python3/dist-packages/matplotlib");
            string wheel = new TestWheel
            {
                Name = "plotapp",
                RequiresDist = ["matplotlib"],
                EntryPoints = "[console_scripts]\nplotapp = plotapp:main\n",
                Files = new Dictionary<string, string> { ["plotapp.py"] = App },
            }.WriteTo(Workspace.Combine("wheels"));
            var following = Build("following.xar", wheel);
            var notFollowing = Build("not-following.xar", wheel, "--no-follow-imports");
            return (following, notFollowing);
        });
    }

    /// <summary>The archive and what the build wrote on stderr.</summary>
    public (string Path, string Stderr) Following { get; }

    public (string Path, string Stderr) NotFollowing { get; }

    private (string, string) Build(string name, string wheel, params string[] options)
    {
        string output = Workspace.Combine(name);
        // Sources only: compiling numpy and matplotlib would take most of this test's time.
        var result = XarTool.Run(["build", "--wheels", wheel, "plotapp", "--from-env", "/usr", "--bytecode", "none", .. options, "-o", output, "--launcher", Launcher.Path]);
        if (result.ExitCode != 0) throw new InvalidOperationException($"xar build {name} failed: {result}");
        return (output, result.Stderr);
    }

    public void Dispose() => Workspace.Dispose();
}

public sealed class ImportClosureTests(DebianMatplotlibArchives archives) : IClassFixture<DebianMatplotlibArchives>
{
    [Fact]
    public void Debians_matplotlib_runs_with_the_distributions_its_code_imports()
    {
        string png = archives.Workspace.Combine("plot.png");

        var result = archives.Workspace.Launch(archives.Following.Path, [png]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Be("data inside the package: True\nDejaVuSans.ttf: True\nyaml: False\n");
        File.ReadAllBytes(png).Take(8).Should().Equal(0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A);
    }

    [Theory]
    [InlineData("numpy")]
    [InlineData("packaging")]
    [InlineData("pyparsing")]
    [InlineData("cycler")]
    [InlineData("kiwisolver")]
    [InlineData("Pillow")]
    [InlineData("python-dateutil")]
    [InlineData("fonttools")]
    public void Each_undeclared_distribution_is_named_with_who_imports_it(string distribution) =>
        archives.Following.Stderr.Should().MatchRegex($@"(?m)^xar: including {distribution} \S+ \(imported by matplotlib/\S+\.py, not declared by matplotlib \S+\)$");

    [Fact]
    public void Dependencies_of_dependencies_are_found_too() =>
        archives.Following.Stderr.Should().MatchRegex(@"(?m)^xar: including six \S+ \(imported by dateutil/\S+\.py, not declared by python-dateutil \S+\)$");

    [Fact]
    public void An_import_inside_try_except_ImportError_is_not_forced()
    {
        archives.Following.Stderr.Should().NotContain("including PyYAML");
        archives.Following.Stderr.Should().MatchRegex(@"(?m)^xar: not including \d+ installed distributions only imported inside functions or try/except ImportError .*PyYAML \S+ \(plotapp\.py\)");
    }

    [Fact]
    public void Without_following_imports_the_build_warns_and_the_archive_fails_as_before()
    {
        archives.NotFollowing.Stderr.Should().MatchRegex(@"(?m)^xar: warning: packaging \S+ is imported by matplotlib/__init__\.py, not declared by matplotlib \S+; not included \(--no-follow-imports\)$")
            .And.NotContain("xar: including");

        var result = archives.Workspace.Launch(archives.NotFollowing.Path, [archives.Workspace.Combine("never.png")]);

        result.ExitCode.Should().NotBe(0);
        result.Stderr.Should().Contain("ModuleNotFoundError: No module named");
    }
}
