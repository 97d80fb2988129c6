"""List files: one label path per line, or 'image label' pairs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import MfbError, Param
from .textfiles import read_stdin, read_text

if TYPE_CHECKING:
    from collections.abc import Iterator


def read_list_file(
    list_file: Path,
    *,
    column: int | None = None,
    root: Path | str | None = None,
    suffix: str = "",
) -> list[Path]:
    """The label files named in a list (see iter_list_file), as a list."""
    return list(iter_list_file(list_file, column=column, root=root, suffix=suffix))


def iter_list_file(
    list_file: Path,
    *,
    column: int | None = None,
    root: Path | str | None = None,
    suffix: str = "",
) -> Iterator[Path]:
    """The label files named in a list, one at a time: one path per line, or 'image label'
    pairs (a long list is never held as Path objects).

    Each line is split on whitespace and the label is taken from ``column`` (1-based;
    default the last, so 'image label' pairs give the label). Blank lines and lines
    starting with '#' are skipped. ``suffix`` is appended to every entry, so mmseg-style
    split files of bare names ('aachen_000000_000019') name files
    ('aachen_000000_000019_gtFine_labelTrainIds.png'). Relative paths are resolved against
    ``root``, by default the list's own folder (the current folder for '-', standard input).
    The list is read within textfiles.MAX_TABLE_BYTES.
    """
    if str(list_file) == "-":
        text = read_stdin("list")
        default_base = Path()
        list_file = Path("(standard input)")
    else:
        text = read_text(list_file, "list")
        default_base = list_file.parent
    base = Path(root) if root is not None else default_base
    for number, entry in list_entries(text, str(list_file), column, suffix):
        path = base / entry  # an absolute entry stays as it is
        if not path.is_file():
            where: tuple[str | Param, ...]
            if Path(entry).is_absolute():
                where = (" (an absolute path in a list is used as it is)",)
            else:
                where = (f" in {base.as_posix()}",)
                if root is None:
                    where += (" (set the folder with ", Param("root"), ")")
            raise MfbError(f"{list_file}:{number}: {entry}: no such file", *where)
        yield path


def list_entries(
    text: str, where: str, column: int | None, suffix: str
) -> Iterator[tuple[int, str]]:
    """(line number, entry) of each line naming a label file, local or remote lists alike.

    Blank lines and '#' comments are skipped; the entry is ``column`` (1-based, default
    the last) with ``suffix`` appended. A line without that column names ``where``.
    """
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if column is not None and column > len(fields):
            raise MfbError(
                f"{where}:{number}: {len(fields)} column(s), but ",
                Param("column", column),
                " was asked",
            )
        yield number, fields[-1 if column is None else column - 1] + suffix
