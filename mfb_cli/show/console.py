"""Tables for people drawn with rich: coloured on a terminal, else plain, fixed-width text.

Without colour the text has no escape codes and no trailing blanks and depends only on
what is drawn and the width, so it is the same in a file, a pipe or a test.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from rich.console import Console


def text_console(*, width: int | None, color: bool) -> Console:
    """A rich console that draws into memory; read it back with ``console_text``."""
    from rich.console import Console  # rich is imported only when a table is drawn

    return Console(
        file=io.StringIO(),
        width=width,
        force_terminal=color,
        color_system="auto" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        legacy_windows=False,
    )


def console_text(console: Console, *, color: bool) -> str:
    """What ``console`` drew; plain text loses the blanks rich pads every line with."""
    text = cast(io.StringIO, console.file).getvalue()
    return text if color else "".join(line.rstrip() + "\n" for line in text.splitlines())
