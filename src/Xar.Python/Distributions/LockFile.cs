using Microsoft.Win32.SafeHandles;
using Xar.Python.Standards;

namespace Xar.Python.Distributions;

/// <summary>One file a lock names for a package: a wheel or an sdist, with where to find it and its hashes.</summary>
public sealed record LockedArtifact(string FileName, string? Path, string? Url, long? Size, IReadOnlyList<(string Algorithm, string Hex)> Hashes);

/// <summary>A <c>[[packages]]</c> entry of a lock file.</summary>
public sealed record LockedPackage(string Name, string? Version, Marker? Marker, SpecifierSet? RequiresPython,
    IReadOnlyList<LockedArtifact> Wheels, LockedArtifact? Sdist, string? OtherSource, string TableName)
{
    public string NormalizedName => DistributionName.Normalize(Name);

    public override string ToString() => Version is null ? Name : $"{Name} {Version}";
}

/// <summary>
/// A PEP 751 lock file (pylock.toml) and its installation for one target interpreter, offline:
/// the lock's <c>requires-python</c> and <c>environments</c> must admit the target; each package
/// whose marker holds is installed from its most specific compatible wheel (as pip ranks tags)
/// that can be found locally, its hashes checked before anything is built. There is no
/// resolution: the lock is the whole set. What xar cannot install offline is refused, one line
/// per package: vcs, directory and archive sources, and sdists (building one runs its build
/// backend, whose own requirements the lock does not pin: lock wheels, or build the wheel with
/// <c>pip wheel</c> and give it with --wheels).
/// </summary>
public sealed class LockFile
{
    private const string SupportedMajorVersion = "1";

    private LockFile(string path, SpecifierSet? requiresPython, IReadOnlyList<Marker> environments, IReadOnlyList<LockedPackage> packages)
    {
        Path = path;
        RequiresPython = requiresPython;
        Environments = environments;
        Packages = packages;
    }

    public string Path { get; }

    public SpecifierSet? RequiresPython { get; }

    /// <summary>The environments the lock was made for (markers); empty: any.</summary>
    public IReadOnlyList<Marker> Environments { get; }

    public IReadOnlyList<LockedPackage> Packages { get; }

    /// <summary>Reads and checks the lock file's structure; bad TOML or a field of the wrong type is an <see cref="InvalidTomlException"/>.</summary>
    public static LockFile Read(string path)
    {
        path = System.IO.Path.GetFullPath(path);
        var document = TomlFile.Read(path);
        string version = document.RequiredString("lock-version");
        if (version.Split('.')[0] != SupportedMajorVersion)
            throw document.Error("lock-version", $"'{version}' is not supported (xar reads lock-version 1.x)");
        var requiresPython = Parse(document, "requires-python", document.String("requires-python"), text => SpecifierSet.Parse(text));
        var environments = (document.Strings("environments") ?? []).Select(text => Parse(document, "environments", text, t => Marker.Parse(t))!).ToArray();
        var packages = document.Tables("packages").Select(ReadPackage).ToArray();
        return new LockFile(path, requiresPython, environments, packages);
    }

    /// <summary>
    /// The distributions the lock installs for <paramref name="target"/>, <paramref name="application"/>
    /// first: wheels are looked up by their <c>path</c> (relative to the lock file), else by file name
    /// in <paramref name="wheelDirectories"/>. Every problem is a <see cref="LockFileException"/>
    /// naming the lock file and listing each package that cannot be installed; a hash that does not
    /// match is an <see cref="ArtifactHashException"/>, before any wheel is read as a zip, and each
    /// wheel is then read from the very descriptor that was hashed.
    /// </summary>
    public DistributionBundle Install(string application, TargetInterpreter target, IReadOnlyList<string> wheelDirectories)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (RequiresPython is { } requiresPython && !requiresPython.Contains(target.Version, prereleases: true))
            throw new LockFileException($"{Path}: requires-python '{requiresPython}' excludes {target.Description}");
        if (Environments.Count > 0 && !Environments.Any(e => Evaluate(e, target, "environments")))
            throw new LockFileException($"{Path}: none of the lock's environments holds for {target.Description}: {string.Join("; ", Environments)}");

