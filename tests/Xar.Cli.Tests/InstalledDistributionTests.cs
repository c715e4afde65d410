using Xar.Cli.Tests.Support;

namespace Xar.Cli.Tests;

/// <summary>
/// Archives of real distributions nobody here wrote, taken from this machine's pyenv CPython 3.11
/// prefix with `xar build --from-env`: Pygments, Flask (with Werkzeug, Jinja2, Click…), and a
/// script of ours whose dependencies are native code (PyYAML with libyaml, orjson, cryptography
/// with cffi) installed in a venv that sees that prefix's site-packages.
/// </summary>
public sealed class InstalledDistributionArchives : IDisposable
{
    /// <summary>The script: YAML in (libyaml's C loader), canonical JSON out (orjson), a digest and an Ed25519 signature (cryptography's Rust and OpenSSL).</summary>
    private const string NativeScript = """
        import sys

        import orjson
        import yaml
        from cryptography.hazmat.backends.openssl.backend import backend
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


        def main():
            document = yaml.load(sys.stdin, Loader=yaml.CSafeLoader)
            canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
            print(canonical.decode())
            digest = hashes.Hash(hashes.SHA256())
            digest.update(canonical)
            print("sha256", digest.finalize().hex())
            print("ed25519", Ed25519PrivateKey.from_private_bytes(bytes(range(32))).sign(canonical).hex())
            print("libyaml", yaml.__with_libyaml__, "openssl", backend.openssl_version_text())
            return 3 if document.get("fail") else None
        """;

    internal Workspace Workspace { get; } = new();

    public InstalledDistributionArchives()
    {
        string prefix = Interpreters.Pyenv311;
        (Pygments, Flask, NativeVenv, Native, NativeFromWheel) = Workspace.DisposeIfThrows(() =>
        {
            string pygments = XarTool.Build(Workspace.Combine("pygments.xar"), "--from-env", prefix, "pygments");
            string flask = XarTool.Build(Workspace.Combine("flask.xar"), "--from-env", prefix, "flask", "--entry", "flask");
            string wheel = new TestWheel
            {
                Name = "yamlsign",
                RequiresDist = ["PyYAML>=6", "orjson", "cryptography>=40"],
                EntryPoints = "[console_scripts]\nyamlsign = yamlsign:main\n",
                Files = new Dictionary<string, string> { ["yamlsign.py"] = NativeScript },
            }.WriteTo(Workspace.Combine("wheels"));
            string venv = VirtualEnvironment.CreateOnTopOf(Path.Combine(prefix, "bin", "python3.11"), Workspace.Combine("venv"), wheel);
            string native = XarTool.Build(Workspace.Combine("yamlsign.xar"), "--from-env", venv, "yamlsign");
            // The application as a wheel, its dependencies from the installed prefix.
            string fromWheel = XarTool.Build(Workspace.Combine("yamlsign-wheel.xar"), "--wheels", wheel, "--from-env", prefix, "yamlsign");
            return (pygments, flask, venv, native, fromWheel);
        });
    }

    public string Pygments { get; }

    public string Flask { get; }

    /// <summary>The venv the native-code script is installed in (its bin/yamlsign is the native baseline).</summary>
    public string NativeVenv { get; }

    public string Native { get; }

    /// <summary>The same script built from its wheel with `--wheels`, its dependencies taken `--from-env` the prefix.</summary>
    public string NativeFromWheel { get; }

    public void Dispose() => Workspace.Dispose();
}

public sealed class InstalledDistributionTests(InstalledDistributionArchives archives) : IClassFixture<InstalledDistributionArchives>
{
    private const string PythonSource = """
        import functools

        @functools.lru_cache(maxsize=None)
        def fib(n: int) -> int:
            "Fibonacci, memoised."
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        print(f"{fib(90) = }", 0x2A, r'\d+')
        """;

    private const string FlaskApp = """
        from flask import Flask, jsonify, render_template_string, request

        app = Flask(__name__)


        @app.route("/hello/<name>")
        def hello(name):
            return render_template_string("<p>Hello {{ name|title }}: {{ items|join(', ') }}</p>", name=name, items=request.args.getlist("i"))


        @app.post("/sum")
        def total():
            return jsonify(total=sum(request.get_json()["numbers"]))


        @app.cli.command("probe")
        def probe():
            client = app.test_client()
            for response in (client.get("/hello/world?i=a&i=<b>"), client.post("/sum", json={"numbers": [1, 2, 3.5]}), client.get("/missing")):
                print(response.status, response.headers["Content-Type"])
                print(response.get_data(as_text=True).strip())
        """;

    private Workspace Workspace => archives.Workspace;

    private static string Pyenv(string script) => Path.Combine(Interpreters.Pyenv311, "bin", script);

