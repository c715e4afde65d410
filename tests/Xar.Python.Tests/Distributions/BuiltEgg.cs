using Xar.Python.Tests.Oracle;

namespace Xar.Python.Tests.Distributions;

/// <summary>
/// A real zipped egg, built once per test run by setuptools' <c>setup.py bdist_egg</c> with
/// Python 3.11 (offline, in a scratch project; nothing is installed): a package, a C extension
/// (bdist_egg adds its pkg_resources stub loader), a console script, a legacy script,
/// install_requires with a marker and an extra.
/// </summary>
internal static class BuiltEgg
{
    private static readonly Lazy<string> Built = new(Build);

    /// <summary>egg_demo-1.0-py3.11-linux-x86_64.egg (or whatever name setuptools gives it).</summary>
    public static string Path => Built.Value;

    private static string Build()
    {
        string root = Directory.CreateTempSubdirectory("xar-pydist-egg-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, true); } catch (IOException) { }
        };
        File.WriteAllText(System.IO.Path.Combine(root, "setup.py"), """
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
        Directory.CreateDirectory(System.IO.Path.Combine(root, "eggdemo"));
        File.WriteAllText(System.IO.Path.Combine(root, "eggdemo", "__init__.py"), "def main():\n    print('egg')\n");
        File.WriteAllText(System.IO.Path.Combine(root, "eggdemo-script"), "#!/usr/bin/env python\nprint('script')\n");
        File.WriteAllText(System.IO.Path.Combine(root, "speed.c"), """
            #include <Python.h>
            static PyObject *speed(PyObject *self, PyObject *args) { return PyLong_FromLong(7); }
            static PyMethodDef methods[] = {{"speed", speed, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
            static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};
            PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
            """);
        Run.Program(Pyenv.Python("3.11"), ["setup.py", "-q", "bdist_egg"], root);
        return Directory.EnumerateFiles(System.IO.Path.Combine(root, "dist"), "*.egg").Single();
    }
}
