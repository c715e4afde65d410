"""Compiles Python sources for xar with the target interpreter (Python 3.7 or newer), as a server.

Runs after request_server.py (serve, hash_pyc). The greeting is the interpreter's cache tag, so
the caller knows the __pycache__ file names; the answer to a source is its unchecked-hash pyc
(PEP 552); a source that does not compile is refused with the error.
"""


def compile_source(path, source):
    return hash_pyc(compile(source, path, "exec", dont_inherit=True), source)


serve(sys.implementation.cache_tag, compile_source)
