using System.Text;
using Xar.Python.Building;

namespace Xar.Python.Tests.Building;

/// <summary>The import scanner against the real interpreters' ast: CPython 3.11 and 2.7.</summary>
public sealed class ImportScannerTests
{
    private const string Python311 = "/root/.pyenv/versions/3.11.7/bin/python3.11";
    private const string Python27 = "/root/.pyenv/versions/2.7.18/bin/python2.7";

    private const string Source = """
        import os.path, a.b as ab
        from . import sibling
        from ..parent.mod import x, y
        import sys
        try:
            import fast_json
        except ImportError:
            import slow_json
        try:
            from typing import TYPE_CHECKING
        except (ValueError, ModuleNotFoundError):
            pass
        if TYPE_CHECKING:
            import typed_only
        if sys.version_info < (3,):
            import py2_backport
        else:
            import py3_module
        class Config:
            import in_class_body
            def load(self):
                from lazy.loader import load
                return load
        plugin = __import__("plugin_literal")
        def by_name(name):
            import importlib
            return importlib.import_module("named.module"), importlib.import_module(name)
        """;

    [Fact]
    public void Imports_are_found_with_their_kind_and_version_branches_evaluated()
    {
        using var scanner = new ImportScanner(Python311, servers: 1);

        var imports = scanner.Scan("pkg/sub/m.py", Encoding.UTF8.GetBytes(Source), out string? error);

        error.Should().BeNull();
        imports.Should().BeEquivalentTo(new[]
        {
            new ModuleImport(0, false, false, "os.path", []),
            new ModuleImport(0, false, false, "a.b", []),
            new ModuleImport(1, false, false, "", ["sibling"]),
            new ModuleImport(2, false, false, "parent.mod", ["x", "y"]),
            new ModuleImport(0, false, false, "sys", []),
            new ModuleImport(0, true, false, "fast_json", []),
            new ModuleImport(0, false, false, "slow_json", []),
            new ModuleImport(0, true, false, "typing", ["TYPE_CHECKING"]),
            new ModuleImport(0, true, false, "typed_only", []),
            new ModuleImport(0, false, false, "py3_module", []),
            new ModuleImport(0, false, false, "in_class_body", []),
            new ModuleImport(0, false, true, "lazy.loader", ["load"]),
            new ModuleImport(0, false, false, "plugin_literal", []),
            new ModuleImport(0, false, true, "importlib", []),
            new ModuleImport(0, false, true, "named.module", []),
            new ModuleImport(0, false, true, ModuleImport.Dynamic, []),
        }, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData("pkg.sub.m", false, 1, "", "pkg.sub")]
    [InlineData("pkg.sub", true, 1, "", "pkg.sub")]
    [InlineData("pkg.sub", true, 1, "inner", "pkg.sub.inner")]
    [InlineData("pkg.sub.m", false, 2, "parent.mod", "pkg.parent.mod")]
    [InlineData("pkg.sub.m", false, 3, "", null)]
    [InlineData("pkg.m", false, 0, "absolute.name", "absolute.name")]
    public void Relative_imports_resolve_against_the_importers_package(string importer, bool isPackage, int level, string module, string? expected) =>
        new ModuleImport(level, false, false, module, []).AbsoluteModule(importer, isPackage).Should().Be(expected);

    [Fact]
    public void A_source_that_does_not_parse_is_reported_and_the_server_goes_on()
    {
        using var scanner = new ImportScanner(Python311, servers: 1);

        scanner.Scan("broken.py", "def (:\n"u8, out string? error).Should().BeNull();
        error.Should().Contain("SyntaxError");
        scanner.Scan("ok.py", "import json\n"u8, out _).Should().BeEquivalentTo([new ModuleImport(0, false, false, "json", [])]);
    }

    [Fact]
    public void Python_2_sources_parse_with_Python_2s_grammar_and_standard_library()
    {
        using var scanner = new ImportScanner(Python27, servers: 1);
        using var scanner3 = new ImportScanner(Python311, servers: 1);

        scanner.Scan("old.py", "import StringIO\nprint 'hello'\nif sys.version_info < (3,):\n    import urllib2\n"u8, out string? error)
            .Should().BeEquivalentTo([new ModuleImport(0, false, false, "StringIO", []), new ModuleImport(0, false, false, "urllib2", [])], o => o.WithStrictOrdering(), error);
        scanner.StandardLibrary.Should().Contain(["StringIO", "urllib2", "os", "sys"]).And.NotContain("tomllib");
        scanner3.StandardLibrary.Should().Contain(["tomllib", "os", "sys", "_ssl"]).And.NotContain(["StringIO", "numpy", "site-packages"]);
    }

    [Theory]
    [InlineData("3.8.18")]
    [InlineData("3.10.13")]
    [InlineData("3.11.7")]
    [InlineData("3.12.1")]
    [InlineData("3.13.0")]
    public void Scanning_with_compileInto_keeps_the_pyc_the_compiler_makes_of_the_source(string version)
    {
        string python = $"/root/.pyenv/versions/{version}/bin/python{version[..version.LastIndexOf('.')]}";
        var compiled = new CompiledSources(python);
        using var scanner = new ImportScanner(python, servers: 1, compileInto: compiled);
        using var compiler = new BytecodeCompiler(python, servers: 1);
        var source = Encoding.UTF8.GetBytes(Source + "\n\"\"\"A docstring.\"\"\"\nVALUE = f\"{1 + 2!r:>4}\" if plugin in {'a', 'b', 'c'} else None\n");

        var imports = scanner.Scan("pkg/sub/m.py", source, out string? error);

        imports.Should().HaveCount(16, error);
        var scanned = compiled.Take("pkg/sub/m.py", source);
        var pyc = compiler.Compile("pkg/sub/m.py", source, out _)!;
        scanned.Should().NotBeNull();
        compiled.Take("pkg/sub/m.py", source).Should().BeNull("a pyc is taken once");
        // The interpreter itself says whether the two are the same code: header and code objects.
        using var directory = new TempDirectory("pycs");
        File.WriteAllBytes(directory.Combine("scanned.pyc"), scanned!);
        File.WriteAllBytes(directory.Combine("compiled.pyc"), pyc);
        Run.Program(python, ["-I", "-c", "import marshal, sys; a, b = (open(p, 'rb').read() for p in sys.argv[1:]); "
            + "print(a[:16] == b[:16] and marshal.loads(a[16:]) == marshal.loads(b[16:]))", directory.Combine("scanned.pyc"), directory.Combine("compiled.pyc")])
            .Stdout.Should().Be("True\n");
        if (version is "3.11.7" or "3.12.1")
            scanned.Should().Equal(pyc, "byte for byte (older interpreters' marshal flags names the scanner's modules share as references)");
    }

    /// <summary>
    /// The scan with compileInto reads the imports from the bytecode of each source it compiles
    /// (import_scanner.py); the one without, from the ast. Over the standard library and real
    /// packages — version branches, try/except ImportError, TYPE_CHECKING blocks, imports in
    /// functions and class bodies — both must give the same imports in the same order.
    /// </summary>
    [Fact]
    public void The_bytecode_scan_finds_exactly_what_the_ast_scan_finds_in_real_packages()
    {
        const string lib = "/root/.pyenv/versions/3.11.7/lib/python3.11";
        var sources = Directory.GetFiles(lib, "*.py")
            .Concat(new[] { "boto3", "botocore", "dateutil", "jsonschema", "yaml", "cfnlint/rules" }
                .SelectMany(p => Directory.GetFiles($"{lib}/site-packages/{p}", "*.py", SearchOption.AllDirectories)))
            .Order(StringComparer.Ordinal).ToList();
        using var astScanner = new ImportScanner(Python311, servers: 1);
        using var bytecodeScanner = new ImportScanner(Python311, servers: 1, compileInto: new CompiledSources(Python311));

        var differences = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(sources, new ParallelOptions { MaxDegreeOfParallelism = 2 }, path =>
        {
            byte[] source = File.ReadAllBytes(path);
            string Describe(IReadOnlyList<ModuleImport>? imports, string? error) =>
                imports is null ? $"error {error}" : string.Join("; ", imports.Select(i => $"{i.Level} {i.IsOptional} {i.IsDeferred} {i.Module} [{string.Join(",", i.Names)}]"));
            string byAst = Describe(astScanner.Scan(path, source, out string? astError), astError);
            string byBytecode = Describe(bytecodeScanner.Scan(path, source, out string? bytecodeError), bytecodeError);
            if (byAst != byBytecode) differences.Add($"{path}:\n  ast:      {byAst}\n  bytecode: {byBytecode}");
        });

        sources.Should().HaveCountGreaterThan(700);
        differences.Should().BeEmpty();
    }

    [Fact]
    public void The_bytecode_scan_does_not_see_code_the_compiler_drops_and_keeps_the_compilers_pyc()
    {
        var compiled = new CompiledSources(Python311);
        using var scanner = new ImportScanner(Python311, servers: 1, compileInto: compiled);
        using var astScanner = new ImportScanner(Python311, servers: 1);
        using var compiler = new BytecodeCompiler(Python311, servers: 1);
        var source = "import json\nif __debug__:\n    import checked\nelse:\n    import optimized\ndef f():\n    return 1\n    import after_return\n"u8.ToArray();

        scanner.Scan("m.py", source, out string? error).Should().BeEquivalentTo(new[]
        {
            new ModuleImport(0, false, false, "json", []),
            new ModuleImport(0, false, false, "checked", []),
        }, o => o.WithStrictOrdering(), error);
        astScanner.Scan("m.py", source, out _).Should().HaveCount(4, "the ast keeps the else of if __debug__ and what follows a return");
        compiled.Take("m.py", source).Should().Equal(compiler.Compile("m.py", source, out _));
    }

    [Fact]
    public void A_source_that_parses_but_does_not_compile_keeps_its_imports_and_leaves_no_pyc()
    {
        var compiled = new CompiledSources(Python311);
        using var scanner = new ImportScanner(Python311, servers: 1, compileInto: compiled);
        var source = "import json\nreturn 1\n"u8.ToArray();

        scanner.Scan("outside.py", source, out string? error).Should().BeEquivalentTo([new ModuleImport(0, false, false, "json", [])], error);
        compiled.Take("outside.py", source).Should().BeNull("'return' outside a function is the compiler's error, reported when the build compiles it");
        var broken = "import json\ndef (:\n"u8.ToArray();
        scanner.Scan("broken.py", broken, out error).Should().BeNull();
        error.Should().Contain("SyntaxError").And.Contain("line 2");
        compiled.Take("broken.py", broken).Should().BeNull();
    }

    [Fact]
    public void A_Python_2_scan_with_compileInto_finds_the_imports_and_makes_no_pyc()
    {
        var compiled = new CompiledSources(Python27);
        using var scanner = new ImportScanner(Python27, servers: 1, compileInto: compiled);
        var source = "import StringIO\nprint 'hello'\n"u8.ToArray();

        scanner.Scan("old.py", source, out string? error).Should().BeEquivalentTo([new ModuleImport(0, false, false, "StringIO", [])], error);
        compiled.Take("old.py", source).Should().BeNull("Python 2 has no hash-based pycs");
    }
}
