using System.Text.Json;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.Python.Tests.Oracle;

namespace Xar.Python.Tests.Distributions;

/// <summary>
/// Real installed environments on this machine: pyenv's Python 3.11 site-packages (pip-installed
/// Flask, cryptography, boto3, IPython, pydantic…) against importlib.metadata and pip's packaging,
/// and Debian's dist-packages (.egg-info without file lists) against dpkg's own file lists.
/// </summary>
public sealed class InstalledEnvironmentOracleTests : IDisposable
{
    private static string PyenvPrefix => Path.Combine(Pyenv.Root, "versions", "3.11.7");
    private const string DebianSite = "/usr/lib/python3/dist-packages";
    private const string DebianPython = "/usr/bin/python3";

    private readonly TempDirectory _scratch = new("pydist");

    public void Dispose() => _scratch.Dispose();

    private static JsonDocument Oracle(string python, IEnumerable<string> sites, IEnumerable<string> roots) =>
        JsonDocument.Parse(PythonProcess.Run(python, ["-s", Path.Combine(AppContext.BaseDirectory, "Distributions", "installed_closure.py")],
            stdin: JsonSerializer.Serialize(new { paths = sites, roots })));

    private static SortedSet<string> SiteFiles(Distribution distribution) =>
        new(distribution.GetImageEntries().Select(e => e.Path).Where(p => p.StartsWith("lib/python/", StringComparison.Ordinal)).Select(p => p["lib/python/".Length..]),
            StringComparer.Ordinal);

    [Theory]
    [InlineData("flask")]
    [InlineData("cryptography")]
    [InlineData("boto3")]
    [InlineData("ipython")]
    [InlineData("pydantic")]
    [InlineData("sympy")]
    [InlineData("moto")]
    [InlineData("jsonschema")]
    [InlineData("pygments", "pyyaml", "orjson")]
    [InlineData("setuptools")]
    public void Closures_and_files_match_importlib_metadata(params string[] roots)
    {
        var environment = InstalledEnvironment.Open(PyenvPrefix);
        using var bundle = environment.Resolve(roots.Select(Requirement.Parse), Targets.Pyenv("3.11"));
        using var oracle = Oracle(Pyenv.Python("3.11"), environment.SiteDirectories, roots);
        var expected = oracle.RootElement.GetProperty("distributions");

        bundle.Distributions.Select(d => d.NormalizedName).Should().BeEquivalentTo(expected.EnumerateObject().Select(p => p.Name));
        foreach (var distribution in bundle.Distributions)
        {
            var want = expected.GetProperty(distribution.NormalizedName);
            distribution.VersionText.Should().Be(want.GetProperty("version").GetString());
            SiteFiles(distribution).Should().BeEquivalentTo(want.GetProperty("files").EnumerateArray().Select(f => f.GetString()), distribution.ToString());
        }
    }

    [Fact]
    public void Missing_requirements_and_unsatisfied_versions_are_all_listed_as_pip_sees_them()
    {
        string[] roots = ["flask[async]", "werkzeug>=99", "nonexistent-distribution", "pydantic[email]"];
        var environment = InstalledEnvironment.Open(PyenvPrefix);
        var resolve = () => environment.Resolve(roots.Select(Requirement.Parse), Targets.Pyenv("3.11"));
        var problems = resolve.Should().Throw<DistributionResolutionException>().Which.Problems;

        using var oracle = Oracle(Pyenv.Python("3.11"), environment.SiteDirectories, roots);
        var expected = oracle.RootElement.GetProperty("missing").EnumerateArray()
            .Concat(oracle.RootElement.GetProperty("conflicts").EnumerateArray())
            .Select(p => (Requirement.Parse(p[0].GetString()!).ToString(), p[1].GetString()!));
        problems.Select(p => (p.Requirement, p.RequiredBy)).Should().BeEquivalentTo(expected);
        problems.Should().Contain(new UnsatisfiedRequirement("werkzeug>=99", "the request", "Werkzeug 3.1.8 is installed"));
        problems.Should().Contain(p => p.Requirement == "nonexistent-distribution" && p.Reason == $"not installed in {PyenvPrefix}");
        problems.Should().Contain(p => p.Requirement.StartsWith("asgiref>=3.2", StringComparison.Ordinal) && p.RequiredBy == "Flask[async] 3.1.3");
    }

    [Fact]
    public void Flask_cryptography_PyYAML_and_orjson_work_from_an_image()
    {
        var environment = InstalledEnvironment.Open(PyenvPrefix);
        using var bundle = environment.Resolve(new[] { "flask", "cryptography", "pyyaml", "orjson" }.Select(Requirement.Parse), Targets.Pyenv("3.11"));
        bundle.Root!.Name.Should().Be("Flask");
        bundle.ConsoleScripts.Select(e => e.Value).Should().Equal("flask.cli:main");
        bundle.Entries.Should().NotContain(e => e.Path.StartsWith("bin/", StringComparison.Ordinal));
        bundle.Entries.Should().NotContain(e => e.Path.Contains("__pycache__"));

        string root = _scratch.Combine("root");
        ImageRoundTrip.Extract(bundle.Entries, _scratch.Combine("app.img"), root);
        string output = ImageRoundTrip.RunPython(Pyenv.Python("3.11"), root, """
            import sys, flask, yaml, orjson
            from cryptography.fernet import Fernet
            app = flask.Flask("demo")
            app.add_url_rule("/", "hello", lambda: "hello from flask")
            print(app.test_client().get("/").get_data(as_text=True))
            f = Fernet(Fernet.generate_key())
            print(f.decrypt(f.encrypt(b"secret")).decode())
            print(yaml.load("a: [1, 2]", Loader=yaml.CSafeLoader))
            print(orjson.dumps({"k": 1}).decode())
            print(all(m.__file__.startswith(sys.argv[1]) for m in (flask, yaml, orjson)))
            """);
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal("hello from flask", "secret", "{'a': [1, 2]}", "{\"k\":1}", "True");
    }

