"""The co-occurrence table of a statistics file: written in one of three layouts, read back
as one NumPy array with every check made on whole arrays, never per entry in Python.

``cooc[c][d]`` is the number of pixels of label d in the images containing label c. The
table is not symmetric in its values (only in which entries are non-zero), so every
non-zero entry is stored. The layout depends on the table (``cooc_layout``):

- ``rows``: a list of ``[c, d, n]`` (labels and count) for the non-zero entries, while there
  are at most ROWS_LIMIT of them (every table of up to 256 ids). This is the only layout of
  format version 1, so every mfb reads these files.
- ``pairs``: ``{"c": [...], "d": [...], "n": [...]}``, the same entries as three parallel
  lists, when there are more and fewer than one cell in SPARSE_SHARE is non-zero.
- ``matrix``: ``{"matrix": [[...], ...]}``, every cell, rows and columns in the order of
  ``ids``, when at least one cell in SPARSE_SHARE is non-zero: each cell then costs its
  digits, where a pair would also spell out two labels.

The last two need format version 2. All three are read whatever the version says.
"""

from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

from ..read.sources.textfiles import INT64_MAX, INT64_MIN, short

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

#: Most non-zero entries written as [c, d, n] rows (a table of 256 ids all meeting).
ROWS_LIMIT = 65_536
#: Past ROWS_LIMIT: the entries as pairs when fewer than 1/SPARSE_SHARE of the cells are
#: non-zero, else the whole matrix.
SPARSE_SHARE = 4

DEFINITIONS = {
    "rows": "[c, d, n]: n pixels of label d in the images containing label c (non-zero only; "
    "[c, c, n] has n = pixels of c)",
    "pairs": "{c, d, n}: parallel lists; n[k] pixels of label d[k] in the images containing "
    "label c[k] (non-zero entries only; c = d has n = pixels of c)",
    "matrix": "matrix[i][j]: pixels of label ids[j] in the images containing label ids[i] "
    "(matrix[i][i] = pixels[i])",
}
#: The format version a reader needs for each layout.
VERSIONS = {"rows": 1, "pairs": 2, "matrix": 2}


class CoocRecordError(ValueError):
    """A problem in the 'cooc' value of a statistics record (one line, no file name)."""


Table = np.ndarray[Any, Any]


def cooc_layout(table: Table) -> str:
    """The layout a table is written in: rows, pairs or matrix (see the module docstring)."""
    nonzero = int(np.count_nonzero(table))
    if nonzero <= ROWS_LIMIT:
        return "rows"
    return "pairs" if nonzero * SPARSE_SHARE < table.size else "matrix"


def cooc_value(ids: Sequence[int], table: Table, layout: str) -> Any:
    """The table as plain data (exact integers) in ``layout``."""
    if layout == "matrix":
        return {"matrix": table.tolist()}
    rows, columns = np.nonzero(table)
    labels = np.asarray(ids, dtype=np.int64)
    c, d, n = labels[rows].tolist(), labels[columns].tolist(), table[rows, columns].tolist()
    if layout == "pairs":
        return {"c": c, "d": d, "n": n}
    return [list(row) for row in zip(c, d, n, strict=True)]


def cooc_from_value(value: Any, ids: list[int], pixels: list[int], *, exact: bool) -> Table:
    """The table of a 'cooc' value in any layout, checked; int64, or Python integers of any
    size (``exact``: physical counts). Raises CoocRecordError."""
    expected = _pixels(pixels, exact=exact)
    if isinstance(value, list):
        table = _from_entries(*_rows(value), np.asarray(ids, dtype=np.int64), expected)
    elif isinstance(value, dict) and set(value) == {"c", "d", "n"}:
        table = _from_entries(*_pairs(value), np.asarray(ids, dtype=np.int64), expected)
    elif isinstance(value, dict) and set(value) == {"matrix"}:
        table = _matrix(value["matrix"], ids, expected)
    else:
        raise CoocRecordError(
            '\'cooc\' must be a list of [c, d, n] rows, {"c", "d", "n"} lists or a {"matrix"}'
        )
    # Physical counts stay Python integers (object); voxel counts were checked to fit int64.
    table = table.astype(object if exact else np.int64, copy=False)
    diagonal = np.diagonal(table)
    wrong = np.flatnonzero(diagonal != expected)
    if wrong.size:
        label = ids[int(wrong[0])]
        raise CoocRecordError(
            f"'cooc' [{label}, {label}] is {int(diagonal[wrong[0]])}, "
            f"not the {pixels[int(wrong[0])]} pixels of id {label}"
        )
    if not np.array_equal(table > 0, (table > 0).T):
        raise CoocRecordError("'cooc' is not symmetric in which ids occur together")
    return table


def _pixels(pixels: list[int], *, exact: bool) -> Table:
    if not exact:
        return np.asarray(pixels, dtype=np.int64).reshape(-1)
    array = np.zeros(len(pixels), dtype=object)
    array[:] = pixels
    return array


# --- the three layouts -----------------------------------------------------------------


