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


def _flag(command: click.Command, name: str) -> str | None:
    """The command's own flag for the library parameter ``name``, if it has one: the option
    whose destination is ``name``, else the option spelled ``--name``."""
    options = [param for param in command.params if isinstance(param, click.Option)]
    for param in options:
        if param.name == name:
            return max(param.opts, key=len)
    spelled = "--" + name.replace("_", "-")
    return spelled if any(spelled in param.opts for param in options) else None


def flag_of(name: str) -> str:
    """The running command's flag for a library parameter (every option's destination is the
    library's name). A message never suggests a flag the command lacks: another command's
    is named with that command ('mfb weights --beta'), else the library's name is kept.
    """
    context = click.get_current_context(silent=True)
    if context is None:
        return "--" + name.replace("_", "-")
    command = context.command
    if isinstance(command, click.Group) and context.invoked_subcommand:
        # An error rendered after the command returned: its context is the group's.
        command = command.get_command(context, context.invoked_subcommand) or command
    own = _flag(command, name)
    if own is not None:
        return own
    root = context.find_root()
    group = root.command
    if isinstance(group, click.Group):
        # The commands that make the data first: a statistics file comes from 'mfb scan'.
        names = group.list_commands(root)
        ordered = [*(n for n in ("scan", "weights") if n in names), *names]
        for command_name in ordered:  # loads a command's module if need be
            candidate = group.get_command(root, command_name)
            other = None if candidate is None else _flag(candidate, name)
            if other is not None:
                # Outside any command (the group itself): the flag as every command spells it.
                running = not isinstance(command, click.Group)
                return f"mfb {command_name} {other}" if running else other
    return name


def cli_text(error: MfbError) -> str:
    """A library error's message with its parameters spelled as flags: the one place the
    library's names (``num_classes=19``) become the command line's (``--num-classes 19``).
    """
    return error.render(spell)


def spell(param: Param) -> str:
    """A parameter as a user of the command line gives it: ``--num-classes 19``, ``--map``;
    one only another command takes reads ``'mfb weights --beta 0.99'``."""
    flag = flag_of(param.name)
    if not flag.startswith(("-", "mfb ")):  # no command has it: the library's own spelling
        return str(param)
    if param.metavar:
        text = f"{flag} {param.metavar}"
    else:
        text = flag if param.value is NO_VALUE else f"{flag} {param.value}"
    return f"'{text}'" if flag.startswith("mfb ") else text


def wrote(output: Path | None, summary: str, quiet: bool) -> None:
    """One line on stderr saying what -o (or --plot) wrote; nothing for stdout or -q."""
    if output is not None and not quiet:
        from ..read.base.urls import shown_path

        click.echo(f"wrote {one_line(shown_path(output))} ({summary})", err=True)