        var problems = new List<string>();
        var notes = new List<string>();
        var chosen = new List<(LockedPackage Package, string File)>();
        foreach (var package in Packages)
        {
            if (package.Marker is { } marker && !Evaluate(marker, target, package.TableName))
            {
                notes.Add($"{Path}: {package}: skipped, its marker '{marker}' does not hold for {target.Description}");
                continue;
            }
            if (Choose(package, target, wheelDirectories) is { } file) chosen.Add((package, file));
            else problems.Add(Unavailable(package, target, wheelDirectories));
        }
        foreach (var twice in chosen.GroupBy(c => c.Package.NormalizedName).Where(g => g.Count() > 1))
            problems.Add($"{twice.Key}: {twice.Count()} entries hold for {target.Description} ({string.Join(", ", twice.Select(c => c.Package.TableName))})");
        string applicationName = DistributionName.Normalize(application);
        if (problems.Count == 0 && !chosen.Any(c => c.Package.NormalizedName == applicationName))
            problems.Add(Packages.Any(p => p.NormalizedName == applicationName)
                ? $"{application}: its marker excludes {target.Description}"
                : $"{application}: not a package of the lock (it has {string.Join(", ", Packages.Select(p => p.Name).Distinct())})");
        if (problems.Count > 0)
            throw new LockFileException($"{Path}: cannot install for {target.Description}:\n" + string.Join("\n", problems.Select(p => "  " + p)));

        // Each wheel is opened once: the descriptor hashed is the one it is read from, so a file
        // put at its path after the check (by whoever can write the directory) is never used.
        var opened = new Dictionary<string, SafeFileHandle>();
        var wheels = new List<WheelFile>();
        try
        {
            foreach (var (package, file) in chosen)
            {
                var artifact = package.Wheels.First(w => w.FileName == System.IO.Path.GetFileName(file));
                var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read);
                opened.Add(file, handle);
                long length = RandomAccess.GetLength(handle);
                if (artifact.Size is { } size && length != size)
                    throw new ArtifactHashException(file, $"size mismatch: expected {size} bytes ({Path}, {package.TableName}), got {length}");
                ArtifactHashes.Verify(file, handle, artifact.Hashes);
            }

