using Xar.SquashFs.Reading;

namespace Xar.Fuse;

/// <summary>A file every start reads, its first <paramref name="Length"/> bytes (<see cref="FuseServerOptions.StartFiles"/>).</summary>
public readonly record struct StartFile(SquashFsEntry File, long Length);
