using System.IO.Compression;
using System.Text.Json;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.Python.Tests.Oracle;
using Xar.SquashFs.Writing;

namespace Xar.Python.Tests.Distributions;

/// <summary>Environments written by the tests: every layout, every kind of metadata, every placement rule and every refusal.</summary>
public sealed class InstalledEnvironmentTests : IDisposable
{
    private readonly TempDirectory _scratch = new("pydist");
    private readonly TargetInterpreter _target = Targets.CPython(11);
    private readonly List<DistributionBundle> _bundles = [];

    public void Dispose()
    {
        foreach (var bundle in _bundles) bundle.Dispose();
        _scratch.Dispose();
    }

    private static string PyenvPrefix => Path.Combine(Pyenv.Root, "versions", "3.11.7");

    private DistributionBundle Resolve(string environmentPath, params string[] requirements) => Resolve(InstalledEnvironment.Open(environmentPath), requirements);

    private DistributionBundle Resolve(InstalledEnvironment environment, params string[] requirements)
    {
        var bundle = environment.Resolve(requirements.Select(Requirement.Parse), _target);
        _bundles.Add(bundle);
        return bundle;
    }

    // ---- layouts ----

    [Fact]
    public void A_venv_is_recognized_by_pyvenv_cfg_and_brings_its_interpreter()
    {
        string venv = _scratch.Combine("venv");
        PythonProcess.Run(Pyenv.Python("3.11"), ["-m", "venv", "--without-pip", venv]);
        var environment = InstalledEnvironment.Open(venv);
        environment.Kind.Should().Be(EnvironmentKind.VirtualEnvironment);
        environment.SiteDirectories.Should().Equal(Path.Combine(venv, "lib", "python3.11", "site-packages"));
        environment.Interpreter.Should().Be(Path.Combine(venv, "bin", "python"));
        environment.Distributions.Should().BeEmpty();
    }

    [Fact]
    public void A_venv_with_system_site_packages_also_searches_its_base_interpreters()
    {
        string venv = _scratch.Combine("venv");
        PythonProcess.Run(Pyenv.Python("3.11"), ["-m", "venv", "--without-pip", "--system-site-packages", venv]);
        var environment = InstalledEnvironment.Open(venv);
        environment.SiteDirectories.Should().Equal(
            Path.Combine(venv, "lib", "python3.11", "site-packages"),
            Path.Combine(PyenvPrefix, "lib", "python3.11", "site-packages"));
        var bundle = Resolve(environment, "itsdangerous");
        bundle.Root!.Should().BeOfType<InstalledDistribution>().Which.SiteDirectoryPath.Should().Be(environment.SiteDirectories[1]);
    }

    [Fact]
    public void An_interpreter_prefix_and_a_bare_site_packages_directory_are_recognized()
    {
        var prefix = InstalledEnvironment.Open(PyenvPrefix);
        prefix.Kind.Should().Be(EnvironmentKind.Prefix);
        prefix.Interpreter.Should().Be(Path.Combine(PyenvPrefix, "bin", "python"));

        var site = InstalledEnvironment.Open(prefix.SiteDirectories[0]);
        site.Kind.Should().Be(EnvironmentKind.SiteDirectory);
        site.Interpreter.Should().Be(Path.Combine(PyenvPrefix, "bin", "python"), "the site directory sits in that prefix");
        site.Find("Flask")!.VersionText.Should().Be(prefix.Find("flask")!.VersionText);
    }

    [Fact]
    public void Anything_else_is_refused_with_what_was_looked_for()
    {
        Directory.CreateDirectory(_scratch.Combine("empty"));
        var open = () => InstalledEnvironment.Open(_scratch.Combine("empty"));
        open.Should().Throw<InstalledDistributionException>().Which.Message.Should().Contain("pyvenv.cfg").And.Contain("conda-meta").And.Contain("site-packages");
        var missing = () => InstalledEnvironment.Open(_scratch.Combine("nowhere"));
        missing.Should().Throw<InstalledDistributionException>().Which.Message.Should().Contain("no such directory");
    }

