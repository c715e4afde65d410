"""The request loop the build's servers share (compile_server.py, import_scanner.py).

PythonServers runs this file with a server's own file after it, as one program: the server
defines what it answers and calls serve(). Runs on the target interpreter, Python 2.7 or 3.

The protocol: the server first writes one line, its greeting; then each request
<u32 path length><path><u32 source length><source> (little-endian) is answered
<u32 status><u32 length><payload>: status 0 = the answer, 1 = the source was refused (payload: the
error, one line), and the server goes on with the next request.
"""
import sys

# Python 2 has no -I: started with -E -s -S, it still puts the working directory first on sys.path.
if sys.path and sys.path[0] == "":
    del sys.path[0]

import struct


def serve(greeting, answer):
    """Writes the greeting, then answers each request with answer(path, source) until stdin ends.

    An exception of answer() refuses that source only: as pip and py_compile skip a file that does
    not compile (SyntaxError, RecursionError, MemoryError, code for another Python version...).
    """
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    stdout = getattr(sys.stdout, "buffer", sys.stdout)
    stdout.write((greeting + "\n").encode("utf-8"))
    stdout.flush()
    while True:
        header = stdin.read(4)
        if len(header) < 4:
            break
        (length,) = struct.unpack("<I", header)
        path = stdin.read(length).decode("utf-8", "replace")
        (length,) = struct.unpack("<I", stdin.read(4))
        source = stdin.read(length)
        try:
            payload, status = answer(path, source), 0
        except Exception as error:
            payload, status = ("%s: %s" % (type(error).__name__, error)).encode("utf-8", "replace"), 1
        stdout.write(struct.pack("<II", status, len(payload)))
        stdout.write(payload)
        stdout.flush()


def hash_pyc(code, source):
    """An unchecked-hash pyc (PEP 552) of code compiled from source (Python 3.7 or newer)."""
    import importlib._bootstrap_external as external
    import importlib.util
    return external._code_to_hash_pyc(code, importlib.util.source_hash(source), False)