            foreach (var (package, file) in chosen.OrderBy(c => c.Package.NormalizedName == applicationName ? 0 : 1))
            {
                var wheel = WheelFile.Open(file, opened[file]);
                wheels.Add(wheel);
                if (package.Version is { } version && PythonVersion.TryParse(version, out var locked) && wheel.Version != locked)
                    throw new LockFileException($"{Path}: {package.TableName}: version {version}, but {file} is {wheel.Name} {wheel.VersionText}");
            }
            var extras = wheels.ToDictionary(w => (Distribution)w, _ => (IReadOnlyList<string>)[]);
            return DistributionBundle.Create(new Resolution([wheels[0]], wheels, extras, notes), []);
        }
        catch
        {
            foreach (var wheel in wheels) wheel.Dispose();
            foreach (var handle in opened.Values) handle.Dispose();
            throw;
        }
    }

    // The most specific compatible wheel that is here; null if there is none.
    private string? Choose(LockedPackage package, TargetInterpreter target, IReadOnlyList<string> wheelDirectories)
    {
        if (package.RequiresPython is { } requiresPython && !requiresPython.Contains(target.Version, prereleases: true)) return null;
        var found = new Dictionary<WheelFilename, string>();
        foreach (var wheel in package.Wheels)
            if (WheelFilename.TryParse(wheel.FileName, out var name) && target.Tags.IsCompatible(name) && Locate(wheel, wheelDirectories) is { } file)
                found[name] = file;
        return target.Tags.SelectBest(found.Keys) is { } best ? found[best] : null;
    }

    private string Unavailable(LockedPackage package, TargetInterpreter target, IReadOnlyList<string> wheelDirectories)
    {
        string what = $"{package} ({package.TableName})";
        if (package.OtherSource is { } source)
            return $"{what}: a {source} source, which xar cannot install offline (lock wheels instead)";
        if (package.RequiresPython is { } requiresPython && !requiresPython.Contains(target.Version, prereleases: true))
            return $"{what}: requires-python '{requiresPython}' excludes {target.Description}";
        var compatible = package.Wheels.Where(w => WheelFilename.TryParse(w.FileName, out var name) && target.Tags.IsCompatible(name)).ToArray();
        if (compatible.Length > 0)
            return $"{what}: none of its wheels for {target.Description} is here ({string.Join(", ", compatible.Select(w => w.FileName))}); "
                   + $"looked at their paths relative to {System.IO.Path.GetDirectoryName(Path)}"
                   + (wheelDirectories.Count > 0 ? $" and in {string.Join(", ", wheelDirectories)}" : "; give the directory with --wheels DIR");
        if (package.Sdist is { } sdist)
            return $"{what}: only its sdist {sdist.FileName} fits {target.Description}; xar installs wheels only (build it with pip wheel and lock the wheel)";
        return package.Wheels.Count == 0
            ? $"{what}: no wheels"
            : $"{what}: no wheel supports {target.Description} ({string.Join(", ", package.Wheels.Select(w => w.FileName))})";
    }

    private string? Locate(LockedArtifact artifact, IReadOnlyList<string> wheelDirectories)
    {
        if (artifact.Path is { } relative)
        {
            string file = System.IO.Path.GetFullPath(relative, System.IO.Path.GetDirectoryName(Path)!);
            if (File.Exists(file)) return file;
        }
        return wheelDirectories.Select(d => System.IO.Path.Combine(System.IO.Path.GetFullPath(d), artifact.FileName)).FirstOrDefault(File.Exists);
    }

    private bool Evaluate(Marker marker, TargetInterpreter target, string where)
    {
        try
        {
            return marker.Evaluate(target.Markers);
        }
        catch (MarkerEvaluationException e)
        {
            throw new LockFileException($"{Path}: {where}: the marker '{marker}' cannot be evaluated: {e.Message}");
        }
    }

    private static LockedPackage ReadPackage(TomlFields table)
    {
        string name = table.RequiredString("name");
        string tableName = $"{table.TableName} ({name})";
        string[] others = ["vcs", "directory", "archive"];
        string? other = others.FirstOrDefault(table.Contains);
        var wheels = table.Tables("wheels").Select(ReadArtifact).ToArray();
        var sdist = table.Table("sdist") is { } s ? ReadArtifact(s) : null;
        if (other is not null && (wheels.Length > 0 || sdist is not null || others.Count(table.Contains) > 1))
            throw table.Error(other, "a package has one kind of source: vcs, directory, archive, or sdist and wheels");
        return new LockedPackage(name, table.String("version"), Parse(table, "marker", table.String("marker"), text => Marker.Parse(text)),
            Parse(table, "requires-python", table.String("requires-python"), text => SpecifierSet.Parse(text)),
            wheels, sdist, other, tableName);
    }

    private static LockedArtifact ReadArtifact(TomlFields table)
    {
        string? path = table.String("path"), url = table.String("url");
        string fileName = table.String("name")
            ?? (url is not null && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Uri.UnescapeDataString(uri.Segments[^1]) : null)
            ?? (path is not null ? System.IO.Path.GetFileName(path) : null)
            ?? throw table.Error("name", "missing, and there is no url or path to take the file name from");
        if (fileName.Contains('/') || fileName is "" or "." or "..")
            throw table.Error("name", $"'{fileName}' is not a file name");
        var hashes = table.Table("hashes") ?? throw table.Error("hashes", "missing (every file of a lock has its hashes)");
        var pairs = hashes.Keys.Select(algorithm => (algorithm, hashes.RequiredString(algorithm))).ToArray();
        if (pairs.Length == 0) throw table.Error("hashes", "empty");
        return new LockedArtifact(fileName, path, url, table.Integer("size"), pairs);
    }

    private static T? Parse<T>(TomlFields table, string key, string? text, Func<string, T> parse) where T : class
    {
        if (text is null) return null;
        try
        {
            return parse(text);
        }
        catch (PackagingFormatException e)
        {
            throw table.Error(key, e.Message.Split('\n')[0]);
        }
    }
}
