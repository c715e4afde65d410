using System.Text;
using Xar.Archive.Elf;

namespace Xar.Archive.Tests;

/// <summary>StartCommand: its header lines read back as written, and the original runtime's script runs it as the launcher would.</summary>
public sealed class StartCommandTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static readonly StartCommand Sample = new()
    {
        Programs = [StartCommand.InImage("opt/no such tool"), "/nonexistent/tool", StartCommand.InImage("bin/tool")],
        Arguments = ["-c", "import sys; print('100%')", "{root}/data", "a\\b$`\"c\"", "tab\there"],
        Environment = ["TOOL_HOME={root}/lib:$HOME"],
        Needs = "a tool (v1)",
    };

    private XarHeader Header(StartCommand start)
    {
        var fields = new XarHeaderFields { Version = 1 };
        start.WriteTo(fields);
        byte[] header = XarHeaderText.Format(fields, 4096, "01234567", new string('0', 64));
        return XarHeader.Parse(header, "app.xar");
    }

    /// <summary>A tree as the original runtime mounts it, with <c>bin/tool</c> and an empty <c>__xar__</c>; its path.</summary>
    private string Tree(string name, string tool)
    {
        string mount = _directory.Combine(name);
        Directory.CreateDirectory(Path.Combine(mount, "bin"));
        Directory.CreateDirectory(Path.Combine(mount, "__xar__"));
        Executable(Path.Combine(mount, "bin", "tool"), tool);
        return mount;
    }

    private static void Executable(string path, string script)
    {
        File.WriteAllText(path, script);
        File.SetUnixFileMode(path, (UnixFileMode)0x1ED);
    }

    [Fact]
    public void Its_header_lines_read_back_as_written_and_hold_nothing_a_header_value_may_not()
    {
        XarHeader header = Header(Sample);

        StartCommand.FromHeader(header, "app.xar").Should().BeEquivalentTo(Sample, o => o.WithStrictOrdering());
        header[XarHeaderKeys.StartArguments].Should().Be("-c import%20sys;%20print('100%25') {root}/data a%5Cb%24%60%22c%22 tab%09here");
    }

    [Fact]
    public void Its_start_reads_read_back_as_written_and_a_path_the_header_cannot_hold_is_refused()
    {
        var fields = new XarHeaderFields { Version = 1 };
        Sample.WriteTo(fields);
        StartRead.WriteTo(fields, [new StartRead("__xar__/a b.pyc", 6481), new StartRead("__xar__/bytecode.bundle", 67740)]);
        XarHeader header = XarHeader.Parse(XarHeaderText.Format(fields, 4096, "01234567", new string('0', 64)), "app.xar");

        header[XarHeaderKeys.StartReads].Should().Be("__xar__/a b.pyc=6481:__xar__/bytecode.bundle=67740");
        StartRead.FromHeader(header, "app.xar").Should().Equal(new StartRead("__xar__/a b.pyc", 6481), new StartRead("__xar__/bytecode.bundle", 67740));
        StartRead.FromHeader(Header(Sample), "app.xar").Should().BeEmpty();
        foreach (string path in new[] { "a:b", "a\"b", "a$b", "a\nb", "", "/etc/passwd", "a/../../b", "a//b" })
            FluentActions.Invoking(() => new StartRead(path, 1)).Should().Throw<ArgumentException>(path);
        FluentActions.Invoking(() => new StartRead("a", 0)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void A_header_of_an_earlier_builder_means_its_interpreter_then_the_versioned_one_beside_it_then_PATH()
    {
        var fields = new XarHeaderFields { Version = 1 };
        fields.Extra[XarHeaderKeys.Python] = "cpython-3.11";
        fields.Extra[XarHeaderKeys.PythonAbi] = "cp311";
        fields.Extra[XarHeaderKeys.PythonInterpreter] = "/usr/bin/python3";
        XarHeader header = XarHeader.Parse(XarHeaderText.Format(fields, 4096, "01234567", new string('0', 64)), "old.xar");

        StartCommand.FromHeader(header, "old.xar").Should().BeEquivalentTo(new StartCommand
        {
            Programs = ["/usr/bin/python3.11", "/usr/bin/python3", "python3.11"],
            Arguments = ["-I", "-S", "-c", PythonLaunch.BootCommand],
            Needs = "cpython-3.11 (cp311)",
        }, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData("{root}/../etc/passwd", null)]
    [InlineData("{root}/bin/app", "a%zz")]
    [InlineData("{root}/bin/app", "a  b")]
    public void A_malformed_start_line_is_refused_naming_the_archive(string program, string? arguments)
    {
        var fields = new XarHeaderFields { Version = 1 };
        fields.Extra[XarHeaderKeys.StartProgram] = program;
        if (arguments is not null) fields.Extra[XarHeaderKeys.StartArguments] = arguments;
        XarHeader header = XarHeader.Parse(XarHeaderText.Format(fields, 4096, "01234567", new string('0', 64)), "bad.xar");

        var parse = () => StartCommand.FromHeader(header, "bad.xar");

        parse.Should().Throw<XarFormatException>().Which.Message.Should().StartWith("bad.xar: XAR_START_");
    }

    [Fact]
    public void The_original_runtimes_script_runs_the_first_program_there_with_the_same_argv_and_variables()
    {
        // A tree as the original runtime mounts it; it runs /bin/sh -e <mount>/__xar__/run.sh <archive> ARGS.
        string mount = Tree("mount with space", "#!/bin/sh\nprintf '[%s]\\n' \"$0\" \"$@\" \"$TOOL_HOME\" \"$XAR_INVOKED_NAME\"\n");
        File.WriteAllText(Path.Combine(mount, "__xar__", "run.sh"), Sample.ShellScript("__xar__/run.sh"));
        var missing = Sample with { Programs = ["/nonexistent/tool", "no-such-tool-on-path"] };
        File.WriteAllText(Path.Combine(mount, "__xar__", "missing.sh"), missing.ShellScript("__xar__/missing.sh"));

        RunResult result = Run.Program("/bin/sh", ["-e", Path.Combine(mount, "__xar__", "run.sh"), "/x/app.xar", "it's", "two words"],
            environment: new Dictionary<string, string?> { ["HOME"] = "/home/someone" });
        RunResult none = Run.Program("/bin/sh", ["-e", Path.Combine(mount, "__xar__", "missing.sh"), "/x/app.xar"]);

        result.Should().Be(new RunResult(0,
            $"[{mount}/bin/tool]\n[-c]\n[import sys; print('100%')]\n[{mount}/data]\n[a\\b$`\"c\"]\n[tab\there]\n[it's]\n[two words]\n[{mount}/lib:$HOME]\n[/x/app.xar]\n", ""));
        none.Should().Be(new RunResult(127, "", "/x/app.xar: needs a tool (v1); tried /nonexistent/tool, no-such-tool-on-path\n"));
    }

    [Theory]
    [InlineData("/bin/sh")] // dash here
    [InlineData("bash")]
    public void The_original_runtimes_script_refuses_a_host_glibc_older_than_required_as_the_launcher_does(string shell)
    {
        string mount = Tree("mount", "#!/bin/sh\necho ran\n");
        // getconf shadowed on PATH: it prints HOST_GLIBC, or fails as getconf does for an unknown variable (another libc).
        string fakes = _directory.Combine("fakes");
        Directory.CreateDirectory(fakes);
        Executable(Path.Combine(fakes, "getconf"), "#!/bin/sh\n[ \"$1\" = GNU_LIBC_VERSION ] && [ -n \"$HOST_GLIBC\" ] || exit 1\necho \"$HOST_GLIBC\"\n");
        var start = new StartCommand { Programs = [StartCommand.InImage("bin/tool")] };
        string[] hosts = ["glibc 2.17", "glibc 2.4", "glibc 2.34", "glibc 2.40", "glibc 3.0", "glibc 2.34.1", "glibc 2.3.4", "glibc 10.1",
            "glibc 2.36.9000", "glibc 2", "glibc 2.x", "glibc 2..3", "glibc 1.2.3.4.5", "glibc 99999999999.0", "musl libc (x86_64)", ""];

        foreach (string required in (string[])["2.34", "2.3.5", "2.34.1", "2.4"])
        {
            string script = Path.Combine(mount, "__xar__", "run.sh");
            File.WriteAllText(script, start.ShellScript("__xar__/run.sh", required));
            foreach (string host in hosts)
            {
                RunResult result = Run.Program(shell, ["-e", script, "/x/app.xar"], environment: new Dictionary<string, string?>
                {
                    ["PATH"] = fakes + ":/usr/bin:/bin",
                    ["HOST_GLIBC"] = host,
                });

                // The oracle is the launcher's rule: GlibcVersion's parse of both, compared; a host version that does not parse passes.
                string version = host.StartsWith("glibc ", StringComparison.Ordinal) ? host["glibc ".Length..] : host;
                bool older = GlibcVersion.Parse(version) is { } have && have < GlibcVersion.Parse(required)!;
                result.Should().Be(older
                    ? new RunResult(68, "", $"/x/app.xar: needs glibc {required} or newer (XAR_REQUIRES_GLIBC), this host has glibc {version}\n")
                    : new RunResult(0, "ran\n", ""), $"host \"{host}\", required {required}");
            }
        }
    }

    [Fact]
    public void Without_a_required_glibc_the_script_does_not_ask_and_a_malformed_one_is_refused()
    {
        var start = new StartCommand { Programs = ["tool"] };

        start.ShellScript("__xar__/run.sh").Should().NotContain("getconf");
        var malformed = () => start.ShellScript("__xar__/run.sh", "2.34; rm -rf /");
        malformed.Should().Throw<ArgumentException>().Which.Message.Should().StartWith("\"2.34; rm -rf /\" is not a glibc version such as 2.34");
    }
}
