"""Render a CheckReport for people: one rich table per finding, problems first.

Off a terminal the tables are plain text within 100 columns (long paths folded), as
mfb histogram's; names that are not UTF-8 or hold control characters are escaped.
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING

from ..read.decode.colours import colour_name
from .console import console_text, text_console

if TYPE_CHECKING:
    from ..count.check import CheckReport

# Long lists are cut in the table (JSON keeps everything).
_MAX_ROWS = 20

#: Width of the tables when not shown on a terminal (files and pipes), as mfb histogram.
DEFAULT_WIDTH = 100


def shown_name(name: str) -> str:
    """A path as one printable line: bytes that are not UTF-8 as \\xNN, controls escaped."""
    try:
        raw = os.fsencode(name)
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogatepass")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def render_check(report: CheckReport, stream: IO[str]) -> None:
    """Write the report to ``stream``: coloured on a terminal, else plain and 100 wide."""
    terminal = stream.isatty()
    stream.write(check_text(report, width=None if terminal else DEFAULT_WIDTH, color=terminal))


def check_text(
    report: CheckReport, *, width: int | None = DEFAULT_WIDTH, color: bool = False
) -> str:
    """The report as tables, problems first; long paths are folded within ``width``.

    Without ``color`` the text has no escape codes and depends only on the report and
    ``width``, so it is the same in a file, a pipe or a test.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = text_console(width=width, color=color)

    def table(title: str, columns: list[str], rows: list[list[str]], problem: bool) -> None:
        if not rows:
            return
        shown = Table(
            title=title, title_style="bold red" if problem else "bold", box=box.SIMPLE_HEAD
        )
        for column in columns:
            shown.add_column(column, overflow="fold")
        for row in rows[:_MAX_ROWS]:
            # File names are data, not markup: '[bold]a.png' must print as it is.
            shown.add_row(*(Text(shown_name(cell)) for cell in row))
        if len(rows) > _MAX_ROWS:
            shown.add_row(
                f"... {len(rows) - _MAX_ROWS} more (see -f json)", *[""] * (len(columns) - 1)
            )
        console.print(shown)

    problems = set(report.problems)
    table(
        "Files that cannot be read as masks",
        ["file", "problem"],
        [[path, why] for path, why in report.bad_files],
        "bad_files" in problems,
    )
    table(
        "Empty files (0 bytes)",
        ["file"],
        [[p] for p in report.empty_files],
        "empty_files" in problems,
    )
    table(
        "Label values outside the classes",
        ["label", "files", "first file"],
        [[str(v), str(len(fs)), fs[0]] for v, fs in report.out_of_range.items()],
        True,
    )
    table(
        "Masks that look interpolated or JPEG-compressed",
        ["file", "boundary pixels that are blends"],
        [[p, f"{share:.1%}"] for p, share in report.suspected_artefacts],
        True,
    )
    table(
        "Duplicate files (same content)",
        ["files"],
        [[", ".join(group)] for group in report.duplicates],
        True,
    )
    table(
        "Palette indices that mean different colours in different files",
        ["index", "colour", "files", "first file"],
        [
            [str(index), _colour(code), str(len(files)), files[0]]
            for index, colours in report.palette_conflicts.items()
            for code, files in colours.items()
        ],
        True,
    )
    if report.speckled_classes is not None:
        table(
            "Classes made mostly of specks (components under 8 pixels)",
            ["label", "specks", "of components", "files", "most specks in"],
            [
                [
                    str(one.label),
                    f"{one.specks:,}",
                    f"{one.specks / one.components:.0%} of {one.components:,}",
                    f"{one.files:,}",
                    "; ".join(f"{path} ({n:,})" for path, n in one.worst_files),
                ]
                for one in report.speckled_classes
            ],
            True,
        )
    table(
        "Labels whose image header disagrees (imagesTr/)",
        ["label", "image", "problem"],
        [
            [label, image or "-", problem]
            for label, image, problem in report.header_mismatches or []
        ],
        True,
    )
    table(
        "Single-valued masks",
        ["file", "value"],
        [[p, str(v)] for p, v in report.single_class],
        False,
    )
    table("Modes", ["mode", "files"], [[m, str(n)] for m, n in report.modes.items()], False)
    table(
        "Sizes", ["width x height", "files"], [[s, str(n)] for s, n in report.sizes.items()], False
    )
    if report.clean:
        console.print(Text(f"{report.files} files checked: no problems found.", style="green"))
    else:
        console.print(
            Text(
                f"{report.files} files checked; problems: {', '.join(report.problems)}.",
                style="red",
            )
        )
    return console_text(console, color=color)


def _colour(code: int) -> str:
    return "none (beyond the palette)" if code < 0 else colour_name(code)
