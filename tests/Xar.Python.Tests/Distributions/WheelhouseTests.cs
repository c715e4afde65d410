using Xar.Python.Distributions;
using Xar.Python.Standards;

namespace Xar.Python.Tests.Distributions;

/// <summary>Choosing wheels for requirements, with wheels written by the tests and a target described by hand.</summary>
public sealed class WheelhouseTests : IDisposable
{
    private readonly TempDirectory _scratch = new("pydist");
    private readonly TargetInterpreter _target = Targets.CPython(11);
    private readonly List<DistributionBundle> _bundles = [];

    public void Dispose()
    {
        foreach (var bundle in _bundles) bundle.Dispose();
        _scratch.Dispose();
    }

    private string House => _scratch.Combine("house");

    private void Put(TestWheel wheel)
    {
        Directory.CreateDirectory(House);
        wheel.WriteTo(House);
    }

    private static TestWheel Lib(string name, string version, string tag = "py3-none-any", params string[] requires) =>
        new TestWheel { Name = name, Version = version, Tag = tag, RequiresDist = [.. requires] }.With($"{name.Replace('-', '_')}/__init__.py", $"VERSION = '{version}'\n");

    private DistributionBundle Resolve(params string[] requirements)
    {
        var house = new Wheelhouse();
        house.Add(House);
        var bundle = house.Resolve(requirements.Select(Requirement.Parse), _target);
        _bundles.Add(bundle);
        return bundle;
    }

    private Func<DistributionBundle> Resolving(params string[] requirements) => () => Resolve(requirements);

    private static string[] Picked(DistributionBundle bundle) =>
        bundle.Distributions.Select(d => d is WheelFile w ? w.Filename.FileName : d.ToString()).ToArray();

    [Fact]
    public void The_newest_compatible_version_wins_then_the_most_specific_tag_then_the_build_tag()
    {
        Put(Lib("lib", "1.0"));
        Put(Lib("lib", "2.0"));
        Put(Lib("lib", "3.0", "cp312-cp312-manylinux_2_17_x86_64"));
        Put(Lib("lib", "2.0", "cp311-cp311-manylinux_2_17_x86_64"));
        Put(Lib("lib", "2.0", "cp311-cp311-linux_x86_64"));
        Picked(Resolve("lib")).Should().Equal("lib-2.0-cp311-cp311-manylinux_2_17_x86_64.whl");

        Put(new TestWheel { Name = "built", Version = "1.0", BuildTag = "1" });
        Put(new TestWheel { Name = "built", Version = "1.0", BuildTag = "2" });
        Picked(Resolve("built")).Should().Equal("built-1.0-2-py3-none-any.whl");
    }

    [Fact]
    public void Specifiers_limit_the_versions_and_pre_releases_need_to_be_asked_for()
    {
        Put(Lib("lib", "1.0"));
        Put(Lib("lib", "1.5"));
        Put(Lib("lib", "2.0"));
        Put(Lib("lib", "3.0b1"));
        Picked(Resolve("lib<2")).Should().Equal("lib-1.5-py3-none-any.whl");
        Picked(Resolve("lib")).Should().Equal("lib-2.0-py3-none-any.whl");
        Picked(Resolve("lib>=3.0b1")).Should().Equal("lib-3.0b1-py3-none-any.whl");
    }

    [Fact]
    public void Requirements_are_followed_with_markers_and_extras_for_the_target()
    {
        Put(new TestWheel
        {
            Name = "app",
            Version = "1.0",
            ProvidesExtra = ["fancy"],
            RequiresDist = ["core>=1", "winonly; sys_platform == 'win32'", "old; python_version < '3.8'", "pretty; extra == 'fancy'", "gone; extra == 'other'"],
            EntryPoints = "[console_scripts]\napp = app:main\napp-admin = app.admin:main\n[gui_scripts]\napp-gui = app.gui:main\n",
            RequiresPython = ">=3.9",
        }.With("app/__init__.py", "def main(): pass\n"));
        Put(Lib("core", "1.0", "py3-none-any", "util"));
        Put(Lib("util", "1.0"));
        Put(Lib("pretty", "1.0", "py3-none-any", "util>=1"));

        var plain = Resolve("app");
        plain.Distributions.Select(d => d.Name).Should().Equal("app", "core", "util");
        plain.Root!.Name.Should().Be("app");
        plain.ConsoleScripts.Select(e => e.Name).Should().Equal("app", "app-admin");
        plain.GuiScripts.Select(e => e.Name).Should().Equal("app-gui");
        plain.RequiresPython!.ToString().Should().Be(">=3.9");

        var fancy = Resolve("app[fancy]");
        fancy.Distributions.Select(d => d.Name).Should().Equal("app", "core", "pretty", "util");
        fancy.Extras[fancy.Root!].Should().Equal("fancy");
        fancy.Entries.Should().Contain(e => e.Path == "lib/python/pretty/__init__.py");
    }

