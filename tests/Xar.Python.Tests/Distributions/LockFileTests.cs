using System.Security.Cryptography;
using Xar.Python.Distributions;
using Xar.Python.Standards;

namespace Xar.Python.Tests.Distributions;

/// <summary>
/// Installing PEP 751 lock files written by the tests for wheels written by the tests, their
/// sha256 computed from the files, for a CPython 3.11 target described by hand.
/// </summary>
public sealed class LockFileTests : IDisposable
{
    private readonly TempDirectory _scratch = new("pylock");
    private readonly TargetInterpreter _target = Targets.CPython(11);
    private readonly List<DistributionBundle> _bundles = [];

    public void Dispose()
    {
        foreach (var bundle in _bundles) bundle.Dispose();
        _scratch.Dispose();
    }

    private string Wheels => _scratch.Combine("wheels");

    private string LockPath => _scratch.Combine("pylock.toml");

    private string Put(string name, string version = "1.0", string tag = "py3-none-any")
    {
        Directory.CreateDirectory(Wheels);
        return new TestWheel { Name = name, Version = version, Tag = tag }.With($"{name}/__init__.py", $"VERSION = '{version}'\n").WriteTo(Wheels);
    }

    private static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    /// <summary>A [[packages]] entry with one wheel, by path relative to the lock file.</summary>
    private static string Package(string name, string wheel, string? marker = null, string? hash = null, string version = "1.0") =>
        $$"""

        [[packages]]
        name = "{{name}}"
        version = "{{version}}"
        {{(marker is null ? "" : $"marker = \"{marker}\"")}}
        wheels = [{ name = "{{Path.GetFileName(wheel)}}", path = "wheels/{{Path.GetFileName(wheel)}}", hashes = { sha256 = "{{hash ?? Sha256(wheel)}}" } }]

        """;

    private DistributionBundle Install(string lockText, string application = "app", params string[] wheelDirectories)
    {
        File.WriteAllText(LockPath, lockText);
        var bundle = LockFile.Read(LockPath).Install(application, _target, wheelDirectories);
        _bundles.Add(bundle);
        return bundle;
    }

    private const string Header = "lock-version = \"1.0\"\ncreated-by = \"xar tests\"\n";

    [Fact]
    public void Every_package_whose_marker_holds_is_installed_the_application_first()
    {
        string app = Put("app"), helper = Put("helper");
        string lockText = Header + "requires-python = \">=3.9\"\nenvironments = [\"sys_platform == 'linux'\"]\n"
            + Package("helper", helper) + Package("app", app)
            + Package("winonly", "wheels/winonly-1.0-py3-none-any.whl", marker: "sys_platform == 'win32'", hash: new string('0', 64));

        var bundle = Install(lockText);

        bundle.Distributions.Select(d => d.ToString()).Should().Equal("app 1.0", "helper 1.0");
        bundle.Root!.Name.Should().Be("app");
        bundle.Entries.Select(e => e.Path).Should().Contain(["lib/python/app/__init__.py", "lib/python/helper/__init__.py"]);
        bundle.Notes.Should().ContainSingle().Which.Should().Contain("winonly 1.0: skipped, its marker 'sys_platform == \"win32\"' does not hold");
    }

    [Fact]
    public void The_most_specific_compatible_wheel_that_is_here_is_chosen_and_found_by_name_in_the_wheel_directories()
    {
        string pure = Put("app"), binary = Put("app", tag: "cp311-cp311-manylinux_2_17_x86_64");
        string other = _scratch.Combine("elsewhere");
        Directory.CreateDirectory(other);
        File.Move(binary, Path.Combine(other, Path.GetFileName(binary)));
        string lockText = Header + $$"""

            [[packages]]
            name = "app"
            version = "1.0"
            wheels = [
              { url = "https://files.example/app-1.0-cp311-cp311-win_amd64.whl", hashes = { sha256 = "{{new string('1', 64)}}" } },
              { url = "https://files.example/{{Path.GetFileName(binary)}}", hashes = { sha256 = "{{Sha256(Path.Combine(other, Path.GetFileName(binary)))}}" } },
              { name = "{{Path.GetFileName(pure)}}", path = "wheels/{{Path.GetFileName(pure)}}", hashes = { sha256 = "{{Sha256(pure)}}" } },
            ]
            """;

        var bundle = Install(lockText, "app", other);

        ((WheelFile)bundle.Root!).Path.Should().Be(Path.Combine(other, Path.GetFileName(binary)));
    }

    [Fact]
    public void A_wheel_whose_sha256_differs_is_refused_naming_the_file_the_expected_and_the_actual_hash()
    {
        string app = Put("app");
        string wrong = new('a', 64);

        var install = () => Install(Header + Package("app", app, hash: wrong));

        install.Should().Throw<ArtifactHashException>()
            .Which.Message.Should().Be($"{app}: sha256 mismatch: expected {wrong}, got {Sha256(app)}");
    }

    [Fact]
    public void A_wheel_of_another_size_than_locked_is_refused()
    {
        string app = Put("app");
        string lockText = Header + Package("app", app).Replace("hashes =", "size = 12, hashes =");

        var install = () => Install(lockText);

        install.Should().Throw<ArtifactHashException>().Which.Message.Should().StartWith($"{app}: size mismatch: expected 12 bytes");
    }

