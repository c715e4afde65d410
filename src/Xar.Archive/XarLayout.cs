namespace Xar.Archive;

/// <summary>Where the header sits in the file (docs/xar-layout.md).</summary>
public enum XarLayout
{
    /// <summary>
    /// The original layout: the header at offset 0, starting with a shebang such as
    /// <c>#!/usr/bin/env xarexec_fuse</c>, so a XAR runtime must be installed on the target.
    /// </summary>
    Xarexec,

    /// <summary>
    /// The native launcher (an ELF executable) first, then the header at the next multiple of
    /// 4096, then the image: <c>./app.xar</c> runs on a host where nothing was installed.
    /// </summary>
    Self,
}
