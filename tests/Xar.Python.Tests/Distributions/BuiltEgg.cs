using Xar.Python.Tests.Oracle;

namespace Xar.Python.Tests.Distributions;

/// <summary>
/// A real zipped egg built by setuptools' <c>setup.py bdist_egg</c> with Python 3.11 (offline, in
/// a scratch project; nothing is installed): a package, a C extension (bdist_egg adds its
/// pkg_resources stub loader), a console script, a legacy script, install_requires with a marker
/// and an extra. Built once and cached (<see cref="BuildCache"/>).
/// </summary>
internal static class BuiltEgg
{
    private static readonly Lazy<string> Built = new(() =>
        Directory.EnumerateFiles(
            System.IO.Path.Combine(BuildCache.For("egg", Project().Append(new("python", Pyenv.Python("3.11"))), Build), "dist"), "*.egg").Single());

    /// <summary>The .egg file (egg_demo-1.0-py3.11-linux-x86_64.egg, as setuptools names it).</summary>
    public static string Path => Built.Value;

    private static IEnumerable<KeyValuePair<string, string>> Project()
    {
        yield return new("setup.py", """
            from setuptools import setup, Extension
            setup(
                name="egg-demo", version="1.0", packages=["eggdemo"],
                install_requires=["helper>=1", "winonly; sys_platform == 'win32'"],
                extras_require={"fast": ["speedups"]},
                entry_points={"console_scripts": ["eggdemo = eggdemo:main"]},
                scripts=["eggdemo-script"],
                ext_modules=[Extension("eggdemo._speed", ["speed.c"])],
                zip_safe=True,
            )
            """);
        yield return new("eggdemo/__init__.py", "def main():\n    print('egg')\n");
        yield return new("eggdemo-script", "#!/usr/bin/env python\nprint('script')\n");
        yield return new("speed.c", """
            #include <Python.h>
            static PyObject *speed(PyObject *self, PyObject *args) { return PyLong_FromLong(7); }
            static PyMethodDef methods[] = {{"speed", speed, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
            static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};
            PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
            """);
    }

    private static void Build(string root)
    {
        foreach (var (relative, text) in Project())
        {
            string path = System.IO.Path.Combine(root, relative);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        PythonProcess.Run(Pyenv.Python("3.11"), ["setup.py", "-q", "bdist_egg"], root);
    }
}
