// The oracle and probe tests run this machine's pyenv interpreters: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
