using System.Runtime.Versioning;

// FUSE, flock, statfs, execve and /proc: the run ladder exists on Linux only.
[assembly: SupportedOSPlatform("linux")]