    [Fact]
    public void Several_Python_versions_under_one_prefix_need_one_interpreter_to_choose()
    {
        string prefix = _scratch.Combine("multi");
        new FakeEnvironment(prefix, "3.10");
        var eleven = new FakeEnvironment(prefix, "3.11");
        var open = () => InstalledEnvironment.Open(prefix);
        open.Should().Throw<InstalledDistributionException>().Which.Message.Should().Contain("3.10, 3.11");

        _scratch.Write("multi/bin/python3.11", "");
        InstalledEnvironment.Open(prefix).SiteDirectories.Should().Equal(eleven.Site);
    }

    /// <summary>Debian's /usr: lib/python3/dist-packages shared by the python3.X whose lib/python3.X is there, pip's packages in local/lib/python3.X/dist-packages.</summary>
    [Fact]
    public void Debians_prefix_layout_is_recognized_with_its_versioned_interpreter()
    {
        string prefix = _scratch.Combine("usr");
        _scratch.Write("usr/bin/python3", "");
        _scratch.Write("usr/bin/python3.11", "");
        _scratch.Write("usr/bin/python3.11-config", "");
        _scratch.Write("usr/bin/python3.12", "");   // no lib/python3.12: not an installed interpreter of this prefix
        Directory.CreateDirectory(_scratch.Combine("usr/lib/python3.11"));
        string shared = _scratch.Combine("usr/lib/python3/dist-packages");
        _scratch.Write("usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n");
        _scratch.Write("usr/lib/python3/dist-packages/six.py", "");
        string local = _scratch.Combine("usr/local/lib/python3.11/dist-packages");
        Directory.CreateDirectory(local);

        var environment = InstalledEnvironment.Open(prefix);

        environment.Kind.Should().Be(EnvironmentKind.Prefix);
        environment.Interpreter.Should().Be(Path.Combine(prefix, "bin", "python3.11"));
        environment.SiteDirectories.Should().Equal(local, shared);
        environment.Find("six")!.VersionText.Should().Be("1.16.0");

        Directory.CreateDirectory(_scratch.Combine("usr/lib/python3.12"));
        var ambiguous = () => InstalledEnvironment.Open(prefix);
        ambiguous.Should().Throw<InstalledDistributionException>().Which.Message.Should()
            .Contain("python3.11, python3.12").And.Contain($"--from-env {shared} --python {Path.Combine(prefix, "bin", "python3.12")}");
    }

    [Fact]
    public void A_conda_environment_takes_file_lists_from_conda_meta()
    {
        var conda = new FakeEnvironment(_scratch.Combine("conda"));
        conda.Write("condapkg/__init__.py", "X = 1\n");
        conda.Write("condapkg/core.py", "Y = 2\n");
        conda.Write("unrelated.py", "Z = 3\n");
        conda.EggInfo("condapkg-2.0-py3.11.egg-info", "condapkg", "2.0", new Dictionary<string, string>
        {
            ["entry_points.txt"] = "[console_scripts]\ncondapkg = condapkg:main\n",
            ["top_level.txt"] = "condapkg\nunrelated\n",
        });
        _scratch.Write("conda/bin/condapkg", "#!/opt/conda/bin/python\nimport condapkg\n");
        _scratch.Write("conda/share/condapkg/data.json", "{}");
        _scratch.Write("conda/conda-meta/condapkg-2.0-py311_0.json", JsonSerializer.Serialize(new
        {
            name = "condapkg",
            files = new[]
            {
                "bin/condapkg",
                "lib/python3.11/site-packages/condapkg/__init__.py",
                "lib/python3.11/site-packages/condapkg/core.py",
                "lib/python3.11/site-packages/condapkg-2.0-py3.11.egg-info/PKG-INFO",
                "share/condapkg/data.json",
            },
        }));
        _scratch.Write("conda/conda-meta/history", "");

        var environment = InstalledEnvironment.Open(conda.Prefix);
        environment.Kind.Should().Be(EnvironmentKind.CondaEnvironment);
        var bundle = Resolve(environment, "condapkg");
        bundle.Entries.Select(e => e.Path).Should().BeEquivalentTo(
            "lib/python/condapkg/__init__.py",
            "lib/python/condapkg/core.py",
            "lib/python/condapkg-2.0-py3.11.egg-info/PKG-INFO",
            "lib/python/condapkg-2.0-py3.11.egg-info/entry_points.txt",
            "lib/python/condapkg-2.0-py3.11.egg-info/top_level.txt",
            "data/share/condapkg/data.json");
        bundle.Notes.Should().Contain(n => n.Contains("conda-meta/condapkg-2.0-py311_0.json"))
            .And.Contain(n => n.Contains("skipped console-script wrappers") && n.Contains("bin/condapkg"));
    }

