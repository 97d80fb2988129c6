"""The mfb command: Click commands and shared options over the library."""

from .commands import cli, main
from .sampling import priors, sampling

cli.add_command(sampling)
cli.add_command(priors)

__all__ = ["cli", "main"]
