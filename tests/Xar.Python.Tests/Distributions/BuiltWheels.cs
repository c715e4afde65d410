using Xar.Python.Tests.Oracle;

namespace Xar.Python.Tests.Distributions;

/// <summary>
/// Real wheels built by pip (PEP 517, setuptools) with Python 3.11, offline: setuptools and wheel
/// come from the wheels CPython's test suite ships (Python 3.13's test/wheeldata). The projects
/// cover console scripts, a legacy script, data files, a C extension, a PEP 420 namespace package
/// and two versions of one library. Built once and cached (<see cref="BuildCache"/>).
/// </summary>
internal static class BuiltWheels
{
    private const string BuildSystem = "[build-system]\nrequires = [\"setuptools>=61\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n";

    private static readonly Lazy<string> Built = new(() => BuildCache.For("wheels", Projects().Append(new("python", Pyenv.Python("3.11"))), Build));

    /// <summary>demo_app 1.2.0, demo_lib 1.0, demo_native 0.1 (cp311), nsdemo_one 1.0, nsdemo_two 1.0.</summary>
    public static string Directory => Path.Combine(Built.Value, "wheels");

    /// <summary>demo_lib 2.0 alone.</summary>
    public static string NewerDirectory => Path.Combine(Built.Value, "newer");

    /// <summary>setuptools 67.6.1 and wheel 0.43.0 (real wheels nobody here wrote).</summary>
    public static string ThirdPartyDirectory => Path.Combine(Pyenv.Root, "versions", "3.13.0", "lib", "python3.13", "test", "wheeldata");

    public static string File(string prefix) =>
        System.IO.Directory.EnumerateFiles(Directory, prefix + "*.whl").Concat(System.IO.Directory.EnumerateFiles(NewerDirectory, prefix + "*.whl")).Single();

    private static IEnumerable<KeyValuePair<string, string>> Projects()
    {
        yield return new("app/pyproject.toml", BuildSystem + """
            [project]
            name = "demo-app"
            version = "1.2.0"
            requires-python = ">=3.8"
            dependencies = ["demo-lib>=1.0", "colorama; sys_platform == 'win32'", "nsdemo-one"]
            [project.optional-dependencies]
            fancy = ["demo-native", "nsdemo-two"]
            [project.scripts]
            demo = "demo_app.cli:main"
            demo-exit = "demo_app.cli:exit_code"
            [tool.setuptools]
            script-files = ["scripts/demo-legacy"]
            [tool.setuptools.data-files]
            "share/demo" = ["data/readme.txt"]
            """);
        yield return new("app/src/demo_app/__init__.py", "");
        yield return new("app/src/demo_app/cli.py", "def main():\n    print('demo')\n\ndef exit_code():\n    return 3\n");
        yield return new("app/scripts/demo-legacy", "#!/usr/bin/env python\nprint('legacy')\n");
        yield return new("app/data/readme.txt", "readme\n");
        foreach (string version in new[] { "1.0", "2.0" })
        {
            yield return new($"lib{version}/pyproject.toml", BuildSystem + $"[project]\nname = \"demo-lib\"\nversion = \"{version}\"\n");
            yield return new($"lib{version}/demo_lib/__init__.py", $"VERSION = '{version}'\n");
        }
        yield return new("native/setup.py", "from setuptools import setup, Extension\nsetup(name='demo-native', version='0.1', ext_modules=[Extension('demo_native', ['demo_native.c'])])\n");
        yield return new("native/demo_native.c", """
            #include <Python.h>
            static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
            static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
            static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "demo_native", NULL, -1, methods};
            PyMODINIT_FUNC PyInit_demo_native(void) { return PyModule_Create(&module); }
            """);
        foreach (string part in new[] { "one", "two" })
        {
            yield return new($"ns{part}/pyproject.toml", BuildSystem + $"[project]\nname = \"nsdemo-{part}\"\nversion = \"1.0\"\n[tool.setuptools.packages.find]\ninclude = [\"nsdemo*\"]\nnamespaces = true\n");
            yield return new($"ns{part}/nsdemo/{part}/__init__.py", $"NAME = '{part}'\n");
        }
    }

    private static void Build(string root)
    {
        string projects = Path.Combine(root, "projects");
        foreach (var (relative, text) in Projects())
        {
            string path = Path.Combine(projects, relative);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            System.IO.File.WriteAllText(path, text);
        }
        string python = Pyenv.Python("3.11");
        string[] common = ["-m", "pip", "wheel", "--no-index", "--find-links", ThirdPartyDirectory, "--no-deps", "--no-cache-dir", "--quiet"];
        PythonProcess.Run(python, [.. common, "-w", Path.Combine(root, "wheels"), "./app", "./lib1.0", "./native", "./nsone", "./nstwo"], projects);
        PythonProcess.Run(python, [.. common, "-w", Path.Combine(root, "newer"), "./lib2.0"], projects);
    }
}
