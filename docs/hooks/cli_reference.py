"""MkDocs hook: the command-line reference, drawn from the Click commands themselves.

A page holding the line ``<!-- mfb: command reference -->`` gets, in its place, one
section per command with the command's own ``--help`` (as a 100-column terminal shows
it; the page hides its table of contents to make room), so the reference is never written
twice and never out of date.
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- mfb: command reference -->"
WIDTH = 100


def _help(args: list[str]) -> str:
    from click.testing import CliRunner

    from mfb_cli.cli import cli

    runner = CliRunner(env={"FORCE_COLOR": None, "NO_COLOR": "1", "TERMINAL_WIDTH": None})
    result = runner.invoke(cli, [*args, "--help"], prog_name="mfb", terminal_width=WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"mfb {' '.join(args)} --help failed: {result.output}")
    return result.stdout


def _purpose(text: str) -> str:
    return text.splitlines()[2].strip()  # after the usage line and a blank line


def reference() -> str:
    """Markdown: a table of the commands, then each command's help."""
    import click

    from mfb_cli.cli import cli
    from mfb_cli.cli.main import COMMANDS

    names = [*COMMANDS, *(n for n in cli.list_commands(click.Context(cli)) if n not in COMMANDS)]
    helps = {name: _help([name]) for name in names}
    rows = "\n".join(f"| [`mfb {n}`](#mfb-{n}) | {_purpose(helps[n])} |" for n in names)
    sections = [
        "| command | what it does |\n|---|---|\n" + rows,
        f"## mfb\n\n```text\n{_help([])}```",
        *(f"## mfb {name}\n\n```text\n{text}```" for name, text in helps.items()),
    ]
    return "\n\n".join(sections) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, reference())
