using System.Security.Cryptography;
using Xar.Python.Distributions;
using Xar.Python.Standards;

namespace Xar.Python.Tests.Distributions;

/// <summary>pip requirements files with --hash options, and pip's hash-checking mode over wheels the tests write.</summary>
public sealed class RequirementsFileTests : IDisposable
{
    private readonly TempDirectory _scratch = new("hashreq");
    private readonly List<DistributionBundle> _bundles = [];

    public void Dispose()
    {
        foreach (var bundle in _bundles) bundle.Dispose();
        _scratch.Dispose();
    }

    private string Requirements(string text) => _scratch.Write("requirements.txt", text);

    private static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public void Continuation_lines_comments_hashes_and_included_files_are_read()
    {
        _scratch.Write("more/base.txt", "helper==2.0 --hash=sha256:" + new string('b', 64) + "\n");
        string path = Requirements(
            "# pinned by hand\n" +
            "app==1.0 \\\n" +
            "    --hash=sha256:" + new string('a', 64) + " \\\n" +
            "    --hash sha512:" + new string('c', 128) + "  # two hashes\n" +
            "\n" +
            "--index-url https://pypi.example/simple\n" +
            "-r more/base.txt\n" +
            "colorama==0.4.6 ; sys_platform == 'win32' --hash=sha256:" + new string('d', 64) + "\n");

        var file = RequirementsFile.Read(path);

        file.RequireHashes.Should().BeFalse();
        file.Requirements.Select(r => (r.Requirement.ToString(), r.Hashes.Count, r.Where)).Should().Equal(
            ("app==1.0", 2, $"{path}:2"),
            ("helper==2.0", 1, $"{_scratch.Combine("more", "base.txt")}:1"),
            ("colorama==0.4.6; sys_platform == \"win32\"", 1, $"{path}:8"));
        file.Requirements[0].Hashes.Should().Equal(("sha256", new string('a', 64)), ("sha512", new string('c', 128)));
    }

    [Theory]
    [InlineData("-e ./src\n", ":1: -e: not supported")]
    [InlineData("app==1.0 --no-binary :all:\n", ":1: --no-binary: not supported on a requirement line")]
    [InlineData("app==1.0 --hash=md5\n", ":1: --hash md5: use --hash=ALGORITHM:HEX")]
    [InlineData("\n\napp=>1\n", ":3: ")]
    public void A_line_xar_cannot_use_is_refused_naming_the_file_and_line(string text, string problem)
    {
        string path = Requirements(text);

        var read = () => RequirementsFile.Read(path);

        read.Should().Throw<LockFileException>().Which.Message.Should().StartWith(path + problem).And.NotContain("\n");
    }

    [Fact]
    public void Without_hashes_or_require_hashes_hash_checking_is_off()
    {
        var file = RequirementsFile.Read(Requirements("app>=1\nhelper\n"));

        RequirementsFile.CheckHashMode(file.Requirements, file.RequireHashes).Should().BeFalse();
    }

    [Fact]
    public void In_hash_checking_mode_a_requirement_without_a_hash_or_not_pinned_is_refused()
    {
        string path = Requirements($"app==1.0 --hash=sha256:{new string('a', 64)}\nhelper==2.0\nother>=1 --hash=sha256:{new string('b', 64)}\nwild==1.* --hash=sha256:{new string('c', 64)}\n");
        var file = RequirementsFile.Read(path);

        var check = () => RequirementsFile.CheckHashMode(file.Requirements, file.RequireHashes);

        check.Should().Throw<LockFileException>().Which.Message.Split('\n').Should().Equal(
            "Hash-checking mode:",
            $"  {path}:2: helper==2.0: no --hash (hash-checking mode: when any requirement has a hash, or with --require-hashes, every one needs one)",
            $"  {path}:3: other>=1: not pinned with == (hash-checking mode pins every requirement)",
            $"  {path}:4: wild==1.*: not pinned with == (hash-checking mode pins every requirement)");
    }

