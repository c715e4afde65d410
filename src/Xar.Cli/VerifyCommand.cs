using System.CommandLine;
using Xar.Archive;

namespace Xar.Cli;

/// <summary>
/// `xar verify FILE.xar`: the header is valid — its start lines and its native library keys
/// (XAR_LIBRARY_PATH, XAR_REQUIRES_GLIBC) included, which the launcher reads only when it runs the
/// archive, and XAR_START_READS, which the FUSE daemon only skips when malformed — and the image
/// matches its recorded SHA-256.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(TextWriter stdout)
    {
        var file = new Argument<string>("FILE") { Description = "XAR archive." };
        var json = InspectionCommands.JsonOption();
        var command = new Command("verify", "Check an archive's header and the SHA-256 of its image.") { file, json };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            if (parse.GetValue(json))
                return VerifyJson(path, stdout);
            using var archive = XarArchive.Open(path);
            var result = Verify(archive, path);
            stdout.WriteLine(result == XarVerification.Verified
                ? $"{path}: ok (image sha256 {archive.Header.ImageSha256})"
                : $"{path}: header ok; no image hash recorded (built by the original XAR tools), content not checked");
            return 0;
        });
        return command;
    }

    /// <exception cref="XarFormatException">A start line, a native library key or XAR_START_READS is malformed.</exception>
    /// <exception cref="IOException">The image does not match its hash, or cannot be read.</exception>
    private static XarVerification Verify(XarArchive archive, string path)
    {
        StartCommand.FromHeader(archive.Header, path);
        LibraryRequirements.Directories(archive.Header, path);
        LibraryRequirements.Glibc(archive.Header, path);
        StartRead.FromHeader(archive.Header, path);
        return archive.Verify();
    }

    /// <summary>The result as a document, a failure included (then also the exit status 1).</summary>
    private static int VerifyJson(string path, TextWriter stdout)
    {
        VerifyReport report;
        try
        {
            using var archive = XarArchive.Open(path);
            report = Verify(archive, path) == XarVerification.Verified
                ? new VerifyReport(JsonReports.VerifyFormat, path, "verified", archive.Header.ImageSha256, null)
                : new VerifyReport(JsonReports.VerifyFormat, path, "no-hash-recorded", null, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            report = new VerifyReport(JsonReports.VerifyFormat, path, "failed", null, e.Message);
        }
        JsonReports.Write(stdout, report);
        return report.Result == "failed" ? XarCommandLine.ExitFailure : 0;
    }
}
