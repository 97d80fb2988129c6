"""What the CLI tells people on stderr: warnings, and library errors in the CLI's terms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..errors import NO_VALUE, MfbError, Param
from ..show.output import one_line

if TYPE_CHECKING:
    from pathlib import Path


def warn(message: str) -> None:
    """A warning for people: stderr, never mixed into the data on stdout; one line."""
    click.echo(f"warning: {one_line(message)}", err=True)


def flag_of(name: str) -> str:
    """The command line's flag for a library parameter: the option whose destination is
    ``name`` (every option's destination is the library's name), else ``--name``.
    """
    context = click.get_current_context(silent=True)
    # The running command first (a lazy group has loaded it), then every loaded command.
    chain = []
    while context is not None:
        chain.append(context.command)
        context = context.parent
    commands = [*chain, *(getattr(chain[-1], "commands", {}).values() if chain else ())]
    for command in commands:
        for param in command.params:
            if param.name == name and isinstance(param, click.Option):
                return max(param.opts, key=len)
    return "--" + name.replace("_", "-")


def cli_text(error: MfbError) -> str:
    """A library error's message with its parameters spelled as flags: the one place the
    library's names (``num_classes=19``) become the command line's (``--num-classes 19``).
    """
    return error.render(spell)


def spell(param: Param) -> str:
    """A parameter as a user of the command line gives it: ``--num-classes 19``, ``--map``."""
    flag = flag_of(param.name)
    if param.metavar:
        return f"{flag} {param.metavar}"
    return flag if param.value is NO_VALUE else f"{flag} {param.value}"


def wrote(output: Path | None, summary: str, quiet: bool) -> None:
    """One line on stderr saying what -o (or --plot) wrote; nothing for stdout or -q."""
    if output is not None and not quiet:
        from ..read.base.urls import shown_path

        click.echo(f"wrote {one_line(shown_path(output))} ({summary})", err=True)
