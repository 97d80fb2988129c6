"""Render a CheckReport for people: one rich table per finding, problems first."""

from __future__ import annotations

from typing import IO

from .check import CheckReport

# Long lists are cut in the table (JSON keeps everything).
_MAX_ROWS = 20


def render_check(report: CheckReport, stream: IO[str]) -> None:
    """Write the report as tables to ``stream`` (colour only when it is a terminal)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Piped or saved tables are for grep and less: wide enough that paths stay on one line.
    width = None if stream.isatty() else 200
    console = Console(file=stream, highlight=False, width=width)

    def table(title: str, columns: list[str], rows: list[list[str]], problem: bool) -> None:
        if not rows:
            return
        shown = Table(title=title, title_style="bold red" if problem else "bold")
        for column in columns:
            shown.add_column(column, overflow="fold")
        for row in rows[:_MAX_ROWS]:
            # File names are data, not markup: '[bold]a.png' must print as it is.
            shown.add_row(*(Text(cell) for cell in row))
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
        console.print(f"[green]{report.files} files checked: no problems found.[/green]")
    else:
        console.print(
            f"[red]{report.files} files checked; problems: {', '.join(report.problems)}.[/red]"
        )
