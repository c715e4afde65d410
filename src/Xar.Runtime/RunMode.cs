namespace Xar.Runtime;

/// <summary>Which rungs of the run ladder may be used (XAR_MODE).</summary>
public enum RunMode
{
    /// <summary>An existing mount, an existing extraction, a new mount, then a new extraction.</summary>
    Auto,

    /// <summary>FUSE only: an existing mount or a new one (XAR_MODE=mount).</summary>
    Mount,

    /// <summary>Extraction only: an existing extraction or a new one (XAR_MODE=extract).</summary>
    Extract,
}

/// <summary>How the tree of a running archive is provided.</summary>
public enum TreeKind
{
    /// <summary>A squashfuse_ll mount of the image.</summary>
    Mount,

    /// <summary>A directory extracted into the per-user cache.</summary>
    Extraction,
}
