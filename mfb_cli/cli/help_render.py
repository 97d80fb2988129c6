"""Draw a command's ``--help``: usage, purpose and examples, then the options in panels.

Imported only when a help text is asked for, so a run never pays for rich. The rows are
Click's own help records (flags, metavar, help, default, range), so nothing about an
option is written twice; rich draws the panels. rich-click draws the same, but its import
(its configuration machinery, and Click's version looked up through importlib.metadata)
costs twice what rich alone does, and start-up is measured with ``mfb weights --help``.
The text around the panels is wrapped here, so a definition list keeps its columns and an
example its indent at any width.
"""

from __future__ import annotations

import inspect
import io
import os
import re
import shutil
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import click

from .panels import OPTION_PANELS, PANEL_ORDER, MfbCommand, panel_of

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

#: The widest help: lines past 100 columns are hard to read even on a wide terminal.
MAX_WIDTH = 100
#: Columns the text blocks are indented by, on each side.
MARGIN = 1
OPTION_STYLE, METAVAR_STYLE, BORDER_STYLE = "bold cyan", "bold yellow", "dim"


def help_width(ctx: click.Context) -> int:
    """The terminal's width (Click's ``terminal_width`` when given), at most MAX_WIDTH."""
    width = ctx.terminal_width or shutil.get_terminal_size().columns
    return max(40, min(width, ctx.max_content_width or MAX_WIDTH, MAX_WIDTH))


def _hanging_indent(line: str) -> int:
    """Where a wrapped line continues: under a definition's text ("  term   text"), else
    under the line's own first character."""
    term = re.match(r"^(\s*\S+(?: \S+)*?\s{2,})\S", line)
    return len(term.group(1)) if term else len(line) - len(line.lstrip(" "))


def wrap_block(text: str, width: int) -> str:
    """Click's paragraphs wrapped to ``width``: a paragraph that starts with ``\\b`` keeps
    its lines (each wrapped with a hanging indent), any other is reflowed."""
    out = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b"):
            lines = []
            for line in paragraph.lstrip("\b").strip("\n").splitlines():
                indent = " " * _hanging_indent(line)
                lines += textwrap.wrap(
                    line,
                    width,
                    subsequent_indent=indent if len(indent) < width // 2 else "    ",
                    break_long_words=False,
                    break_on_hyphens=False,
                ) or [""]
            out.append("\n".join(lines))
        else:
            flowing = " ".join(line.strip() for line in paragraph.splitlines())
            out.append(
                textwrap.fill(flowing, width, break_long_words=False, break_on_hyphens=False)
            )
    return "\n\n".join(out)


def _console(width: int) -> Console:
    """A console writing to a buffer: colour only when the help goes to a terminal."""
    from rich.console import Console

    colour = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
    return Console(
        file=io.StringIO(),
        width=width,
        force_terminal=colour,
        no_color=not colour,
        color_system="auto" if colour else None,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )


def _flags(text: str) -> RenderableType:
    """'-f, --format FORMAT': the flags in one style, the metavar in another."""
    from rich.text import Text

    styled = Text(no_wrap=True)
    for index, word in enumerate(text.split(" ")):
        if index:
            styled.append(" ")
        flag = word.startswith("-") or word == "/"
        styled.append(word, OPTION_STYLE if flag else METAVAR_STYLE)
    return styled


def _panel(title: str, rows: list[tuple[RenderableType, str]]) -> RenderableType:
    from rich import box
    from rich.panel import Panel
    from rich.table import Table

    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for left, right in rows:
        table.add_row(left, right)
    return Panel(
        table,
        title=title,
        title_align="left",
        box=box.ROUNDED,
        border_style=BORDER_STYLE,
        padding=(0, 1),
        expand=True,
    )


def _option_rows(command: click.Command, ctx: click.Context) -> dict[str, list[Any]]:
    """Click's help record of each option, by panel, in OPTION_PANELS order."""
    order = {name: index for index, name in enumerate(OPTION_PANELS)}
    by_panel: dict[str, list[tuple[int, Any, str]]] = {panel: [] for panel in PANEL_ORDER}
    help_option = command.get_help_option(ctx)
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is None:  # an argument, or a hidden option
            continue
        if param is help_option:  # Click names it as it likes ('help', '_click_default_help')
            panel, name = "Diagnostics", "help"
        else:
            panel, name = panel_of(command.name or "", param) or "Options", param.name or ""
        flags, text = record
        text = re.sub(r"\s{2,}\[", " [", text)  # Click puts two spaces before its [extras]
        by_panel.setdefault(panel, []).append((order.get(name, len(order)), _flags(flags), text))
    return {
        panel: [(flags, text) for _, flags, text in sorted(rows, key=lambda row: row[0])]
        for panel, rows in by_panel.items()
        if rows
    }


def _command_rows(group: click.Group, ctx: click.Context) -> list[tuple[RenderableType, str]]:
    """The group's commands, in the order a user needs them (then any others, by name)."""
    from rich.text import Text

    from .main import COMMANDS

    position = list(COMMANDS)
    names = sorted(
        group.list_commands(ctx),
        key=lambda n: (position.index(n) if n in position else len(position), n),
    )
    rows: list[tuple[RenderableType, str]] = []
    for name in names:
        sub = group.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            purpose = " ".join((sub.help or "").strip().split("\n\n")[0].split())
            rows.append((Text(name, OPTION_STYLE, no_wrap=True), sub.short_help or purpose))
    return rows


def render_help(command: click.Command, ctx: click.Context) -> str:
    """The help of ``command`` as ``mfb COMMAND --help`` prints it."""
    from rich.padding import Padding
    from rich.text import Text

    width = help_width(ctx)
    console = _console(width)

    def block(text: str, top: int = 0, bottom: int = 1) -> None:
        console.print(
            Padding(Text(text, no_wrap=True), (top, MARGIN, bottom, MARGIN), expand=False)
        )

    usage = " ".join(command.collect_usage_pieces(ctx))
    block(f"Usage: {ctx.command_path} {usage}", top=0, bottom=1)
    if command.help:
        block(wrap_block(command.help, width - 2 * MARGIN))
    panels = _option_rows(command, ctx)
    if isinstance(command, click.Group):
        console.print(_panel("Commands", _command_rows(command, ctx)))
    for title, rows in panels.items():
        console.print(_panel(title, rows))
    details = command.details if isinstance(command, MfbCommand) else ""
    if details:
        block(wrap_block(details, width - 2 * MARGIN), top=1, bottom=0)
    file = console.file
    assert isinstance(file, io.StringIO)
    text = file.getvalue()
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)  # no trailing blanks
    return text.strip("\n") + "\n"