    [Fact]
    public void A_requested_requirement_whose_marker_excludes_the_target_is_skipped_with_a_note()
    {
        Put(Lib("lib", "1.0"));
        var bundle = Resolve("lib", "winonly; sys_platform == 'win32'");
        bundle.Distributions.Select(d => d.Name).Should().Equal("lib");
        bundle.Notes.Should().Contain(n => n.Contains("winonly") && n.Contains("marker"));
    }

    [Fact]
    public void An_unknown_extra_is_a_note_as_pip_warns()
    {
        Put(Lib("lib", "1.0"));
        Resolve("lib[nope]").Notes.Should().Contain("lib 1.0 does not provide the extra 'nope'");
    }

    [Fact]
    public void Requires_Python_that_excludes_the_target_moves_to_an_older_version()
    {
        Put(new TestWheel { Name = "lib", Version = "2.0", RequiresPython = ">=3.12" });
        Put(new TestWheel { Name = "lib", Version = "1.0", RequiresPython = ">=3.8" });
        Picked(Resolve("lib")).Should().Equal("lib-1.0-py3-none-any.whl");
    }

    [Fact]
    public void Missing_requirements_are_all_listed_with_who_needs_them()
    {
        Put(Lib("app", "1.0", "py3-none-any", "missing-one>=1", "core"));
        Put(Lib("core", "1.0", "py3-none-any", "missing-two", "missing-one<5"));

        var error = Resolving("app", "absent").Should().Throw<DistributionResolutionException>().Which;
        error.Problems.Should().BeEquivalentTo(new[]
        {
            new UnsatisfiedRequirement("absent", "the request", "no wheel of absent is available"),
            new UnsatisfiedRequirement("missing-one>=1", "app 1.0", "no wheel of missing-one is available"),
            new UnsatisfiedRequirement("missing-one<5", "core 1.0", "no wheel of missing-one is available"),
            new UnsatisfiedRequirement("missing-two", "core 1.0", "no wheel of missing-two is available"),
        });
        error.Message.Should().Contain("missing-one>=1 (required by app 1.0): no wheel of missing-one is available");
    }

    [Fact]
    public void A_conflict_names_the_selected_version_and_every_demand_it_breaks()
    {
        Put(Lib("app", "1.0", "py3-none-any", "lib>=2", "other"));
        Put(Lib("other", "1.0", "py3-none-any", "lib<2"));
        Put(Lib("lib", "1.0"));
        Put(Lib("lib", "2.0"));

        var error = Resolving("app").Should().Throw<DistributionResolutionException>().Which;
        error.Problems.Should().ContainSingle().Which.Should().Be(new UnsatisfiedRequirement("lib<2", "other 1.0", "lib 2.0 was selected"));
    }

    [Fact]
    public void Demands_known_when_a_name_is_reached_all_count()
    {
        // Both requirements on lib are queued before lib is chosen, so 1.5 satisfies both.
        Put(Lib("app", "1.0", "py3-none-any", "lib>=1", "lib<2"));
        Put(Lib("lib", "1.5"));
        Put(Lib("lib", "2.5"));
        Picked(Resolve("app")).Should().Contain("lib-1.5-py3-none-any.whl");
    }

    [Fact]
    public void Only_incompatible_wheels_is_an_error_naming_each_wheel_and_the_interpreter()
    {
        Put(Lib("native", "1.0", "cp311-cp311-win_amd64"));
        Put(Lib("native", "1.0", "cp312-cp312-manylinux_2_17_x86_64"));
        Put(Lib("native", "0.5"));

        var problem = Resolving("native>=1").Should().Throw<DistributionResolutionException>().Which.Problems.Should().ContainSingle().Which;
        problem.Reason.Should().Contain("native-1.0-cp311-cp311-win_amd64.whl (tags not supported by test cpython 3.11 (x86_64))")
            .And.Contain("native-1.0-cp312-cp312-manylinux_2_17_x86_64.whl (tags not supported")
            .And.Contain("native-0.5-py3-none-any.whl (version 0.5 does not match '>=1')");
    }

    [Fact]
    public void A_broken_wheel_that_is_picked_is_an_error_not_a_fallback()
    {
        Put(Lib("lib", "1.0"));
        Put(new TestWheel { Name = "lib", Version = "2.0", WithoutRecord = true });
        Resolving("lib").Should().Throw<InvalidWheelException>().Which.Message.Should().Contain("lib-2.0-py3-none-any.whl").And.Contain("RECORD is missing");
    }