    [Fact]
    public void The_wheel_read_is_the_file_that_was_hashed_even_when_another_is_renamed_over_its_path()
    {
        string app = Put("app");
        var bundle = Install(Header + Package("app", app));
        // Whoever can write the wheel directory puts another wheel of the same name at the path.
        string elsewhere = _scratch.Combine("elsewhere");
        Directory.CreateDirectory(elsewhere);
        File.Move(new TestWheel { Name = "app" }.With("app/__init__.py", "SWAPPED = True\n").WriteTo(elsewhere), app, overwrite: true);

        // Two readers at once: the second reads through a second zip reader of the wheel.
        var entry = bundle.Entries.At("lib/python/app/__init__.py");
        using var first = entry.Content!.OpenRead();
        EntryContents.Text(entry).Should().Be("VERSION = '1.0'\n");
        new StreamReader(first).ReadToEnd().Should().Be("VERSION = '1.0'\n");
    }

    [Fact]
    public void A_lock_whose_requires_python_or_environments_exclude_the_target_is_refused()
    {
        string app = Put("app");

        var tooNew = () => Install(Header + "requires-python = \">=3.12\"\n" + Package("app", app));
        var windows = () => Install(Header + "environments = [\"sys_platform == 'win32'\", \"python_version < '3.8'\"]\n" + Package("app", app));

        tooNew.Should().Throw<LockFileException>().Which.Message.Should().Be($"{LockPath}: requires-python '>=3.12' excludes {_target.Description}");
        windows.Should().Throw<LockFileException>().Which.Message.Should()
            .Be($"{LockPath}: none of the lock's environments holds for {_target.Description}: sys_platform == \"win32\"; python_version < \"3.8\"");
    }

    [Fact]
    public void Sdists_and_vcs_directory_and_archive_sources_are_refused_one_line_each()
    {
        string app = Put("app");
        string lockText = Header + Package("app", app) + $$"""

            [[packages]]
            name = "built-from-source"
            version = "2.0"
            sdist = { name = "built_from_source-2.0.tar.gz", path = "built_from_source-2.0.tar.gz", hashes = { sha256 = "{{new string('2', 64)}}" } }

            [[packages]]
            name = "from-git"
            vcs = { type = "git", url = "https://example.invalid/from-git.git", commit-id = "0123456789abcdef" }

            [[packages]]
            name = "local"
            directory = { path = "local" }
            """;

        var install = () => Install(lockText);

        var message = install.Should().Throw<LockFileException>().Which.Message;
        message.Split('\n').Should().Equal(
            $"{LockPath}: cannot install for {_target.Description}:",
            $"  built-from-source 2.0 (packages[1] (built-from-source)): only its sdist built_from_source-2.0.tar.gz fits {_target.Description}; xar installs wheels only (build it with pip wheel and lock the wheel)",
            "  from-git (packages[2] (from-git)): a vcs source, which xar cannot install offline (lock wheels instead)",
            "  local (packages[3] (local)): a directory source, which xar cannot install offline (lock wheels instead)");
    }

    [Fact]
    public void A_locked_wheel_that_is_not_here_is_named_with_where_it_was_looked_for()
    {
        string lockText = Header + Package("app", _scratch.Combine("wheels", "app-1.0-py3-none-any.whl"), hash: new string('3', 64));

        var install = () => Install(lockText, "app", _scratch.Combine("empty"));

        install.Should().Throw<LockFileException>().Which.Message.Should().Contain(
            $"  app 1.0 (packages[0] (app)): none of its wheels for {_target.Description} is here (app-1.0-py3-none-any.whl); looked at their paths relative to {_scratch.Path} and in {_scratch.Combine("empty")}");
    }

    [Fact]
    public void An_application_that_is_not_in_the_lock_is_refused()
    {
        string app = Put("app");

        var install = () => Install(Header + Package("app", app), "other");

        install.Should().Throw<LockFileException>().Which.Message.Should().EndWith("  other: not a package of the lock (it has app)");
    }

    [Theory]
    [InlineData("lock-version = \"1.0\"\n[[packages]]\nname = \"app\"\nversion = 1.0 = 2\n", ":4:")]
    [InlineData("lock-version = \"1.0\"\n\n[[packages]\nname = \"app\"\n", ":3:")]
    public void Bad_TOML_is_one_line_naming_the_file_line_and_column(string text, string position)
    {
        File.WriteAllText(LockPath, text);

        var read = () => LockFile.Read(LockPath);

        read.Should().Throw<InvalidTomlException>().Which.Message.Should().StartWith(LockPath + position).And.Contain(": invalid TOML: ").And.NotContain("\n");
    }

    [Theory]
    [InlineData("lock-version = \"2.0\"\n", "lock-version: '2.0' is not supported (xar reads lock-version 1.x)")]
    [InlineData("created-by = \"x\"\n", "lock-version: missing")]
    [InlineData("lock-version = \"1.0\"\n[[packages]]\nname = 3\n", "packages[0].name: expected a string, got the number 3")]
    [InlineData("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nwheels = [{ name = \"a-1-py3-none-any.whl\" }]\n", "packages[0].wheels[0].hashes: missing (every file of a lock has its hashes)")]
    [InlineData("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nmarker = \"python_version >< '3'\"\n", "packages[0].marker: ")]
    public void A_lock_with_a_missing_or_mistyped_field_is_refused_naming_it(string text, string problem)
    {
        File.WriteAllText(LockPath, text);

        var read = () => LockFile.Read(LockPath);

        read.Should().Throw<InvalidTomlException>().Which.Message.Should().StartWith($"{LockPath}: {problem}").And.NotContain("\n");
    }
}
