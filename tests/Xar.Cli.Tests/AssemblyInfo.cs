// Test classes build identical archives (same image, hence the same mount directory, which is
// keyed by the image hash) and detach their mounts when they finish: run them one at a time so
// one class's cleanup never pulls a mount from under another class's running application.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