    /// <summary>
    /// The Google Cloud SDK's bundled Python 3.12 has manylinux wheels installed with their
    /// auditwheel-bundled libraries (cffi.libs, google_crc32c.libs): the extensions find them
    /// through $ORIGIN-relative RPATHs, which must keep working from the image's tree.
    /// </summary>
    [Fact]
    public void Bundled_libraries_of_manylinux_wheels_load_from_an_image()
    {
        const string Prefix = "/usr/lib/google-cloud-sdk/platform/bundledpythonunix";
        var environment = InstalledEnvironment.Open(Prefix);
        string python = environment.Interpreter!;
        using var bundle = environment.Resolve(new[] { "google-crc32c", "cryptography" }.Select(Requirement.Parse), TargetInterpreter.Probe(python));
        bundle.Distributions.Select(d => d.NormalizedName).Should().Contain(["google-crc32c", "cryptography", "cffi", "pycparser"]);
        bundle.Entries.Should().Contain(e => e.Path.StartsWith("lib/python/cffi.libs/libffi-", StringComparison.Ordinal))
            .And.Contain(e => e.Path.StartsWith("lib/python/google_crc32c.libs/libcrc32c-", StringComparison.Ordinal));

        string root = _scratch.Combine("root");
        ImageRoundTrip.Extract(bundle.Entries, _scratch.Combine("app.img"), root);
        string output = ImageRoundTrip.RunPython(python, root, """
            import sys, google_crc32c, _cffi_backend
            from cryptography.fernet import Fernet
            f = Fernet(Fernet.generate_key())
            print(google_crc32c.implementation, google_crc32c.value(b"xar"), f.decrypt(f.encrypt(b"ok")).decode())
            maps = open("/proc/self/maps").read()
            print(sorted({line.split()[-1] for line in maps.splitlines() if ".libs/" in line}))
            """);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().Be($"c {Crc32C("xar")} ok");
        lines[1].Should().Contain(root + "/lib/python/cffi.libs/").And.Contain(root + "/lib/python/google_crc32c.libs/").And.NotContain(Prefix);
    }

    private static uint Crc32C(string text)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in System.Text.Encoding.ASCII.GetBytes(text))
        {
            crc ^= b;
            for (int i = 0; i < 8; i++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>
    /// Debian splits one Python distribution into several binary packages (setuptools' pkg_resources
    /// is python3-pkg-resources), so a distribution's files are those of every binary package built
    /// from the source package that owns its metadata. The one file the top_level.txt guess cannot
    /// find: a .pth named after nothing the distribution declares. matplotlib's data, which Debian
    /// keeps in /usr/share (python-matplotlib-data), goes back into the package.
    /// </summary>
    private const string RelocatedMatplotlibData = "/usr/share/matplotlib/mpl-data/";

    [Fact]
    public void Debian_egg_info_files_guessed_from_top_level_match_dpkg()
    {
        var environment = InstalledEnvironment.Open(DebianSite);
        environment.Kind.Should().Be(EnvironmentKind.SiteDirectory);
        environment.Interpreter.Should().Be(DebianPython);

        var eggInfos = environment.Distributions.Where(d => d.Format is InstalledFormat.EggInfo or InstalledFormat.EggInfoFile).ToList();
        eggInfos.Count.Should().BeGreaterThan(10);
        var mismatches = new List<string>();
        foreach (var distribution in eggInfos)
        {
            string package = Run.Checked("dpkg", ["-S", distribution.MetadataPath]).Split(':')[0];
            string source = Run.Checked("dpkg-query", ["-W", "-f=${source:Package}", package]);
            var siblings = Run.Checked("dpkg-query", ["-W", "-f=${Package} ${source:Package}\n"]).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' ')).Where(p => p.Length == 2 && p[1] == source).Select(p => p[0]);
            var owned = siblings.SelectMany(sibling => Run.Checked("dpkg", ["-L", sibling]).Split('\n'))
                .Where(p => p.StartsWith('/') && !p.Contains("/__pycache__") && (File.Exists(p) || new FileInfo(p).LinkTarget is not null) && !Directory.Exists(p))
                .Select(p => p.StartsWith(RelocatedMatplotlibData, StringComparison.Ordinal) ? $"{DebianSite}/matplotlib/mpl-data/{p[RelocatedMatplotlibData.Length..]}" : p)
                .Where(p => p.StartsWith(DebianSite + "/", StringComparison.Ordinal))
                .Select(p => p[(DebianSite.Length + 1)..]);
            var ours = SiteFiles(distribution);
            var expected = new SortedSet<string>(owned, StringComparer.Ordinal);
            if (distribution.Name == "setuptools") expected.Remove("distutils-precedence.pth");
            // Single-file egg-infos name no modules: the guess is the package of the distribution's
            // name, so a top-level module beside it (sympy's isympy.py) or a stray file (pycparser's
            // 'ast', not importable) is not found. dpkg's own lists would find them (not done yet).
            if (distribution.Format is InstalledFormat.EggInfoFile)
                expected.RemoveWhere(path => (distribution.Name, path) is ("sympy", "isympy.py") or ("pycparser", "ast"));
            if (!ours.SetEquals(expected))
                mismatches.Add($"{distribution} ({package}): extra [{string.Join(", ", ours.Except(expected))}] missing [{string.Join(", ", expected.Except(ours))}]");
        }
        mismatches.Should().BeEmpty();
    }
}
