"""A sorted integer -> id table, looked up with one vectorised search: colour maps and remaps."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import MfbError
from ..base.urls import RemoteName, is_url, named
from ..sources.textfiles import INT64_MAX, INT64_MIN, read_text, short

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import numpy.typing as npt

    from ..._types import Int64Array


@dataclass(frozen=True, eq=False)
class LookupTable:
    """Sorted keys (packed colours, or old ids) and the class id each maps to."""

    name: str
    keys: Int64Array
    values: Int64Array
    builtin: bool = False

    def lookup(self, keys: npt.NDArray[np.integer]) -> tuple[Int64Array, npt.NDArray[np.bool_]]:
        """The id of each key, and which keys the table holds at all."""
        keys = np.asarray(keys, dtype=np.int64)
        where = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return self.values[where], self.keys[where] == keys

    def describe(self) -> dict[str, Any]:
        """What statistics files record: a built-in's name or 'file', and a table digest.

        The digest covers the resolved table, so one table written in two file formats
        describes itself the same way, and different tables never do.
        """
        digest = hashlib.sha256(self.keys.tobytes() + self.values.tobytes()).hexdigest()
        return {"name": self.name if self.builtin else "file", "sha256": digest}


def table_from_pairs(
    pairs: Iterable[tuple[int, int]],
    where: str,
    conflict: Callable[[int, int, int], str],
    what: str,
) -> tuple[Int64Array, Int64Array]:
    """Sorted keys and values from (key, value) pairs; a key given two values is an error.

    ``conflict(key, first, second)`` words that error; ``what`` names the table when empty.
    """
    table: dict[int, int] = {}
    for key, value in pairs:
        for number in (key, value):
            if not INT64_MIN <= number <= INT64_MAX:
                raise MfbError(f"{where}: id {short(number)} does not fit a 64-bit label")
        if table.setdefault(key, value) != value:
            raise MfbError(f"{where}: {conflict(key, table[key], value)}")
    if not table:
        raise MfbError(f"{where}: the {what} is empty")
    keys = np.fromiter(sorted(table), dtype=np.int64, count=len(table))
    values = np.fromiter((table[k] for k in keys.tolist()), dtype=np.int64, count=len(table))
    return keys, values


def read_table_file(
    spec: str, what: str, builtin: str, known: Iterable[str]
) -> tuple[Path | RemoteName, str]:
    """The path and text of a table file given on the command line, or a one-line error.

    Anything that exists and is not a folder is read (a FIFO or ``<(...)`` too), within
    textfiles.MAX_TABLE_BYTES.
    """
    if is_url(spec):  # read/remote.py: named without its secrets
        return named(spec), read_text(spec, what)
    path = Path(spec)
    if not path.exists() or path.is_dir():
        raise MfbError(
            f"{spec}: neither a {what} file nor a built-in {builtin} ({', '.join(known)})"
        )
    return path, read_text(path, what)
