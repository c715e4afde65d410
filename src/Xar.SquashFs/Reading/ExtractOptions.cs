namespace Xar.SquashFs.Reading;

/// <summary>How <see cref="SquashFsImage.ExtractTo"/> writes the tree.</summary>
public sealed record ExtractOptions
{
    /// <summary>
    /// Give entries the image's uid and gid. Honoured only when running as root (otherwise a
    /// warning is reported and everything belongs to the extracting user). Set-user-id and
    /// set-group-id bits are applied only when owners are restored, as unsquashfs does when not
    /// root: on a file owned by the extracting user they would grant that user's identity to
    /// whatever the image put there.
    /// </summary>
    public bool RestoreOwners { get; init; }

    /// <summary>Write extended attributes; ones the destination refuses (namespace, permissions) are reported as warnings.</summary>
    public bool RestoreXattrs { get; init; }

    /// <summary>
    /// Replace entries already present at a destination path (a file, a symlink, an empty
    /// directory where a non-directory goes). Without it an existing entry is an error. Existing
    /// real directories are merged into either way; a symlink is never followed.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// A destination this extraction creates keeps group and others out for good: it is private
    /// (0700) while written, like every directory until its content is, and then gets the image
    /// root's mode without its group and other bits. Inside it the image's own modes stand (a
    /// 0777 directory, a 0666 file), so a tree that another user must not change even through a
    /// descriptor opened early needs a top nobody else could ever enter (the launcher's
    /// extraction cache). An existing destination keeps its own mode either way.
    /// </summary>
    public bool PrivateRoot { get; init; }

    /// <summary>Threads creating and writing files; 0 means one per processor.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>
    /// Called (from any thread, possibly concurrently) for entries that are skipped or only
    /// partly restored: devices when not root, owners when not root, refused xattrs.
    /// </summary>
    public Action<SquashFsEntry, string>? Warning { get; init; }

    public CancellationToken CancellationToken { get; init; }

    /// <summary>Advanced as regular files are found and written (phase "extracting"); read by a display on its own timer.</summary>
    public OperationProgress? Progress { get; init; }
}

/// <summary>What an extraction created.</summary>
public sealed record ExtractionSummary
{
    public int Directories { get; init; }
    public int Files { get; init; }
    public int Symlinks { get; init; }
    public int HardLinks { get; init; }
    public int Devices { get; init; }
    public int Fifos { get; init; }
    public int Sockets { get; init; }
    /// <summary>Entries not created (devices when not root, and hard links to them).</summary>
    public int Skipped { get; init; }
    /// <summary>Bytes of regular-file content (file sizes, holes included).</summary>
    public long FileBytes { get; init; }
}
