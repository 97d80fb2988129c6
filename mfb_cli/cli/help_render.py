"""Draw a command's ``--help`` with rich-click: purpose and examples, then the panels.

Imported only when a help text is asked for, so a run never pays for rich or rich-click.
The commands themselves stay plain Click commands (parsing, errors and usage lines are
Click's); for the help a rich-click twin is made that shares their parameters, and the
texts around the panels are wrapped here, so that a definition list keeps its columns
and an example keeps its indent at any width.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import textwrap
from typing import Any

import click

from .panels import OPTION_PANELS, PANEL_ORDER, MfbCommand, panel_of

#: The widest help: lines past 100 columns are hard to read even on a wide terminal.
MAX_WIDTH = 100
#: Columns the text blocks are indented by, on each side.
MARGIN = 1


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


def _config(width: int, colour: bool | None) -> Any:
    import rich_click as rc

    return rc.RichHelpConfiguration(
        theme="default-box",
        enable_theme_env_var=False,  # the same help whatever RICH_CLICK_THEME says
        width=width,
        max_width=width,
        force_terminal=colour,
        text_markup=None,  # option texts hold [ ] and * literally
        options_table_column_types=["opt_all_metavar", "help"],
        options_table_help_sections=["help", "default", "range", "required"],
        commands_table_column_types=["name", "help"],
        commands_before_options=True,  # mfb --help: the commands first
        append_metavars_help_string="{}",
        delimiter_comma=", ",
    )


def _panels(command: click.Command, name: str) -> list[Any]:
    """The option panels of ``command``, in PANEL_ORDER, options in OPTION_PANELS order."""
    from rich_click import RichOptionPanel

    order = {option: index for index, option in enumerate(OPTION_PANELS)}
    by_panel: dict[str, list[str]] = {panel: [] for panel in PANEL_ORDER}
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            panel = panel_of(name, param)
            if panel is not None:
                by_panel[panel].append(param.name or "")
    by_panel["Diagnostics"].append("help")
    return [
        RichOptionPanel(title, options=sorted(names, key=lambda n: order.get(n, len(order))))
        for title, names in by_panel.items()
        if names
    ]


def render_help(command: click.Command, ctx: click.Context) -> str:
    """The help of ``command`` as ``mfb COMMAND --help`` prints it."""
    import rich_click as rc
    from rich.padding import Padding
    from rich.text import Text

    width = help_width(ctx)
    inner = width - 2 * MARGIN
    help_text = wrap_block(command.help or "", inner)
    details = command.details if isinstance(command, MfbCommand) else ""
    details_text = wrap_block(details, inner) if details else ""

    def block(text: str, formatter: Any, top: int = 0, bottom: int = 1) -> None:
        formatter.write(Padding(Text(text, no_wrap=True), (top, MARGIN, bottom, MARGIN)))

    class Twin(rc.RichGroup if isinstance(command, click.Group) else rc.RichCommand):  # type: ignore[misc]
        def format_help_text(self, ctx: Any, formatter: Any) -> None:
            if help_text:
                block(help_text, formatter)

        def format_epilog(self, ctx: Any, formatter: Any) -> None:
            if details_text:
                block(details_text, formatter, top=1, bottom=0)

        def list_commands(self, ctx: Any) -> list[str]:
            return list(getattr(self, "commands", {}))  # as given, not sorted

    extra: dict[str, Any] = {}
    if isinstance(command, click.Group):
        from .main import COMMANDS  # the order a user needs them; others after, by name

        names = command.list_commands(ctx)
        names.sort(key=lambda n: (list(COMMANDS).index(n) if n in COMMANDS else len(COMMANDS), n))
        listed = {sub: command.get_command(ctx, sub) for sub in names}
        extra["commands"] = {sub: found for sub, found in listed.items() if found is not None}
    twin = Twin(
        name=command.name,
        params=list(command.params),
        help=command.help,
        short_help=command.short_help,
        options_metavar=command.options_metavar,
        panels=_panels(command, command.name or ""),
        **extra,
    )
    colour = None if os.environ.get("NO_COLOR") is None else False
    twin_ctx = rc.RichContext(
        twin,
        info_name=ctx.info_name,
        parent=ctx.parent,
        rich_help_config=_config(width, colour),
        terminal_width=width,
        max_content_width=width,
        help_option_names=ctx.help_option_names,
    )
    formatter = twin_ctx.make_formatter()
    twin.format_help(twin_ctx, formatter)
    text = formatter.getvalue()
    # Plain text (not a terminal): no trailing blanks, which rich pads every line with.
    if "\x1b[" not in text:
        text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)
    return text.strip("\n") + "\n"