    [Fact]
    public void Require_hashes_in_the_file_turns_hash_checking_on_without_any_hash()
    {
        var file = RequirementsFile.Read(Requirements("--require-hashes\napp==1.0\n"));

        file.RequireHashes.Should().BeTrue();
        var check = () => RequirementsFile.CheckHashMode(file.Requirements, file.RequireHashes);
        check.Should().Throw<LockFileException>().Which.Message.Should().Contain("app==1.0: no --hash");
    }

    [Fact]
    public void Every_wheel_installed_is_checked_against_its_requirements_hashes_dependencies_included()
    {
        string house = _scratch.Combine("house");
        Directory.CreateDirectory(house);
        string app = new TestWheel { Name = "app", RequiresDist = ["helper"] }.With("app/__init__.py", "").WriteTo(house);
        string helper = new TestWheel { Name = "helper", Version = "2.0" }.With("helper/__init__.py", "").WriteTo(house);
        string wrong = new('e', 64);
        var good = RequirementsFile.Read(Requirements($"app==1.0 --hash=sha256:{wrong} --hash=sha256:{Sha256(app)}\nhelper==2.0 --hash=sha256:{Sha256(helper)}\n"));
        var bad = RequirementsFile.Read(_scratch.Write("bad.txt", $"app==1.0 --hash=sha256:{Sha256(app)}\nhelper==2.0 --hash=sha256:{wrong}\n"));
        var unlisted = RequirementsFile.Read(_scratch.Write("unlisted.txt", $"app==1.0 --hash=sha256:{Sha256(app)}\n"));

        RequirementsFile.VerifyHashes(good.Requirements, Resolve(house, good));
        var mismatch = () => RequirementsFile.VerifyHashes(bad.Requirements, Resolve(house, bad));
        var missing = () => RequirementsFile.VerifyHashes(unlisted.Requirements, Resolve(house, unlisted));

        mismatch.Should().Throw<ArtifactHashException>().Which.Message.Should().Be($"{helper}: sha256 mismatch: expected {wrong}, got {Sha256(helper)}");
        missing.Should().Throw<LockFileException>().Which.Message.Should().Be(
            $"Hash-checking mode:\n  helper 2.0 ({helper}): not in the requirements; hash-checking mode needs every dependency listed with ==VERSION and --hash");
    }

    [Fact]
    public void The_wheel_hashed_is_the_file_that_is_read_even_when_another_is_renamed_over_its_path()
    {
        string house = _scratch.Combine("house");
        Directory.CreateDirectory(house);
        string app = new TestWheel { Name = "app" }.With("app/__init__.py", "ORIGINAL = True\n").WriteTo(house);
        string original = Sha256(app);
        var file = RequirementsFile.Read(Requirements($"app==1.0 --hash=sha256:{original}\n"));
        var bundle = Resolve(house, file);
        // After the wheel was opened, whoever can write the directory puts another wheel of the same name at the path.
        string elsewhere = _scratch.Combine("elsewhere");
        Directory.CreateDirectory(elsewhere);
        File.Move(new TestWheel { Name = "app" }.With("app/__init__.py", "SWAPPED = True\n").WriteTo(elsewhere), app, overwrite: true);
        var swapped = RequirementsFile.Read(_scratch.Write("swapped.txt", $"app==1.0 --hash=sha256:{Sha256(app)}\n"));

        RequirementsFile.VerifyHashes(file.Requirements, bundle);
        var check = () => RequirementsFile.VerifyHashes(swapped.Requirements, bundle);

        check.Should().Throw<ArtifactHashException>().Which.Message.Should().Be($"{app}: sha256 mismatch: expected {Sha256(app)}, got {original}");
        var entry = bundle.Entries.At("lib/python/app/__init__.py");
        using var first = entry.Content!.OpenRead();
        EntryContents.Text(entry).Should().Be("ORIGINAL = True\n");
    }

    private DistributionBundle Resolve(string house, RequirementsFile file)
    {
        var wheels = new Wheelhouse();
        wheels.Add(house);
        var bundle = wheels.Resolve(file.Requirements.Select(r => r.Requirement), Targets.CPython(11));
        _bundles.Add(bundle);
        return bundle;
    }
}