    // ---- files ----

    [Fact]
    public void RECORD_rows_outside_site_packages_are_placed_by_the_layout_contract()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.DistInfo("tool", "1.0", new Dictionary<string, string>
        {
            ["tool/__init__.py"] = "def main(): pass\n",
            ["../../../bin/tool"] = "#!/env/bin/python3.11\n# wrapper\n",
            ["../../../bin/tool-legacy"] = "#!/env/bin/python3.11 -u\nprint('legacy')\n",
            ["../../../bin/tool-sh"] = "#!/bin/sh\necho hi\n",
            ["../../../bin/tool-long"] = "#!/bin/sh\n'''exec' \"/very long/path/bin/python3.11\" \"$0\" \"$@\"\n' '''\nprint('long')\n",
            ["../../../share/tool/tool.1"] = "manual\n",
            ["../../../include/site/python3.11/tool/tool.h"] = "#define TOOL\n",
        }, entryPoints: "[console_scripts]\ntool = tool:main\n", extraRows: ["../../../../../elsewhere/file.txt,,", "tool/gone.py,,"]);

        var bundle = Resolve(env.Prefix, "tool");
        bundle.Entries.Select(e => e.Path).Should().BeEquivalentTo(
            "lib/python/tool/__init__.py",
            "bin/tool-legacy",
            "bin/tool-sh",
            "bin/tool-long",
            "data/share/tool/tool.1",
            "include/tool/tool.h",
            "lib/python/tool-1.0.dist-info/METADATA",
            "lib/python/tool-1.0.dist-info/INSTALLER",
            "lib/python/tool-1.0.dist-info/entry_points.txt",
            "lib/python/tool-1.0.dist-info/RECORD");
        EntryContents.Text(bundle.Entries.At("bin/tool-legacy")).Should().Be("#!/usr/bin/env python3\nprint('legacy')\n");
        EntryContents.Text(bundle.Entries.At("bin/tool-long")).Should().Be("#!/usr/bin/env python3\nprint('long')\n");
        EntryContents.Text(bundle.Entries.At("bin/tool-sh")).Should().Be("#!/bin/sh\necho hi\n");
        bundle.Entries.At("bin/tool-sh").Permissions.Should().Be(0b111_101_101);
        var notes = bundle.Root!.Notes;
        notes.Should().Contain(n => n.StartsWith("skipped console-script wrappers", StringComparison.Ordinal) && n.EndsWith("bin/tool", StringComparison.Ordinal));
        notes.Should().Contain(n => n.StartsWith("skipped files outside the environment", StringComparison.Ordinal) && n.Contains("elsewhere/file.txt"));
        notes.Should().Contain(n => n.StartsWith("skipped files its file list names but that do not exist", StringComparison.Ordinal) && n.Contains("tool/gone.py"));
    }

    [Fact]
    public void The_RECORD_in_the_image_lists_what_is_in_the_image()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.DistInfo("tool", "1.0", new Dictionary<string, string>
        {
            ["tool/__init__.py"] = "X = 1\n",
            ["../../../bin/tool"] = "#!/env/bin/python\n",
            ["../../../bin/tool-legacy"] = "#!/env/bin/python\nprint(1)\n",
        }, entryPoints: "[console_scripts]\ntool = tool:main\n");
        var bundle = Resolve(env.Prefix, "tool");
        var record = RecordFile.Parse(EntryContents.Text(bundle.Entries.At("lib/python/tool-1.0.dist-info/RECORD")));
        record.Select(r => r.Path).Should().BeEquivalentTo(
            "tool/__init__.py", "../../bin/tool-legacy", "tool-1.0.dist-info/METADATA", "tool-1.0.dist-info/INSTALLER",
            "tool-1.0.dist-info/entry_points.txt", "tool-1.0.dist-info/RECORD");
        record.Single(r => r.Path == "../../bin/tool-legacy").Hash.Should().Be(RecordHash.Sha256(EntryContents.Read(bundle.Entries.At("bin/tool-legacy"))));
        record.Single(r => r.Path == "tool/__init__.py").Hash.Should().Be(RecordHash.Sha256("X = 1\n"u8));
    }

    [Fact]
    public void Symlinks_inside_the_site_stay_symlinks_and_absolute_ones_become_relative()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.Write("linky/real.py", "R = 1\n");
        env.Write("linky/libs/libfoo.so.1", "ELF", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        File.CreateSymbolicLink(Path.Combine(env.Site, "linky", "alias.py"), "real.py");
        File.CreateSymbolicLink(Path.Combine(env.Site, "linky", "dangling.py"), "missing.py");
        File.CreateSymbolicLink(Path.Combine(env.Site, "linky", "libs", "libfoo.so"), Path.Combine(env.Site, "linky", "libs", "libfoo.so.1"));
        env.DistInfo("linky", "1.0", new Dictionary<string, string>(), extraRows:
            ["linky/real.py,,", "linky/alias.py,,", "linky/dangling.py,,", "linky/libs/libfoo.so.1,,", "linky/libs/libfoo.so,,"]);

        var bundle = Resolve(env.Prefix, "linky");
        Link(bundle, "lib/python/linky/alias.py").Should().Be("real.py");
        Link(bundle, "lib/python/linky/dangling.py").Should().Be("missing.py");
        Link(bundle, "lib/python/linky/libs/libfoo.so").Should().Be("libfoo.so.1");
        bundle.Entries.At("lib/python/linky/libs/libfoo.so.1").Permissions.Should().Be(0b111_101_000);

        string root = _scratch.Combine("root");
        ImageRoundTrip.Extract(bundle.Entries, _scratch.Combine("image"), root);
        new FileInfo(Path.Combine(root, "lib/python/linky/dangling.py")).LinkTarget.Should().Be("missing.py");
        File.ReadAllText(Path.Combine(root, "lib/python/linky/alias.py")).Should().Be("R = 1\n");
    }

    /// <summary>
    /// Debian links files of its Python packages into /usr/share (matplotlib's jquery): the host that
    /// runs the archive may not have them, so the image holds what they point to. Links inside a
    /// linked directory that stay inside it stay links; targets not everyone may read stay links.
    /// </summary>
    [Fact]
    public void Symlinks_leaving_the_site_are_stored_with_their_content_unless_private()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        string outside = _scratch.Combine("share");
        Directory.CreateDirectory(Path.Combine(outside, "data", "fonts"));
        File.WriteAllText(Path.Combine(outside, "data", "fonts", "a.ttf"), "font");
        File.WriteAllText(Path.Combine(outside, "data", "rc"), "backend: agg\n");
        File.CreateSymbolicLink(Path.Combine(outside, "data", "rc-link"), "rc");
        File.WriteAllText(Path.Combine(outside, "jquery.js"), "$ = 1;\n");
        File.WriteAllText(Path.Combine(outside, "secret"), "key");
        File.SetUnixFileMode(Path.Combine(outside, "secret"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        env.Write("linky/__init__.py", "");
        Directory.CreateSymbolicLink(Path.Combine(env.Site, "linky", "data"), Path.Combine(outside, "data"));
        File.CreateSymbolicLink(Path.Combine(env.Site, "linky", "jquery.js"), Path.GetRelativePath(Path.Combine(env.Site, "linky"), Path.Combine(outside, "jquery.js")));
        File.CreateSymbolicLink(Path.Combine(env.Site, "linky", "hosts"), "/etc/hosts");
        File.CreateSymbolicLink(Path.Combine(env.Site, "linky", "secret"), Path.Combine(outside, "secret"));
        env.DistInfo("linky", "1.0", new Dictionary<string, string>(), extraRows:
            ["linky/__init__.py,,", "linky/data,,", "linky/jquery.js,,", "linky/hosts,,", "linky/secret,,"]);

        var bundle = Resolve(env.Prefix, "linky");

        string root = _scratch.Combine("root");
        ImageRoundTrip.Extract(bundle.Entries, _scratch.Combine("image"), root);
        string package = Path.Combine(root, "lib/python/linky");
        new DirectoryInfo(Path.Combine(package, "data")).LinkTarget.Should().BeNull("a directory now, with the content");
        File.ReadAllText(Path.Combine(package, "data/fonts/a.ttf")).Should().Be("font");
        File.ReadAllText(Path.Combine(package, "data/rc")).Should().Be("backend: agg\n");
        new FileInfo(Path.Combine(package, "data/rc-link")).LinkTarget.Should().Be("rc", "it stays inside the directory copied");
        new FileInfo(Path.Combine(package, "jquery.js")).LinkTarget.Should().BeNull();
        File.ReadAllText(Path.Combine(package, "jquery.js")).Should().Be("$ = 1;\n");
        File.ReadAllText(Path.Combine(package, "hosts")).Should().Be(File.ReadAllText("/etc/hosts"));
        Link(bundle, "lib/python/linky/secret").Should().Be(Path.Combine(outside, "secret"), "a private file is not handed to whoever runs the archive");
        bundle.Root!.Notes.Should().Contain(n => n.StartsWith("stored the content of symlinks leaving the site directory", StringComparison.Ordinal) && n.Contains("jquery.js"))
            .And.Contain(n => n.StartsWith("kept symlinks leaving the site directory", StringComparison.Ordinal) && n.Contains("secret"));
    }

    private static string? Link(DistributionBundle bundle, string path)
    {
        var entry = bundle.Entries.At(path);
        entry.Type.Should().Be(ImageEntryType.Symlink);
        return entry.LinkTarget;
    }

    [Fact]
    public void Bytecode_caches_are_left_out_and_nspkg_pth_files_kept()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.DistInfo("cached", "1.0", new Dictionary<string, string>
        {
            ["cached/__init__.py"] = "",
            ["cached/__pycache__/__init__.cpython-311.pyc"] = "stale",
            ["cached-1.0-py3.11-nspkg.pth"] = "import sys\n",
        });
        var bundle = Resolve(env.Prefix, "cached");
        bundle.Entries.Should().NotContain(e => e.Path.Contains("__pycache__"));
        bundle.Entries.Should().Contain(e => e.Path == "lib/python/cached-1.0-py3.11-nspkg.pth");
    }

    [Fact]
    public void An_egg_info_with_installed_files_and_requires_txt_sections()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.Write("legacy/__init__.py", "L = 1\n");
        env.Write("legacy/data.txt", "data\n");
        _scratch.Write("env/bin/legacy-tool", "#!/env/bin/python3.11\nimport legacy\n");
        env.EggInfo("legacy-2.5-py3.11.egg-info", "legacy", "2.5", new Dictionary<string, string>
        {
            ["installed-files.txt"] = "../legacy/__init__.py\n../legacy/data.txt\n../legacy/__pycache__/__init__.cpython-311.pyc\nPKG-INFO\nrequires.txt\n../../../../bin/legacy-tool\n",
            ["requires.txt"] = "base>=1\n\n[:python_version < \"3\"]\npy2only\n\n[:sys_platform == \"linux\"]\nlinuxdep\n\n[extra1]\nextradep\n\n[extra1:sys_platform == \"win32\"]\nwinextra\n",
        });
        foreach (string dependency in new[] { "base", "linuxdep", "extradep" })
            env.DistInfo(dependency, "1.0", new Dictionary<string, string> { [$"{dependency}.py"] = "" });

        var environment = InstalledEnvironment.Open(env.Prefix);
        var legacy = environment.Find("legacy")!;
        legacy.Format.Should().Be(InstalledFormat.EggInfo);
        legacy.Requirements.Select(r => r.ToString()).Should().Equal(
            "base>=1", "py2only; python_version < \"3\"", "linuxdep; sys_platform == \"linux\"", "extradep; extra == \"extra1\"",
            "winextra; sys_platform == \"win32\" and extra == \"extra1\"");

        Resolve(environment, "legacy").Distributions.Select(d => d.Name).Should().Equal("legacy", "base", "linuxdep");
        var withExtra = Resolve(environment, "legacy[extra1]");
        withExtra.Distributions.Select(d => d.Name).Should().Equal("legacy", "base", "linuxdep", "extradep");
        withExtra.Entries.Select(e => e.Path).Should().Contain([
            "lib/python/legacy/__init__.py", "lib/python/legacy/data.txt", "bin/legacy-tool",
            "lib/python/legacy-2.5-py3.11.egg-info/PKG-INFO", "lib/python/legacy-2.5-py3.11.egg-info/installed-files.txt"]);
        EntryContents.Text(withExtra.Entries.At("bin/legacy-tool")).Should().StartWith("#!/usr/bin/env python3\n");
    }

    [Fact]
    public void Namespace_portions_are_told_apart_by_SOURCES_txt_or_the_project_name()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.Write("space/__init__.py", "__import__('pkg_resources').declare_namespace(__name__)\n");
        env.Write("space/alpha/__init__.py", "A = 1\n");
        env.Write("space/beta/__init__.py", "B = 1\n");
        env.Write("space/beta/inner.py", "I = 1\n");
        env.Write("space/gamma.py", "G = 1\n");
        env.Write("space.alpha-1.0-py3.11-nspkg.pth", "import sys\n");
        env.EggInfo("space.alpha-1.0-py3.11.egg-info", "space.alpha", "1.0", new Dictionary<string, string>
        {
            ["top_level.txt"] = "space\n",
            ["namespace_packages.txt"] = "space\n",
        });
        env.EggInfo("space_extras-1.0-py3.11.egg-info", "space-extras", "1.0", new Dictionary<string, string>
        {
            ["top_level.txt"] = "space\n",
            ["namespace_packages.txt"] = "space\n",
            ["SOURCES.txt"] = "setup.py\nsrc/space/__init__.py\nsrc/space/beta/__init__.py\nsrc/space/beta/inner.py\nsrc/space/gamma.py\n",
        });

        var alpha = Resolve(env.Prefix, "space.alpha");
        alpha.Entries.Select(e => e.Path).Where(p => !p.Contains(".egg-info/")).Should().BeEquivalentTo(
            "lib/python/space/__init__.py", "lib/python/space/alpha/__init__.py", "lib/python/space.alpha-1.0-py3.11-nspkg.pth");
        var extras = Resolve(env.Prefix, "space-extras");
        extras.Entries.Select(e => e.Path).Where(p => !p.Contains(".egg-info/")).Should().BeEquivalentTo(
            "lib/python/space/__init__.py", "lib/python/space/beta/__init__.py", "lib/python/space/beta/inner.py", "lib/python/space/gamma.py");
        Resolve(env.Prefix, "space.alpha", "space-extras").Entries.Count(e => e.Path == "lib/python/space/__init__.py").Should().Be(1);
    }

    [Fact]
    public void A_distutils_egg_info_file_guesses_its_module_and_says_so()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.Write("single_mod.py", "S = 1\n");
        env.Write("single_mod-0.3.egg-info", "Metadata-Version: 1.0\nName: single-mod\nVersion: 0.3\n");
        var bundle = Resolve(env.Prefix, "single-mod");
        bundle.Entries.Select(e => e.Path).Should().BeEquivalentTo("lib/python/single_mod.py", "lib/python/single_mod-0.3.egg-info");
        bundle.Notes.Should().Contain(n => n.Contains("guessed the top-level module 'single_mod'"));
    }

    // ---- eggs ----

    [Fact]
    public void A_zipped_egg_built_by_setuptools_is_flattened_and_works_from_an_image()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        File.Copy(BuiltEgg.Path, Path.Combine(env.Site, Path.GetFileName(BuiltEgg.Path)));
        env.DistInfo("helper", "1.5", new Dictionary<string, string> { ["helper.py"] = "H = 'helped'\n" });

        var environment = InstalledEnvironment.Open(env.Prefix);
        var egg = environment.Find("egg-demo")!;
        egg.Format.Should().Be(InstalledFormat.ZippedEgg);
        egg.EntryPoints.ConsoleScripts.Select(e => e.Value).Should().Equal("eggdemo:main");
        var bundle = Resolve(environment, "egg-demo");
        bundle.Distributions.Select(d => d.ToString()).Should().Equal("egg-demo 1.0", "helper 1.5");
        string eggInfo = Path.GetFileNameWithoutExtension(BuiltEgg.Path) + ".egg-info";
        bundle.Entries.Select(e => e.Path).Should().Contain(["lib/python/eggdemo/__init__.py", $"lib/python/{eggInfo}/PKG-INFO", $"lib/python/{eggInfo}/installed-files.txt", "bin/eggdemo-script"]);
        bundle.Entries.Should().NotContain(e => e.Path.Contains("EGG-INFO"));

        string root = _scratch.Combine("root");
        ImageRoundTrip.Extract(bundle.Entries, _scratch.Combine("image"), root);
        // Python 3.11's importlib.metadata lists an .egg-info's files from SOURCES.txt (3.12 reads
        // installed-files.txt first), so the generated list is checked directly.
        string output = ImageRoundTrip.RunPython(Pyenv.Python("3.11"), root, """
            import importlib.metadata as md, eggdemo, eggdemo._speed, helper
            d = md.distribution('egg-demo')
            print(d.version, eggdemo._speed.speed(), eggdemo._speed.__file__.endswith('.so'), helper.H)
            print([ep.value for ep in d.entry_points])
            print(sorted(str(r) for r in d.requires))
            import os
            listed = d.read_text('installed-files.txt').split()
            print([f for f in listed if not os.path.exists(os.path.join(str(d._path), f))] or len(listed) > 5)
            """);
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(
            "1.0 7 True helped",
            "['eggdemo:main']",
            "['helper>=1', 'speedups; extra == \"fast\"', 'winonly; sys_platform == \"win32\"']",
            "True");
        File.ReadAllText(Path.Combine(root, "bin", "eggdemo-script")).Should().StartWith("#!/usr/bin/env python3\n");
    }

    [Fact]
    public void An_unzipped_egg_named_by_a_pth_file_outside_the_site_directory_is_found()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        string eggDirectory = _scratch.Combine("eggs", Path.GetFileName(BuiltEgg.Path));
        ZipFile.ExtractToDirectory(BuiltEgg.Path, eggDirectory);
        env.Write("easy-install.pth", $"import sys; sys.__plen = len(sys.path)\n{eggDirectory}\n");
        env.DistInfo("helper", "1.5", new Dictionary<string, string> { ["helper.py"] = "" });

        var environment = InstalledEnvironment.Open(env.Prefix);
        environment.Find("egg-demo")!.Format.Should().Be(InstalledFormat.EggDirectory);
        var bundle = Resolve(environment, "egg-demo");
        using var zipped = new ZipArchive(File.OpenRead(BuiltEgg.Path));
        var fromZip = zipped.Entries.Where(e => !e.FullName.EndsWith('/') && !e.FullName.StartsWith("EGG-INFO/", StringComparison.Ordinal))
            .Select(e => "lib/python/" + e.FullName);
        bundle.Entries.Select(e => e.Path).Should().Contain(fromZip);
    }

    [Fact]
    public void A_zipped_egg_with_a_member_escaping_the_image_is_refused()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        string egg = Path.Combine(env.Site, "evil-1.0-py3.11.egg");
        TestWheel.WriteZip(egg, [("EGG-INFO/PKG-INFO", "Name: evil\nVersion: 1.0\n"u8.ToArray(), null), ("../../../../etc/evil", "x"u8.ToArray(), null)]);
        var environment = InstalledEnvironment.Open(env.Prefix);
        var resolve = () => Resolve(environment, "evil");
        resolve.Should().Throw<InstalledDistributionException>().Which.Message.Should().Contain(egg).And.Contain("'../../../../etc/evil' is refused");
    }

    // ---- problems ----

    [Fact]
    public void Editable_installs_are_one_error_naming_each_project_to_build_instead()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        string project = _scratch.Combine("src", "devproject");
        Directory.CreateDirectory(project);
        env.DistInfo("devproject", "0.1", new Dictionary<string, string> { ["__editable__.devproject-0.1.pth"] = project + "\n" },
            directUrl: JsonSerializer.Serialize(new { url = new Uri(project).AbsoluteUri, dir_info = new { editable = true } }));
        string legacyProject = _scratch.Combine("src", "oldproject");
        _scratch.Write("src/oldproject/oldproject.egg-info/PKG-INFO", "Metadata-Version: 1.0\nName: oldproject\nVersion: 0.9\n");
        env.Write("oldproject.egg-link", legacyProject + "\n.\n");

        var environment = InstalledEnvironment.Open(env.Prefix);
        environment.Find("oldproject")!.Format.Should().Be(InstalledFormat.EggLink);
        environment.Find("oldproject")!.VersionText.Should().Be("0.9");
        var resolve = () => Resolve(environment, "devproject", "oldproject>=1");
        var problems = resolve.Should().Throw<DistributionResolutionException>().Which.Problems;
        problems.Select(p => p.Reason).Should().BeEquivalentTo(
            $"devproject 0.1 is an editable install of {project}; editable installs are not supported, build that project instead (xar build {project})",
            $"oldproject 0.9 is an editable install of {legacyProject}; editable installs are not supported, build that project instead (xar build {legacyProject})");
    }

    [Fact]
    public void A_site_for_another_Python_or_a_Requires_Python_that_excludes_the_target_is_a_problem()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"), "3.12");
        env.DistInfo("newonly", "1.0", new Dictionary<string, string> { ["newonly.py"] = "" }, requiresPython: ">=3.12");
        var resolve = () => Resolve(env.Prefix, "newonly");
        var problems = resolve.Should().Throw<DistributionResolutionException>().Which.Problems;
        problems.Should().ContainSingle().Which.Reason.Should().Be($"newonly 1.0 is installed for Python 3.12 ({env.Site}), the target is Python 3.11");

        var current = new FakeEnvironment(_scratch.Combine("current"));
        current.DistInfo("newonly", "1.0", new Dictionary<string, string> { ["newonly.py"] = "" }, requiresPython: ">=3.12");
        var again = () => Resolve(current.Prefix, "newonly");
        again.Should().Throw<DistributionResolutionException>().Which.Problems.Should().ContainSingle()
            .Which.Reason.Should().Be("newonly 1.0 requires Python '>=3.12', the target is 3.11.7");
    }

    [Fact]
    public void The_first_of_two_distributions_with_one_name_wins_and_the_other_is_noted()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.DistInfo("twice", "2.0", new Dictionary<string, string> { ["twice.py"] = "" });
        env.EggInfo("twice.egg-info", "twice", "1.0", new Dictionary<string, string> { ["top_level.txt"] = "twice\n" });
        var environment = InstalledEnvironment.Open(env.Prefix);
        environment.Find("twice")!.Format.Should().Be(InstalledFormat.DistInfo);
        environment.Notes.Should().ContainSingle().Which.Should().Contain("twice.egg-info: twice 1.0 is shadowed by");
    }

    [Fact]
    public void A_distribution_with_unreadable_metadata_is_skipped_with_a_note()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        Directory.CreateDirectory(Path.Combine(env.Site, "broken-1.0.dist-info"));
        var environment = InstalledEnvironment.Open(env.Prefix);
        environment.Distributions.Should().BeEmpty();
        environment.Notes.Should().ContainSingle().Which.Should().Contain("broken-1.0.dist-info: skipped").And.Contain("METADATA is missing");
    }
}
