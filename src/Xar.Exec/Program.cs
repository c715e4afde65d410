using Xar.Runtime;

// argv[0] is the name the archive was invoked by (a self archive passes it on as XAR_INVOKED_NAME).
string[] commandLine = Environment.GetCommandLineArgs();
return XarexecCommand.Run(commandLine.Length > 0 ? commandLine[0] : "xarexec", args);
