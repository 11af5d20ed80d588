"""The gateway's version (semantic versioning), reported by `/version` and the startup log."""

__version__ = "0.5.0"
