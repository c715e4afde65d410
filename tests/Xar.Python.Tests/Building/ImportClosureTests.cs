using Xar.Python.Building;
using Xar.Python.Distributions;
using Xar.Python.Standards;
using Xar.Python.Tests.Distributions;

namespace Xar.Python.Tests.Building;

/// <summary>The import closure on an environment written by the test, scanned by CPython 3.11.</summary>
public sealed class ImportClosureTests : IDisposable
{
    private const string Python311 = "/root/.pyenv/versions/3.11.7/bin/python3.11";

    private readonly TempDirectory _scratch = new("imports");
    private readonly TargetInterpreter _target = Targets.CPython(11);
    private readonly List<string> _notices = [];
    private readonly List<string> _warnings = [];

    public void Dispose() => _scratch.Dispose();

    /// <summary>
    /// app (requested) imports helper (helper-dist, undeclared), which imports deep (deep-dist) at
    /// module level and lazy_dep (lazy-dist) in a function; app imports optional_mod only inside
    /// try/except ImportError, lazy_app_dep in its own function, and broken (needs-missing, whose
    /// requirement is not installed); unused-dist is imported by nobody, nor is helper-dist's helper_extra.
    /// </summary>
    private InstalledEnvironment Environment()
    {
        var env = new FakeEnvironment(_scratch.Combine("env"));
        env.DistInfo("app", "1.0", new Dictionary<string, string>
        {
            ["app/__init__.py"] = "from . import sub\nimport helper\ntry:\n    import optional_mod\nexcept ImportError:\n    optional_mod = None\nimport broken\n\ndef main():\n    import lazy_app_dep\n",
            ["app/sub.py"] = "from .inner import thing\n",
            ["app/inner.py"] = "thing = 1\n",
        });
        env.DistInfo("helper-dist", "1.0", new Dictionary<string, string>
        {
            ["helper.py"] = "import deep.core\n\ndef later():\n    import lazy_dep\n",
            ["helper_extra.py"] = "import json\n",
        });
        env.DistInfo("deep-dist", "2.0", new Dictionary<string, string> { ["deep/__init__.py"] = "", ["deep/core.py"] = "import json\n" });
        env.DistInfo("lazy-dist", "1.0", new Dictionary<string, string> { ["lazy_dep.py"] = "" });
        env.DistInfo("lazy-app-dist", "1.0", new Dictionary<string, string> { ["lazy_app_dep.py"] = "" });
        env.DistInfo("optional-dist", "1.0", new Dictionary<string, string> { ["optional_mod.py"] = "" });
        env.DistInfo("unused-dist", "1.0", new Dictionary<string, string> { ["unused.py"] = "" });
        env.DistInfo("needs-missing", "1.0", new Dictionary<string, string> { ["broken.py"] = "" }, requires: ["not-installed"]);
        return InstalledEnvironment.Open(env.Prefix);
    }

    private DistributionBundle Complete(InstalledEnvironment environment, bool follow) => Complete(environment, follow, out _);

    private DistributionBundle Complete(InstalledEnvironment environment, bool follow, out IReadOnlySet<string> reached)
    {
        Requirement[] requested = [Requirement.Parse("app")];
        using var scanner = new ImportScanner(Python311, servers: 2);
        return ImportClosure.Complete(environment.Resolve(requested, _target), requested, r => environment.Resolve(r, _target), environment, scanner,
            new ImportClosureOptions { FollowImports = follow, Notice = _notices.Add, Warning = _warnings.Add }, out reached);
    }

    [Fact]
    public void The_sources_reached_are_the_requested_modules_and_what_they_import_transitively()
    {
        using var bundle = Complete(Environment(), follow: true, out var reached);

        // Imports in functions and under try count: the application may run them.
        reached.Should().BeEquivalentTo(["lib/python/app/__init__.py", "lib/python/app/sub.py", "lib/python/app/inner.py", "lib/python/helper.py",
            "lib/python/deep/__init__.py", "lib/python/deep/core.py", "lib/python/lazy_app_dep.py"]);
        bundle.Entries.Select(e => e.Path).Should().Contain("lib/python/helper_extra.py", "a module nobody imports is in the image, only not reached");
    }

    [Fact]
    public void Undeclared_imports_are_included_to_a_fixed_point_with_one_line_each()
    {
        using var bundle = Complete(Environment(), follow: true);

        bundle.Distributions.Select(d => d.Name).Should().BeEquivalentTo("app", "helper-dist", "deep-dist", "lazy-app-dist");
        bundle.Entries.Select(e => e.Path).Should().Contain(["lib/python/helper.py", "lib/python/deep/core.py", "lib/python/lazy_app_dep.py"]);
        _notices.Should().Contain([
            "including helper-dist 1.0 (imported by app/__init__.py, not declared by app 1.0)",
            "including lazy-app-dist 1.0 (imported by app/__init__.py, not declared by app 1.0)",
            "including deep-dist 2.0 (imported by helper.py, not declared by helper-dist 1.0)",
        ]);
        _notices.Should().ContainSingle(n => n.StartsWith("not including 2 installed distributions only imported inside functions or try/except ImportError", StringComparison.Ordinal))
            .Which.Should().Contain("lazy-dist 1.0 (helper.py)").And.Contain("optional-dist 1.0 (app/__init__.py)");
        _warnings.Should().ContainSingle().Which.Should().StartWith("not including needs-missing 1.0 (imported by app/__init__.py, not declared by app 1.0): not-installed (required by needs-missing 1.0)");
    }

    [Fact]
    public void Without_following_undeclared_imports_are_warnings_and_nothing_is_added()
    {
        using var bundle = Complete(Environment(), follow: false);

        bundle.Distributions.Select(d => d.Name).Should().Equal("app");
        _warnings.Should().Contain("helper-dist 1.0 is imported by app/__init__.py, not declared by app 1.0; not included (--no-follow-imports)");
        _notices.Should().NotContain(n => n.StartsWith("including", StringComparison.Ordinal));
    }
}
