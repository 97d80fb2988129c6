"""The mfb command: Click commands and shared options over the library."""

from .commands import cli, main

__all__ = ["cli", "main"]
