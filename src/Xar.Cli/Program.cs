using Xar.Cli;

return XarCommandLine.Run(args);
