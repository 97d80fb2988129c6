"""The groups table of ``mfb split --groups``: a CSV of ``image,group`` rows."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from ...errors import MfbError
from .textfiles import one_line, read_text

if TYPE_CHECKING:
    from pathlib import Path


def load_groups(path: Path | str) -> dict[str, str]:
    """``image -> group`` from a CSV of two columns (a first row ``image,group`` is a header).

    Read within the text-file limit; a row without exactly two fields, an empty field, or
    an image given two different groups is an error naming the file and line.
    """
    text = read_text(path, "groups")
    table: dict[str, str] = {}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise MfbError(f"{path}:{reader.line_num}: not CSV ({one_line(str(error))})") from None
    for number, row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if number == 1 and [cell.strip().lower() for cell in row] == ["image", "group"]:
            continue
        if len(row) != 2 or not row[0] or not row[1].strip():
            raise MfbError(
                f"{path}:{number}: expected 'image,group', got {one_line(','.join(row))}"
            )
        image, group = row[0], row[1].strip()
        if table.setdefault(image, group) != group:
            raise MfbError(
                f"{path}:{number}: {one_line(image)} is given two groups "
                f"({one_line(table[image])} and {one_line(group)})"
            )
    if not table:
        raise MfbError(f"{path}: no 'image,group' rows")
    return table
