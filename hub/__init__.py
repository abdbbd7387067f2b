"""touchhub: every client touch from every channel in one activity store."""

__version__ = "0.1.0"
