import os
import sys

from xar_hello import __version__


def main():
    """`hello`: greets, and shows it runs from the archive with the user's arguments."""
    name = os.path.basename(sys.argv[0])
    print(f"hello from {name} {__version__} (Python {sys.version_info.major}.{sys.version_info.minor})")
    print(f"running from {os.environ.get('XAR_MOUNT', 'outside an archive')}")
    for i, argument in enumerate(sys.argv[1:], 1):
        print(f"arg {i}: [{argument}]")


def exit_with():
    """`hello-exit N`: the function's return value is the exit status."""
    return int(sys.argv[1]) if len(sys.argv) > 1 else 0