def _rows(rows: list[Any]) -> tuple[Table, Table, Table, Callable[[int], str], str]:
    """c, d and n of a list of [c, d, n] rows, and how to name row k."""
    if not (
        _types(rows) <= {list}
        and set(map(len, rows)) <= {3}
        and _types(chain.from_iterable(rows)) <= {int}
    ):
        bad = next(r for r in rows if not (type(r) is list and len(r) == 3 and _types(r) <= {int}))
        raise CoocRecordError(f"'cooc' row {short(bad)} is not [c, d, n] integers")
    table = _ints(rows).reshape(-1, 3)
    return table[:, 0], table[:, 1], table[:, 2], lambda k: f"'cooc' row {short(rows[k])}", "rows"


def _pairs(value: dict[str, Any]) -> tuple[Table, Table, Table, Callable[[int], str], str]:
    """c, d and n of {"c", "d", "n"} parallel lists, and how to name entry k."""
    lists = [value[key] for key in ("c", "d", "n")]
    for key, values in zip("cdn", lists, strict=True):
        if not (isinstance(values, list) and _types(values) <= {int}):
            raise CoocRecordError(f"'cooc' {key!r} must be a list of integers")
    lengths = [len(values) for values in lists]
    if len(set(lengths)) > 1:
        raise CoocRecordError(
            f"'cooc' has {lengths[0]} 'c', {lengths[1]} 'd' and {lengths[2]} 'n': one each per "
            "entry"
        )
    c, d, n = (_ints(values) for values in lists)

    def name(k: int) -> str:
        return f"'cooc' entry {k} [{', '.join(short(values[k]) for values in lists)}]"

    return c, d, n, name, "entries"


def _matrix(matrix: Any, ids: list[int], expected: Table) -> Table:
    size = len(ids)
    if not (
        isinstance(matrix, list)
        and len(matrix) == size
        and _types(matrix) <= {list}
        and set(map(len, matrix)) <= {size}
        and _types(chain.from_iterable(matrix)) <= {int}
    ):
        raise CoocRecordError(f"'cooc' matrix must be {size} lists of {size} integers")
    table = _ints(matrix).reshape(size, size)
    _first(table < 0, lambda k: f"negative count in 'cooc' matrix at {_cell(ids, k)}")
    _first(
        table > expected[None, :],
        lambda k: (
            f"'cooc' matrix at {_cell(ids, k)} is {short(int(table.flat[k]))}, more than the "
            f"{expected[k % size]} pixels of {ids[k % size]}"
        ),
    )
    return table


def _cell(ids: list[int], k: int) -> str:
    return f"[{ids[k // len(ids)]}, {ids[k % len(ids)]}]"


def _from_entries(
    c: Table,
    d: Table,
    n: Table,
    name: Callable[[int], str],
    what: str,
    ids: Table,
    expected: Table,
) -> Table:
    """The table of non-zero entries (label c, label d, count n), checked as the old
    per-row reader did: known ids, counts >= 0, one entry per pair, n <= pixels of d."""
    rows, known_c = _positions(c, ids)
    columns, known_d = _positions(d, ids)
    _first(~(known_c & known_d), lambda k: f"{name(k)} names an id not in 'ids'")
    _first(n < 0, lambda k: f"negative count in {name(k)}")
    flat = rows * len(ids) + columns
    seen = np.zeros(len(ids) * len(ids), dtype=bool)
    seen[flat] = True
    if np.count_nonzero(seen) < flat.size:  # a pair given twice: find where, in file order
        order = np.argsort(flat, kind="stable")  # equal pairs keep the order of the file
        ordered = flat[order]
        k = int(order[1:][ordered[1:] == ordered[:-1]].min())
        raise CoocRecordError(f"'cooc' has two {what} for ({ids[rows[k]]}, {ids[columns[k]]})")
    _first(
        n > expected[columns],
        lambda k: f"{name(k)} exceeds the {expected[columns[k]]} pixels of {ids[columns[k]]}",
    )
    table = np.zeros((len(ids), len(ids)), dtype=expected.dtype)
    table[rows, columns] = n
    return table


def _positions(labels: Table, ids: Table) -> tuple[Table, Table]:
    """The index in ``ids`` of every label, and which labels are there at all."""
    fits = np.ones(labels.shape, dtype=bool)
    if labels.dtype == object:  # a label past int64 (it is in no 'ids')
        fits = np.asarray((labels >= INT64_MIN) & (labels <= INT64_MAX), dtype=bool)
        labels = np.where(fits, labels, 0).astype(np.int64)
    positions = np.minimum(np.searchsorted(ids, labels), max(len(ids) - 1, 0))
    if not len(ids):
        return positions, np.zeros(labels.shape, dtype=bool)
    return positions, fits & (ids[positions] == labels)


def _first(bad: Table, message: Callable[[int], str]) -> None:
    """Raise ``message(k)`` for the first k where ``bad`` holds (in file order)."""
    where = np.flatnonzero(bad)
    if where.size:
        raise CoocRecordError(message(int(where[0])))


def _types(values: Any) -> set[type]:
    """The types of the items (C-level: no Python step per item); bool is not int here."""
    return set(map(type, values))


def _ints(values: list[Any]) -> Table:
    """int64 when every integer fits, else Python integers (object); the checks that follow
    refuse what a count or label may not be."""
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array(values, dtype=object)
