"""The examples of README.md and docs/: found in the Markdown, run, and their outputs compared.

The conventions (docs/contributing.md says the same for authors):

- A fence in ``bash`` (or ``sh``, ``shell``) holds commands; a fence in ``python`` holds a
  program. Every such fence of a page is run, in page order, in one scratch folder per
  page that holds a copy of ``sample_masks/`` and the example datasets of
  ``tests/docs_data.py`` (so a command runs as written from the repository's root, and a
  page may create files that its later commands read). ``mfb`` and ``python`` are the
  interpreter running the tests. A block must exit with 0.
- A fence right after one of those (blank lines between are fine) whose info string has
  ``title="output"`` is the block's standard output, ``title="stderr"`` its standard
  error, compared byte for byte. A line ``...`` alone in it stands for any lines.
- An HTML comment right before a fence says more about it:
  ``<!-- example: skip REASON -->`` (not run; the reason is required),
  ``<!-- example: exit N -->`` (the status it must exit with),
  ``<!-- example: s3 -->`` (runs against a local S3 server whose bucket ``bucket``
  holds the scratch folder's files, with the credentials in the environment),
  ``<!-- example: needs MODULE... -->`` (runs only where those Python modules are
  installed, e.g. ``needs ruff mypy`` for the development extra's tools).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SHELLS = {"bash", "sh", "shell"}
PYTHONS = {"python", "py"}
#: Fences whose content is a transcript with prompts: not runnable as written.
REFUSED = {"console", "shell-session", "pycon"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<marks>`{3,}|~{3,})[ \t]*(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*example:\s*(?P<text>.*?)\s*-->\s*$")
_TITLE = re.compile(r"""\btitle=(?:"([^"]*)"|'([^']*)'|(\S+))""")


@dataclass
class Fence:
    """One fenced block of a page."""

    page: str
    line: int  # 1-based line of the opening fence
    language: str
    title: str | None
    text: str
    directives: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass
class Example:
    """A runnable block and the outputs shown for it."""

    fence: Fence
    stdout: Fence | None = None
    stderr: Fence | None = None
    skip: str | None = None
    exit_code: int = 0
    s3: bool = False
    needs: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "shell" if self.fence.language in SHELLS else "python"


class DocsError(ValueError):
    """A page breaks the fence conventions."""


def fences(text: str, page: str) -> list[Fence]:
    """Every fenced block of a Markdown text, with the directives just before it."""
    lines = text.splitlines()
    found: list[Fence] = []
    pending: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        directive = _DIRECTIVE.match(line)
        if directive:
            pending.append(directive.group("text"))
            index += 1
            continue
        opening = _FENCE.match(line)
        if not opening:
            if line.strip():
                pending = []
            index += 1
            continue
        start = index
        indent, marks, info = opening.group("indent", "marks", "info")
        language = info.split()[0].lstrip("{.").rstrip("}") if info.strip() else ""
        title = _TITLE.search(info)
        body: list[str] = []
        index += 1
        while index < len(lines):
            candidate = lines[index]
            stripped = candidate.strip()
            if stripped.startswith(marks[0] * len(marks)) and stripped.strip(marks[0]) == "":
                break
            body.append(candidate[len(indent) :] if candidate.startswith(indent) else candidate)
            index += 1
        else:
            raise DocsError(f"{page}:{start + 1}: a fence that never closes")
        found.append(
            Fence(
                page=page,
                line=start + 1,
                language=language.lower(),
                title=next((g for g in title.groups() if g is not None), None) if title else None,
                text="\n".join(body) + ("\n" if body else ""),
                directives=pending,
            )
        )
        pending = []
        index += 1
    return found


def examples(text: str, page: str) -> list[Example]:
    """The runnable blocks of a page, each with the outputs shown for it."""
    found: list[Example] = []
    previous: Example | None = None
    for fence in fences(text, page):
        if fence.language in REFUSED:
            raise DocsError(
                f"{fence.where}: a ```{fence.language} fence cannot be run as written; put the "
                'commands in ```bash and the output in a fence with title="output"'
            )
        if fence.title in ("output", "stderr"):
            if previous is None:
                raise DocsError(f"{fence.where}: an output fence that follows no bash or python")
            slot = "stdout" if fence.title == "output" else "stderr"
            if getattr(previous, slot) is not None:
                raise DocsError(f"{fence.where}: a second {fence.title} for one example")
            setattr(previous, slot, fence)
            continue
        previous = None
        if fence.language not in SHELLS | PYTHONS:
            if fence.directives:
                raise DocsError(f"{fence.where}: example directives on a ```{fence.language}")
            continue
        example = Example(fence)
        for directive in fence.directives:
            word, _, rest = directive.partition(" ")
            if word == "skip":
                if not rest.strip():
                    raise DocsError(f"{fence.where}: 'skip' needs a reason")
                example.skip = rest.strip()
            elif word == "exit" and rest.strip().isdigit():
                example.exit_code = int(rest)
            elif word == "s3" and not rest:
                example.s3 = True
            elif word == "needs" and rest.split():
                example.needs = tuple(rest.split())
            else:
                raise DocsError(f"{fence.where}: unknown example directive {directive!r}")
        found.append(example)
        previous = example
    return found


def matches(expected: str, actual: str) -> bool:
    """``actual`` is ``expected`` byte for byte, a line ``...`` standing for any lines."""
    if "\n...\n" not in "\n" + expected:
        return expected == actual
    pattern = "".join(
        "(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + "\n"
        for line in expected.splitlines()
    )
    return re.fullmatch(pattern, actual if actual.endswith("\n") else actual + "\n") is not None
