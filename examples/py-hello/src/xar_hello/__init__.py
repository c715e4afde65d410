"""The example application of xar's README."""
__version__ = "1.0.0"
