"""Starts the application of a xar Python archive (see docs/python-apps.md).

The launcher runs the target interpreter as
    python -I -S -c "import sys;sys.path[:0]=[<mount>/__xar__];import xar_bootstrap" ARGS...
with XAR_MOUNT, XAR_INVOKED_NAME (and XAR_ENTRY, when the user picks an entry) in the
environment. This module must stay compatible with every Python the builder supports.
"""
import os
import sys


def _main():
    root = os.environ["XAR_MOUNT"]
    import xar_app

    del sys.path[0]  # the __xar__ directory: nothing else there is for the application
    import site  # with -S this only defines addsitedir; it adds nothing of the host's

    # The archive's packages go after the standard library and before any host site-packages
    # (present only in archives built with --inherit-site), so the archive's versions win.
    before = list(sys.path)
    site.addsitedir(root + "/lib/python")
    added = [p for p in sys.path if p not in before]
    hosts = [i for i, p in enumerate(before) if p.endswith(("site-packages", "dist-packages"))]
    if added and hosts:
        rest = [p for p in sys.path if p not in added]
        sys.path[:] = rest[: hosts[0]] + added + rest[hosts[0] :]

    invoked = os.environ.get("XAR_INVOKED_NAME") or sys.argv[0]
    name = os.environ.get("XAR_ENTRY") or os.path.basename(invoked)
    if name not in xar_app.SCRIPTS:
        if os.environ.get("XAR_ENTRY"):
            sys.stderr.write("%s: XAR_ENTRY=%s is not one of: %s\n" % (invoked, name, ", ".join(sorted(xar_app.SCRIPTS))))
            sys.exit(2)
        name = xar_app.DEFAULT
    target, kind = xar_app.SCRIPTS[name]
    sys.argv = [invoked] + sys.argv[1:]

    if kind == "entry":
        module, _, attributes = target.partition(":")
        obj = __import__(module, fromlist=["__name__"])
        for attribute in attributes.split("."):
            obj = getattr(obj, attribute)
        sys.exit(obj())
    import runpy

    if kind == "module":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        path = root + "/" + target
        sys.argv[0] = invoked
        runpy.run_path(path, run_name="__main__")


_main()
