"""The scientific example application of xar (examples/sci-app/README.md)."""
__version__ = "1.0.0"
