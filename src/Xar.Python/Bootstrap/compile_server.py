"""Compiles Python sources for xar with the target interpreter, as a stream server.

Reads requests on stdin: <u32 path length><path><u32 source length><source>; answers each on
stdout with <u32 status><u32 length><payload>: status 0 = an unchecked-hash pyc (PEP 552),
1 = the source does not compile (payload: the error). The first line written is the
interpreter's cache tag, so the caller knows the __pycache__ file names.
"""
import importlib._bootstrap_external as external
import importlib.util
import struct
import sys

stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
stdout.write((sys.implementation.cache_tag + "\n").encode())
stdout.flush()
while True:
    header = stdin.read(4)
    if len(header) < 4:
        break
    (length,) = struct.unpack("<I", header)
    path = stdin.read(length).decode("utf-8", "surrogateescape")
    (length,) = struct.unpack("<I", stdin.read(4))
    source = stdin.read(length)
    try:
        code = compile(source, path, "exec", dont_inherit=True)
        payload, status = external._code_to_hash_pyc(code, importlib.util.source_hash(source), False), 0
    except Exception as error:  # as pip and py_compile: a file that does not compile is skipped (RecursionError, MemoryError...)
        payload, status = ("%s: %s" % (type(error).__name__, error)).encode("utf-8", "replace"), 1
    stdout.write(struct.pack("<II", status, len(payload)))
    stdout.write(payload)
    stdout.flush()
