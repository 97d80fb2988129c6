"""The mfb command: one module per command, the shared options, the group in ``main``."""

from .main import cli, main

__all__ = ["cli", "main"]
