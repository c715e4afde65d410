# Run by the target interpreter (3.7+) with -I -S -c: the unchecked-hash pycs (PEP 552) of the
# standard library sources named on stdin (absolute paths, each ended by a NUL byte). The
# interpreter's own __pycache__ pyc is reused when importlib itself would accept it for that
# source (a timestamp pyc of the same mtime and size, or a hash pyc of the same hash), so a build
# compiles only what the installation left stale or uncompiled. For each path, in order, stdout
# gets u32 LE status (0: a pyc follows; 2: a pyc of a module the interpreter imports at start
# follows; 1: an error text follows), u32 LE length, then the bytes.
import os
import site  # the bootstrap imports it (and os) before its finder is in place
import sys

import encodings.ascii, encodings.latin_1, encodings.utf_8  # noqa: E401 (what another locale's start may pick)

# The modules an interpreter started as the launcher starts it (-I -S) has imported from source
# files before the bootstrap serves the bundle: they need their __pycache__ pycs in the image.
STARTUP = frozenset(
    os.path.realpath(spec.origin)
    for spec in (getattr(module, "__spec__", None) for module in list(sys.modules.values()))
    if spec is not None and spec.has_location and spec.origin and spec.origin.endswith(".py")
)

import importlib.util
import marshal
import struct
from importlib import _bootstrap_external as external

MAGIC = importlib.util.MAGIC_NUMBER
UNCHECKED_HASH = struct.pack("<I", 0b01)


def cached_code(path, source, source_hash):
    """The marshalled code of the installation's pyc for `path`, or None when importlib would not use it."""
    try:
        with open(importlib.util.cache_from_source(path), "rb") as f:
            data = f.read()
        flags = external._classify_pyc(data, path, {})
    except (OSError, ImportError, EOFError, NotImplementedError):
        return None
    if flags & 0b01:
        return data[16:] if data[8:16] == source_hash else None
    stat = os.stat(path)
    try:
        external._validate_timestamp_pyc(data, int(stat.st_mtime), stat.st_size, path, {})
    except ImportError:
        return None
    return data[16:]


def main():
    out = sys.stdout.buffer
    for raw in sys.stdin.buffer.read().split(b"\0")[:-1]:
        path = os.fsdecode(raw)
        try:
            with open(path, "rb") as f:
                source = f.read()
            source_hash = importlib.util.source_hash(source)
            code = cached_code(path, source, source_hash)
            if code is None:
                code = marshal.dumps(compile(source, path, "exec", dont_inherit=True))
            payload, status = MAGIC + UNCHECKED_HASH + source_hash + code, 2 if os.path.realpath(path) in STARTUP else 0
        except Exception as e:  # a source that does not compile for this interpreter: shipped without bytecode
            payload, status = ("%s: %s" % (type(e).__name__, e)).encode("utf-8", "replace"), 1
        out.write(struct.pack("<II", status, len(payload)))
        out.write(payload)
    out.flush()


main()
