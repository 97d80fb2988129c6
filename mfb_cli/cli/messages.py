"""Warnings for people, on stderr."""

from __future__ import annotations

import click

from ..show.output import one_line


def warn(message: str) -> None:
    """A warning for people: stderr, never mixed into the data on stdout; one line."""
    click.echo(f"warning: {one_line(message)}", err=True)