    /// <summary>Runs the archive and the natively installed program alike; both must succeed with the same output.</summary>
    private void ShouldMatchNative(string archive, string native, string[] arguments, string? stdin = null, int exitCode = 0)
    {
        var fromArchive = Workspace.Launch(archive, arguments, stdin: stdin);
        var natively = Workspace.Native(native, arguments, stdin);

        natively.ExitCode.Should().Be(exitCode, $"the native run is the baseline: {natively}");
        natively.Stdout.Should().NotBeEmpty();
        fromArchive.Should().Be(natively, $"{Path.GetFileName(archive)} {string.Join(' ', arguments)} should behave as {native} does");
    }

    [Theory]
    [InlineData("-V")]
    [InlineData("-l python -f html -O full,style=monokai,linenos=1")]
    [InlineData("-l python -f terminal256 -O style=friendly")]
    [InlineData("-g -f latex")]
    [InlineData("-L styles")]
    [InlineData("-N hello.rs")]
    public void Pygmentize_behaves_as_installed(string arguments) =>
        ShouldMatchNative(archives.Pygments, Pyenv("pygmentize"), arguments.Split(' '), PythonSource);

    [Fact]
    public void Pygmentize_runs_through_a_link_named_like_it()
    {
        string link = Workspace.Link(archives.Pygments, "pygmentize");

        var result = Workspace.Launch(link, ["-V"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().StartWith("Pygments version ");
    }

    [Fact]
    public void Flask_reports_the_same_versions() =>
        ShouldMatchNative(archives.Flask, Pyenv("flask"), ["--version"]);

    [Fact]
    public void Flask_lists_the_routes_of_an_app_file_given_on_the_command_line()
    {
        string app = Workspace.Write("site/webapp.py", FlaskApp);
        ShouldMatchNative(archives.Flask, Pyenv("flask"), ["--app", app, "routes", "--sort", "rule"]);
    }

    [Fact]
    public void Flask_serves_requests_through_its_test_client()
    {
        string app = Workspace.Write("site/webapp.py", FlaskApp);
        var result = Workspace.Launch(archives.Flask, ["--app", app, "probe"]);

        result.Stdout.Should().Contain("<p>Hello World: a, &lt;b&gt;</p>").And.Contain("{\"total\":6.5}").And.Contain("404 NOT FOUND");
        ShouldMatchNative(archives.Flask, Pyenv("flask"), ["--app", app, "probe"]);
    }

    [Fact]
    public void A_script_using_PyYAML_orjson_and_cryptography_behaves_as_installed()
    {
        const string document = "name: xar\nlayers: [squashfs, fuse]\nsize: 12.5\nnested: {b: 2, a: 1}\n";
        string native = Path.Combine(archives.NativeVenv, "bin", "yamlsign");

        ShouldMatchNative(archives.Native, native, [], document);
        ShouldMatchNative(archives.Native, native, [], "fail: true\n", exitCode: 3);
        Workspace.Launch(archives.Native, [], stdin: document).Stdout.Should().Contain("libyaml True");
    }

    [Fact]
    public void The_script_built_from_its_wheel_with_dependencies_from_the_environment_behaves_as_installed()
    {
        const string document = "list: [3, 1, 2]\nname: wheel and environment\n";
        ShouldMatchNative(archives.NativeFromWheel, Path.Combine(archives.NativeVenv, "bin", "yamlsign"), [], document);
        var listing = XarTool.Run("ls", archives.NativeFromWheel, "lib/python");
        listing.Stdout.Should().Contain("yamlsign-1.0.dist-info").And.Contain("cryptography").And.Contain("yaml");
        // `xar cat` writes raw bytes to the process's standard output: run the CLI as a program.
        var installer = Run.Program(typeof(XarCommandLine).Assembly.Location.Replace(".dll", ""), ["cat", archives.NativeFromWheel, "lib/python/yamlsign-1.0.dist-info/INSTALLER"]);
        installer.Stdout.Should().Be("xar\n", "the application's wheel was installed by xar");
        string pyyamlDistInfo = listing.Stdout.Split('\n', StringSplitOptions.TrimEntries)
            .Single(name => name.StartsWith("pyyaml-", StringComparison.OrdinalIgnoreCase) && name.EndsWith(".dist-info", StringComparison.Ordinal));
        var pyyaml = Run.Program(typeof(XarCommandLine).Assembly.Location.Replace(".dll", ""), ["cat", archives.NativeFromWheel, $"lib/python/{pyyamlDistInfo}/INSTALLER"]);
        pyyaml.Stdout.Should().Be("pip\n", "PyYAML came from the environment, as pip installed it there");
    }

    [Fact]
    public void The_native_script_also_runs_from_an_extraction()
    {
        var extracted = Workspace.Launch(archives.Native, [], Workspace.Extraction, "a: 1\n");
        var natively = Workspace.Native(Path.Combine(archives.NativeVenv, "bin", "yamlsign"), [], "a: 1\n");

        extracted.ExitCode.Should().Be(0, extracted.ToString());
        extracted.Should().Be(natively);
        Directory.Exists(Workspace.ExtractionDirectory(archives.Native)).Should().BeTrue();
    }
}
