"""The mfb command: Click commands and shared options over the library."""

from . import report as _report  # noqa: F401  (registers 'mfb report' on the group)
from .commands import cli, main

__all__ = ["cli", "main"]
