namespace Xar.Python.Building;

/// <summary>The Python files embedded in this assembly (Bootstrap/*).</summary>
internal static class PythonResources
{
    public static string Read(string name)
    {
        using var stream = typeof(PythonResources).Assembly.GetManifestResourceStream($"Xar.Python.Bootstrap.{name}")
                           ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
