// The tests run mksquashfs, unsquashfs, /bin/sh and ELF executables: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
