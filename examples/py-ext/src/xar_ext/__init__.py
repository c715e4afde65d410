from xar_ext._fib import fib  # noqa: F401  (native code from the archive)
