using System.Runtime.Versioning;

// The launcher is published for Linux only.
[assembly: SupportedOSPlatform("linux")]
