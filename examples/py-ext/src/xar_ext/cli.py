import sys

from xar_ext import _fib


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    print(f"fib({n}) = {_fib.fib(n)} computed by {_fib.__file__.rsplit('/', 1)[-1]}")
