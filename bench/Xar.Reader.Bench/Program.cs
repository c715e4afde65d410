using System.Diagnostics;
using Xar.SquashFs.Reading;

// Times SquashFsImage.ExtractTo against `unsquashfs -d`: bench IMAGE DESTINATION-PARENT [RUNS] [--keep]
// Each run extracts into a fresh directory under DESTINATION-PARENT (use a tmpfs such as /dev/shm
// to time extraction rather than the disk), alternating ours and unsquashfs. --keep leaves the
// last run's trees (ours-N, unsquashfs-N) for comparison.
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: bench IMAGE DESTINATION-PARENT [RUNS] [--keep]");
    return 2;
}
string image = args[0];
string parent = args[1];
int runs = args.Length > 2 ? int.Parse(args[2]) : 3;
bool keep = args.Contains("--keep");
Directory.CreateDirectory(parent);

for (int run = 1; run <= runs; run++)
{
    string ours = Path.Combine(parent, $"ours-{run}");
    string theirs = Path.Combine(parent, $"unsquashfs-{run}");
    Remove(ours);
    Remove(theirs);

    var watch = Stopwatch.StartNew();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    ExtractionSummary summary;
    using (var reader = SquashFsImage.Open(image))
        summary = reader.ExtractTo(ours);
    double oursSeconds = watch.Elapsed.TotalSeconds;
    double oursCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;

    watch.Restart();
    using (var process = Process.Start(new ProcessStartInfo("unsquashfs", ["-n", "-q", "-d", theirs, image]) { RedirectStandardOutput = true })!)
    {
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
    }
    double theirSeconds = watch.Elapsed.TotalSeconds;

    Console.WriteLine($"run {run}: ours {oursSeconds:F2} s wall ({oursCpu:F2} s CPU), unsquashfs {theirSeconds:F2} s wall, ratio {oursSeconds / theirSeconds:F2} "
        + $"({summary.Files} files, {summary.Directories} dirs, {summary.FileBytes / 1e6:F0} MB)");
    if (keep && run == runs) break;
    Remove(ours);
    Remove(theirs);
}
return 0;

static void Remove(string path)
{
    if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
}
