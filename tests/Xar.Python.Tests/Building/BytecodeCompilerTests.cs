using System.Text;
using Xar.Python.Building;

namespace Xar.Python.Tests.Building;

public sealed class BytecodeCompilerTests
{
    private const string Python311 = "/root/.pyenv/versions/3.11.7/bin/python3.11";

    [Fact]
    public void PycsAreUncheckedHashBasedAndImportWithoutRecompiling()
    {
        using var compiler = new BytecodeCompiler(Python311, servers: 2);
        var source = Encoding.UTF8.GetBytes("VALUE = 6 * 7\n");

        var pyc = compiler.Compile("pkg/answer.py", source, out var error);

        error.Should().BeNull();
        compiler.CacheTag.Should().Be("cpython-311");
        compiler.PycPath("pkg/answer.py").Should().Be("pkg/__pycache__/answer.cpython-311.pyc");
        BitConverter.ToUInt32(pyc!, 4).Should().Be(1u, "flags: hash-based, source not checked");

        // The real interpreter imports it from a read-only directory without touching the source's pyc.
        using var directory = new TempDirectory("pyc");
        string dir = directory.Path;
        Directory.CreateDirectory(Path.Combine(dir, "pkg/__pycache__"));
        File.WriteAllBytes(Path.Combine(dir, "pkg/answer.py"), source);
        File.WriteAllBytes(Path.Combine(dir, "pkg/__pycache__/answer.cpython-311.pyc"), pyc!);
        File.WriteAllText(Path.Combine(dir, "pkg/__init__.py"), "");
        File.WriteAllBytes(Path.Combine(dir, "pkg/__pycache__/__init__.cpython-311.pyc"), compiler.Compile("pkg/__init__.py", [], out _)!);
        var (exitCode, output, trace) = Run.Program(Python311, ["-I", "-v", "-c",
            $"import sys; sys.path.insert(0, '{dir}'); import pkg.answer; print(pkg.answer.VALUE, pkg.answer.__file__)"]);
        exitCode.Should().Be(0, trace);
        output.Should().Be($"42 {dir}/pkg/answer.py\n");
        // -v says where each code object came from: the pyc, never the source.
        trace.Should().Contain($"code object from '{dir}/pkg/__pycache__/answer.cpython-311.pyc'")
            .And.NotContain($"code object from {dir}/pkg/answer.py");
    }

    [Fact]
    public void ASourceThatDoesNotCompileIsReportedNotFatal()
    {
        using var compiler = new BytecodeCompiler(Python311, servers: 1);

        var pyc = compiler.Compile("py2only.py", Encoding.UTF8.GetBytes("print 'hello'\n"), out var error);

        pyc.Should().BeNull();
        error.Should().Contain("SyntaxError");
        compiler.Compile("ok.py", "x = 1\n"u8, out _).Should().NotBeNull("the server survives a bad source");
    }

    [Fact]
    public void AMissingInterpreterIsOneClearError()
    {
        var act = () => new BytecodeCompiler("/nonexistent/python3.99");
        act.Should().Throw<PythonBuildException>().WithMessage("/nonexistent/python3.99: cannot run the target interpreter*");
    }

    [Fact]
    public void A_pyc_the_import_scan_made_is_taken_only_for_the_same_source_and_interpreter()
    {
        var source = "VALUE = 1\n"u8.ToArray();
        byte[] scanned = [1, 2, 3];
        var precompiled = new CompiledSources(Python311);
        precompiled.Add("m.py", source, scanned);
        var otherInterpreter = new CompiledSources("/usr/bin/python3.11");
        otherInterpreter.Add("m.py", source, scanned);
        using var compiler = new BytecodeCompiler(Python311, servers: 1, precompiled);
        using var another = new BytecodeCompiler(Python311, servers: 1, otherInterpreter);

        compiler.Compile("m.py", "VALUE = 2\n"u8, out _).Should().NotEqual(scanned, "another source is compiled");
        compiler.Compile("m.py", source, out _).Should().Equal(scanned);
        another.Compile("m.py", source, out _).Should().NotEqual(scanned, "pycs of another interpreter are not taken");
    }

    [Fact]
    public void A_set_constant_compiles_to_the_same_bytes_in_every_server_process()
    {
        // Before 3.11, marshal writes a frozenset in the order of the process's string hashes.
        const string Python310 = "/root/.pyenv/versions/3.10.13/bin/python3.10";
        var source = "def kind(word):\n    return word in {'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'}\n"u8.ToArray();
        var pycs = Enumerable.Range(0, 3).Select(build =>
        {
            using var compiler = new BytecodeCompiler(Python310, servers: 1);
            return Convert.ToHexString(compiler.Compile("words.py", source, out _)!);
        }).ToList();

        pycs.Distinct().Should().ContainSingle("the same source gives the same pyc in every build");
    }
}
