using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.Python.Tests.Oracle;

namespace Xar.Python.Tests.Distributions;

/// <summary>
/// Wheels built by pip and wheels nobody here wrote (setuptools, wheel): laid out as pip lays them
/// out, and working from an image written by the real writer.
/// </summary>
public sealed partial class BuiltWheelTests : IDisposable
{
    private readonly TempDirectory _scratch = new("pydist");

    public void Dispose() => _scratch.Dispose();

    private static IEnumerable<string> AllWheels() =>
        new[] { "demo_app", "demo_lib-1.0", "demo_native", "nsdemo_one", "nsdemo_two" }.Select(BuiltWheels.File)
            .Concat(Directory.EnumerateFiles(BuiltWheels.ThirdPartyDirectory, "*.whl"));

    [GeneratedRegex(@"^include/(?:site/)?python[^/]*/(.+)$")]
    private static partial Regex PipHeaderPath();

    /// <summary>
    /// pip installs into a venv of its own (pip --python), never into the interpreter that runs
    /// it: with --prefix, pip uninstalls an older version of the same project from the running
    /// interpreter's site-packages.
    /// </summary>
    private string InstallIntoNewVenv(IEnumerable<string> wheels)
    {
        string venv = _scratch.Combine("venv");
        string python = Pyenv.Python("3.11");
        PythonProcess.Run(python, ["-m", "venv", "--without-pip", venv]);
        PythonProcess.Run(python, ["-m", "pip", "--python", Path.Combine(venv, "bin", "python"), "install", "--quiet", "--no-index", "--no-deps", "--no-compile", .. wheels]);
        return venv;
    }

    [Fact]
    public void Each_wheel_installs_the_files_pip_installs()
    {
        var wheels = AllWheels().ToList();
        string prefix = InstallIntoNewVenv(wheels);
        string site = Path.Combine(prefix, "lib", "python3.11", "site-packages");

        foreach (string path in wheels)
        {
            using var wheel = WheelFile.Open(path);
            var ours = wheel.GetImageEntries()
                .Where(e => !e.Path.EndsWith(".dist-info/RECORD", StringComparison.Ordinal) && !e.Path.EndsWith(".dist-info/INSTALLER", StringComparison.Ordinal))
                .ToDictionary(e => e.Path, EntryContents.Read);

            // pip's RECORD, placed by the layout contract: site-packages → lib/python, bin → bin
            // (minus the wrappers pip generates for console scripts), include → include, the rest of the prefix → data.
            var scriptNames = wheel.EntryPoints.ConsoleScripts.Concat(wheel.EntryPoints.GuiScripts).Select(e => e.Name).ToHashSet();
            var pips = new Dictionary<string, byte[]>();
            foreach (var row in RecordFile.Parse(File.ReadAllText(Path.Combine(site, wheel.DistInfoDirectory, "RECORD"))))
            {
                string absolute = Path.GetFullPath(Path.Combine(site, row.Path));
                string file = Path.GetFileName(absolute);
                string? image;
                if (absolute.StartsWith(site + "/", StringComparison.Ordinal))
                    image = file is "RECORD" or "INSTALLER" or "REQUESTED" or "direct_url.json" && absolute.Contains(".dist-info/") ? null : "lib/python/" + absolute[(site.Length + 1)..];
                else
                {
                    string relative = absolute[(prefix.Length + 1)..];
                    var header = PipHeaderPath().Match(relative);
                    image = relative.StartsWith("bin/", StringComparison.Ordinal) ? (scriptNames.Contains(file) ? null : relative)
                        : header.Success ? "include/" + header.Groups[1].Value
                        : "data/" + relative;
                }
                if (image is not null) pips[image] = File.ReadAllBytes(absolute);
            }

            ours.Keys.Should().BeEquivalentTo(pips.Keys, Path.GetFileName(path));
            foreach (var (image, content) in ours)
            {
                if (image.StartsWith("bin/", StringComparison.Ordinal))
                {
                    // pip wrote the build machine's interpreter where we write a portable one.
                    Encoding.UTF8.GetString(content).Should().StartWith("#!/usr/bin/env python3\n");
                    AfterFirstLine(content).Should().Equal(AfterFirstLine(pips[image]), image);
                }
                else
                {
                    content.Should().Equal(pips[image], image);
                }
            }
        }
    }