    [Fact]
    public void Files_in_the_directory_that_are_not_wheels_are_noted_and_a_wheel_file_can_be_given_directly()
    {
        Put(Lib("lib", "1.0"));
        File.WriteAllText(Path.Combine(House, "notes-on-wheels.whl"), "");
        var house = new Wheelhouse();
        house.Add(House);
        house.Notes.Should().ContainSingle().Which.Should().Contain("notes-on-wheels.whl");

        string direct = Lib("direct", "1.0").WriteTo(_scratch.Path);
        house.Add(direct);
        house.Wheels.Select(w => w.Name.FileName).Should().Equal("lib-1.0-py3-none-any.whl", "direct-1.0-py3-none-any.whl");
        var adding = () => house.Add(_scratch.Combine("nowhere"));
        adding.Should().Throw<FileNotFoundException>();
    }

    [Fact]
    public void A_direct_reference_accepts_only_the_wheel_it_names()
    {
        Put(Lib("lib", "1.0"));
        Put(Lib("lib", "2.0"));
        Put(Lib("app", "1.0", "py3-none-any", "lib @ https://example.org/wheels/lib-1.0-py3-none-any.whl"));
        Picked(Resolve("app")).Should().Equal("app-1.0-py3-none-any.whl", "lib-1.0-py3-none-any.whl");

        Put(Lib("other", "1.0", "py3-none-any", "lib @ file:///elsewhere/lib-3.0-py3-none-any.whl"));
        Resolving("other").Should().Throw<DistributionResolutionException>().Which.Problems.Should().ContainSingle()
            .Which.Reason.Should().Be("file:///elsewhere/lib-3.0-py3-none-any.whl (from other 1.0) is not among the wheels given");
    }

    [Fact]
    public void Two_wheels_writing_different_bytes_to_one_path_conflict_identical_ones_do_not()
    {
        Put(new TestWheel { Name = "nsa", RequiresDist = ["nsb"] }.With("ns/__init__.py", "# shared\n").With("ns/a.py", "A = 1\n").With("shared.txt", "a\n"));
        Put(new TestWheel { Name = "nsb" }.With("ns/__init__.py", "# shared\n").With("ns/b.py", "B = 1\n").With("shared.txt", "b\n"));
        var error = Resolving("nsa").Should().Throw<ConflictingFilesException>().Which;
        error.Conflicts.Should().ContainSingle().Which.Should().StartWith("lib/python/shared.txt: from nsa 1.0");
    }

    [Fact]
    public void A_file_where_another_wheel_needs_a_directory_conflicts()
    {
        Put(new TestWheel { Name = "one", RequiresDist = ["two"] }.With("thing", "file\n"));
        Put(new TestWheel { Name = "two" }.With("thing/inside.py", "x\n"));
        Resolving("one").Should().Throw<ConflictingFilesException>().Which.Conflicts.Should().ContainSingle()
            .Which.Should().Contain("lib/python/thing: a file from one 1.0, but two 1.0 puts lib/python/thing/inside.py inside it");
    }

    [Fact]
    public void Shared_namespace_init_files_are_kept_once()
    {
        Put(new TestWheel { Name = "nsa", RequiresDist = ["nsb"] }.With("ns/__init__.py", "__import__('pkg_resources').declare_namespace(__name__)\n").With("ns/a.py", "A = 1\n"));
        Put(new TestWheel { Name = "nsb" }.With("ns/__init__.py", "__import__('pkg_resources').declare_namespace(__name__)\n").With("ns/b.py", "B = 1\n"));
        var bundle = Resolve("nsa");
        bundle.Entries.Count(e => e.Path == "lib/python/ns/__init__.py").Should().Be(1);
        bundle.Owners["lib/python/ns/b.py"].Name.Should().Be("nsb");
        bundle.Entries.Select(e => e.Path).Should().BeInAscendingOrder(StringComparer.Ordinal);
    }

    [Fact]
    public void With_an_installed_environment_wheels_come_first_and_the_environment_provides_the_rest()
    {
        Put(Lib("app", "1.0", "py3-none-any", "lib>=2", "helper", "absent"));
        Put(Lib("lib", "2.0"));
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.DistInfo("lib", "1.0", new Dictionary<string, string> { ["lib/__init__.py"] = "VERSION = 'installed'\n" });
        env.DistInfo("helper", "3.0", new Dictionary<string, string> { ["helper.py"] = "" });
        var house = new Wheelhouse();
        house.Add(House);
        var installed = InstalledEnvironment.Open(env.Prefix);

        var error = FluentActions.Invoking(() => house.Resolve([Requirement.Parse("app")], _target, installed))
            .Should().Throw<DistributionResolutionException>().Which;
        error.Message.Should().Contain("absent").And.Contain("no wheel of absent is available; not installed in");

        env.DistInfo("absent", "1.0", new Dictionary<string, string> { ["absent.py"] = "" });
        using var bundle = house.Resolve([Requirement.Parse("app")], _target, InstalledEnvironment.Open(env.Prefix));
        Picked(bundle).Should().Equal("app-1.0-py3-none-any.whl", "lib-2.0-py3-none-any.whl", "helper 3.0", "absent 1.0");
        bundle.Owners["lib/python/helper.py"].Should().BeOfType<InstalledDistribution>();
    }
}
