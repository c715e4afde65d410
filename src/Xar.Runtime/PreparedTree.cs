using Xar.Runtime.Native;

namespace Xar.Runtime;

/// <summary>
/// The archive's tree, ready to run from: a live mount or a complete extraction. For a mount,
/// an open descriptor on its root keeps squashfuse_ll's idle timeout from unmounting it until
/// the descriptor — or the copy the target inherits — is closed.
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

    /// <summary>A close-on-exec descriptor on the mount's root, or -1 for an extraction.</summary>
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