    [Fact]
    public void The_same_wheels_installed_by_pip_and_read_back_as_an_environment_give_the_same_entries()
    {
        var wheels = AllWheels().ToList();
        var environment = InstalledEnvironment.Open(InstallIntoNewVenv(wheels));
        environment.Kind.Should().Be(EnvironmentKind.VirtualEnvironment);

        foreach (string path in wheels)
        {
            using var wheel = WheelFile.Open(path);
            var installed = environment.Find(wheel.Name);
            installed.Should().NotBeNull(wheel.Name);
            installed!.Format.Should().Be(InstalledFormat.DistInfo);
            static bool Compared(string p) => !Regex.IsMatch(p, @"\.dist-info/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$");
            var fromWheel = wheel.GetImageEntries().Where(e => Compared(e.Path)).ToDictionary(e => e.Path, EntryContents.Read);
            var fromEnvironment = installed.GetImageEntries().Where(e => Compared(e.Path)).ToDictionary(e => e.Path, EntryContents.Read);
            fromEnvironment.Keys.Should().BeEquivalentTo(fromWheel.Keys, wheel.Name);
            foreach (var (image, content) in fromWheel)
                fromEnvironment[image].Should().Equal(content, image);
            if (wheel.EntryPoints.ConsoleScripts.Any())
                installed.Notes.Should().Contain(n => n.StartsWith("skipped console-script wrappers", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_resolved_set_of_wheels_works_from_an_image()
    {
        var house = new Wheelhouse();
        house.Add(BuiltWheels.Directory);
        house.Add(BuiltWheels.NewerDirectory);
        using var bundle = house.Resolve([Requirement.Parse("demo-app[fancy]")], Targets.Pyenv("3.11"));

        bundle.Distributions.Select(d => d.ToString()).Should().Equal("demo-app 1.2.0", "demo-lib 2.0", "nsdemo-one 1.0", "demo-native 0.1", "nsdemo-two 1.0");
        bundle.ConsoleScripts.Select(e => e.Name).Should().Equal("demo", "demo-exit");
        bundle.RequiresPython!.ToString().Should().Be(">=3.8");
        bundle.Entries.Should().Contain(e => e.Path == "bin/demo-legacy").And.Contain(e => e.Path == "data/share/demo/readme.txt");
        bundle.Entries.Should().NotContain(e => e.Path == "bin/demo");

        string root = _scratch.Combine("root");
        ImageRoundTrip.Extract(bundle.Entries, _scratch.Combine("app.img"), root);
        string output = ImageRoundTrip.RunPython(Pyenv.Python("3.11"), root, """
            import json, importlib.metadata as md, demo_app.cli, demo_native, demo_lib, nsdemo.one, nsdemo.two
            names = ['demo-app', 'demo-lib', 'nsdemo-one', 'demo-native', 'nsdemo-two']
            print(json.dumps({
                'answer': demo_native.answer(),
                'lib': demo_lib.VERSION,
                'namespace': [nsdemo.one.NAME, nsdemo.two.NAME],
                'versions': [md.version(n) for n in names],
                'scripts': sorted(ep.name for ep in md.distribution('demo-app').entry_points if ep.group == 'console_scripts'),
                'missing': [str(f) for n in names for f in md.files(n) if not f.locate().exists()],
                'installer': md.distribution('demo-app').read_text('INSTALLER'),
            }))
            """);
        using var result = JsonDocument.Parse(output);
        var json = result.RootElement;
        json.GetProperty("answer").GetInt32().Should().Be(42);
        json.GetProperty("lib").GetString().Should().Be("2.0");
        json.GetProperty("namespace").EnumerateArray().Select(e => e.GetString()).Should().Equal("one", "two");
        json.GetProperty("versions").EnumerateArray().Select(e => e.GetString()).Should().Equal("1.2.0", "2.0", "1.0", "0.1", "1.0");
        json.GetProperty("scripts").EnumerateArray().Select(e => e.GetString()).Should().Equal("demo", "demo-exit");
        json.GetProperty("missing").GetArrayLength().Should().Be(0, "every RECORD path of the image must exist in it: {0}", output);
        json.GetProperty("installer").GetString().Should().Be("xar\n");

        File.ReadAllText(Path.Combine(root, "bin", "demo-legacy")).Should().Be("#!/usr/bin/env python3\nprint('legacy')\n");
        (File.GetUnixFileMode(Path.Combine(root, "bin", "demo-legacy")) & UnixFileMode.UserExecute).Should().Be(UnixFileMode.UserExecute);
    }

    [Fact]
    public void A_native_wheel_for_another_interpreter_is_an_error_naming_it()
    {
        var house = new Wheelhouse();
        house.Add(BuiltWheels.Directory);
        var target = Targets.CPython(12);
        var resolve = () => house.Resolve([Requirement.Parse("demo-app[fancy]")], target);
        var problem = resolve.Should().Throw<DistributionResolutionException>().Which.Problems.Should().ContainSingle().Which;
        problem.Requirement.Should().Be("demo-native; extra == \"fancy\"");
        problem.RequiredBy.Should().Be("demo-app[fancy] 1.2.0");
        problem.Reason.Should().Contain("demo_native-0.1-cp311-cp311-linux_x86_64.whl (tags not supported by " + target.Description + ")");
    }

    private static byte[] AfterFirstLine(byte[] content) => content[(Array.IndexOf(content, (byte)'\n') + 1)..];
}
