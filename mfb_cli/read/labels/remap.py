"""Id remapping (old -> new) applied after decoding: files or built-in tables.

A remap is a lookup table over label values; mfb applies it to each image's histogram
of values, which gives exactly the counts of the remapped image.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any

from ...errors import MfbError
from ..sources.textfiles import as_int, parse_structured, short
from . import builtins, tables
from .lookup import LookupTable, read_table_file, table_from_pairs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator


class Remap(LookupTable):
    """Sorted old ids (``keys``) and the new id of each (``values``)."""


def _cityscapes_train_ids() -> Iterator[tuple[int, int]]:
    # labelId -> trainId from labels.py; the licence plate's trainId -1 becomes 255 too.
    for _, label_id, train_id, _ in tables.CITYSCAPES:
        yield label_id, train_id if train_id >= 0 else tables.CITYSCAPES_IGNORE


def _reduce_zero_label() -> Iterator[tuple[int, int]]:
    # mmsegmentation's reduce_zero_label on 8-bit masks: 0 -> 255, k -> k-1, 255 stays 255.
    yield 0, 255
    yield from ((k, k - 1) for k in range(1, 255))
    yield 255, 255


BUILTIN_REMAPS: dict[str, tuple[str, Callable[[], Iterable[tuple[int, int]]]]] = {
    "cityscapes-trainid": (
        builtins.REMAPS["cityscapes-trainid"],
        _cityscapes_train_ids,
    ),
    "reduce-zero-label": (
        builtins.REMAPS["reduce-zero-label"],
        _reduce_zero_label,
    ),
}


def load_remap(spec: str) -> Remap:
    """A built-in remap by name, or an old -> new table file (.json, .yaml, .csv)."""
    if spec in BUILTIN_REMAPS:
        return _build(spec, BUILTIN_REMAPS[spec][1](), spec, builtin=True)
    path, text = read_table_file(spec, "remap", "remap", BUILTIN_REMAPS)
    try:
        suffix = path.suffix.lower()
        if suffix in (".json", ".yaml", ".yml"):
            pairs = _structured_pairs(parse_structured(text, suffix))
        else:
            pairs = _csv_pairs(text)
    except (ValueError, TypeError, csv.Error) as error:
        raise MfbError(f"{path}: not an old -> new id table ({error})") from None
    return _build(str(path), pairs, str(path), builtin=False)


def _build(name: str, pairs: Iterable[tuple[int, int]], where: str, builtin: bool) -> Remap:
    old, new = table_from_pairs(
        pairs,
        where,
        lambda key, first, second: f"id {key} is mapped twice, to {first} and {second}",
        "remap table",
    )
    return Remap(name, old, new, builtin)


def _pair(old: object, new: object, where: str) -> tuple[int, int]:
    return as_int(old, f"{where}: old id"), as_int(new, f"{where}: new id")


def _structured_pairs(data: Any) -> list[tuple[int, int]]:
    # {"old": new} or [[old, new], ...]
    if isinstance(data, dict):
        return [_pair(k, v, f"entry {short(k)}") for k, v in data.items()]
    if isinstance(data, list):
        pairs = []
        for number, item in enumerate(data, 1):
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise ValueError(f"entry {number}: {short(item)} is not an [old, new] pair")
            pairs.append(_pair(item[0], item[1], f"entry {number}"))
        return pairs
    raise TypeError(
        f"expected an object {{old: new}} or a list of [old, new] pairs, not {short(data)}"
    )


def _csv_pairs(text: str) -> list[tuple[int, int]]:
    rows = [[c.strip() for c in row] for row in csv.reader(text.splitlines()) if row]
    if rows and not rows[0][0].lstrip("-").isdigit():
        rows = rows[1:]  # a header such as old,new
    pairs = []
    for number, row in enumerate(rows, 1):
        if len(row) < 2:
            raise ValueError(f"row {number} is not 'old,new'")
        pairs.append(_pair(row[0], row[1], f"row {number}"))
    return pairs
