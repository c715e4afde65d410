using Xar.Interop;

namespace Xar.Runtime;

/// <summary>
/// The archive's tree, ready to run from: a live mount or a complete extraction, with an open
/// descriptor on its root that the target inherits (XAR_MOUNT_FD). For a mount it keeps
/// squashfuse_ll's idle timeout from unmounting it; for an extraction it holds a shared flock
/// that keeps <c>xar cache prune</c> and <c>clear</c> from deleting it — until the descriptor and
/// every copy of it are closed.
/// </summary>
public sealed class PreparedTree : IDisposable
{
    internal PreparedTree(string directory, TreeKind kind, bool created, int pinDescriptor)
    {
        Directory = directory;
        Kind = kind;
        Created = created;
        PinDescriptor = pinDescriptor;
    }

    /// <summary>The root of the image's tree.</summary>
    public string Directory { get; }

    public TreeKind Kind { get; }

    /// <summary>Whether this launch mounted or extracted it (the cold path); false when it was reused.</summary>
    public bool Created { get; }

    /// <summary>A close-on-exec descriptor on the tree's root (share-locked for an extraction), or -1 once disposed.</summary>
    internal int PinDescriptor { get; private set; }

    public void Dispose()
    {
        if (PinDescriptor >= 0)
        {
            LibC.close(PinDescriptor);
            PinDescriptor = -1;
        }
    }
}
