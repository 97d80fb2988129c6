"""Colour maps: which class id each colour of a colour-coded mask stands for.

Colours are packed into one integer (0xRRGGBB) so a whole image, or its histogram, is
mapped with one sorted search; a table is loaded from JSON/YAML, CSV or a labels.txt, or
built from a dataset's published table by name.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import tables
from .errors import MfbError
from .lookup import LookupTable, parse_structured, read_table_file, table_from_pairs

Int64Array = npt.NDArray[np.int64]

#: Packed code of a fully transparent pixel: outside the 24-bit colour range on purpose.
TRANSPARENT = 1 << 24


def pack_rgb(rgb: npt.NDArray[np.integer]) -> npt.NDArray[np.uint32]:
    """Pack an (..., 3) array of 8-bit channels into 0xRRGGBB codes."""
    wide = rgb.astype(np.uint32, copy=False)
    packed = (wide[..., 0] << 16) | (wide[..., 1] << 8) | wide[..., 2]
    return packed.astype(np.uint32, copy=False)


def colour_name(code: int) -> str:
    """'#rrggbb' for a packed colour, 'transparent' for the transparent code."""
    return "transparent" if code == TRANSPARENT else f"#{code:06x}"


#: One row of a colour table: packed colour, class id, and the class name if the table has one.
Entry = tuple[int, int, str | None]


@dataclass(frozen=True, eq=False)
class ColorMap(LookupTable):
    """Sorted packed colours (``keys``) and the class id of each (``values``).

    ``names`` holds the class names the table gives (class_dict.csv, label_colors.txt, the
    built-in tables), so outputs can name classes without a separate --names file.
    """

    names: Mapping[int, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "colours": len(self.keys)}


def _cityscapes() -> Iterator[Entry]:
    # Several labels share a colour (car and licence plate, pole and polegroup, the black
    # void labels): a colour rendering cannot tell them apart, so a colour belongs to the
    # trained class when one has it, else to the ignore value.
    trained = [(n, t, c) for n, _, t, c in tables.CITYSCAPES if 0 <= t < 255]
    train = {colour: train_id for _, train_id, colour in trained}
    names = {train_id: name for name, train_id, _ in trained}
    for _, _, _, colour in tables.CITYSCAPES:
        train_id = train.get(colour, tables.CITYSCAPES_IGNORE)
        yield _pack(colour), train_id, names.get(train_id)


def _voc() -> Iterator[Entry]:
    for index, code in enumerate(pack_rgb(tables.voc_palette()).tolist()):
        name = tables.VOC_NAMES[index] if index < len(tables.VOC_NAMES) else None
        yield int(code), index, name


BUILTIN_COLORMAPS: dict[str, tuple[str, Callable[[], Iterable[Entry]]]] = {
    "cityscapes": (
        "Cityscapes *_color.png -> trainIds 0-18, other colours 255 (labels.py)",
        _cityscapes,
    ),
    "camvid32": (
        "CamVid's 32 classes in label_colors.txt order (Void = 30)",
        lambda: ((_pack(c), i, n) for i, (n, c) in enumerate(tables.CAMVID32)),
    ),
    "camvid11": (
        "SegNet's CamVid 11 classes + Unlabelled = 11",
        lambda: ((_pack(c), i, n) for i, (n, c) in enumerate(tables.CAMVID11)),
    ),
    "voc": (
        "Pascal VOC palette: colour of index i -> i (0-255, 255 = boundary)",
        _voc,
    ),
}


def load_colormap(spec: str) -> ColorMap:
    """A built-in map by name, or a colour table file (.json/.yaml, .csv, or R G B name)."""
    if spec in BUILTIN_COLORMAPS:
        return _build(spec, BUILTIN_COLORMAPS[spec][1](), spec, builtin=True)
    path, text = read_table_file(spec, "colour table", "map", BUILTIN_COLORMAPS)
    suffix = path.suffix.lower()
    try:
        if suffix in (".json", ".yaml", ".yml"):
            entries = _structured_entries(parse_structured(text, suffix))
        elif suffix == ".csv":
            entries = _csv_entries(text)
        else:
            entries = _text_entries(text)
    except (ValueError, KeyError, TypeError) as error:
        raise MfbError(f"{path}: not a colour table ({error})") from error
    return _build(str(path), entries, str(path), builtin=False)


def _build(name: str, entries: Iterable[Entry], where: str, builtin: bool) -> ColorMap:
    rows = list(entries)
    names: dict[int, str] = {}
    for _, class_id, class_name in rows:
        if class_name:
            names.setdefault(class_id, class_name)  # the first row naming an id names it
    colours, ids = table_from_pairs(
        ((code, class_id) for code, class_id, _ in rows),
        where,
        lambda code, first, second: (
            f"colour {colour_name(code)} is given two ids, {first} and {second}"
        ),
        "colour table",
    )
    return ColorMap(name, colours, ids, builtin, names)


def _pack(colour: Iterable[int]) -> int:
    r, g, b = (int(v) for v in colour)
    for value in (r, g, b):
        if not 0 <= value <= 255:
            raise ValueError(f"colour channel {value} outside 0-255")
    return (r << 16) | (g << 8) | b


_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_colour(value: object) -> int:
    """'#rrggbb', 'r,g,b', 'r g b' or [r, g, b] as a packed code."""
    if isinstance(value, (list, tuple)):
        if len(value) != 3:
            raise ValueError(f"colour {value!r} does not have 3 channels")
        return _pack(int(v) for v in value)
    if isinstance(value, str):
        text = value.strip()
        match = _HEX.fullmatch(text)
        if match:
            return int(match.group(1), 16)
        parts = re.split(r"[,\s]+", text.strip("()[]"))
        if len(parts) == 3:
            return _pack(int(p) for p in parts)
    raise ValueError(f"cannot read {value!r} as a colour (#rrggbb, 'r,g,b' or [r, g, b])")


def _structured_entries(data: Any) -> list[Entry]:
    # {"#804080": 0}, {"0": "#804080"}, [{"id": 0, "name": ..., "color": ...}], [[r, g, b]]
    entries: list[Entry] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, int) and not isinstance(value, bool):
                entries.append((parse_colour(key), value, None))
            else:
                entries.append((parse_colour(value), int(key), None))
        return entries
    if isinstance(data, list):
        for index, item in enumerate(data):
            if isinstance(item, dict):
                colour = next((item[k] for k in ("color", "colour", "rgb") if k in item), None)
                if colour is None:
                    raise KeyError(f"entry {index} has no 'color'")
                name = item.get("name")
                class_id = int(item.get("id", index))
                entries.append((parse_colour(colour), class_id, str(name) if name else None))
            else:
                entries.append((parse_colour(item), index, None))
        return entries
    raise TypeError("expected an object or a list")


_RED, _GREEN, _BLUE = ("r", "red"), ("g", "green"), ("b", "blue")


def _csv_entries(text: str) -> list[Entry]:
    rows = [row for row in csv.reader(text.splitlines()) if row and any(c.strip() for c in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    if any(name in header for name in _RED):
        # class_dict.csv (name,r,g,b) or id,r,g,b: the id column if any, else the row number.
        def column(names: tuple[str, ...]) -> int:
            return next(header.index(n) for n in names if n in header)

        red, green, blue = column(_RED), column(_GREEN), column(_BLUE)
        id_column = next((header.index(n) for n in ("id", "class_id", "label") if n in header), -1)
        name_column = next(
            (header.index(n) for n in ("name", "class", "class_name") if n in header), -1
        )
        return [
            (
                _pack((int(row[red]), int(row[green]), int(row[blue]))),
                int(row[id_column]) if id_column >= 0 else index,
                row[name_column].strip() or None if name_column >= 0 else None,
            )
            for index, row in enumerate(rows[1:])
        ]
    # No header: id,r,g,b when the first cell is a number, name,r,g,b otherwise; r,g,b alone.
    entries: list[Entry] = []
    for index, row in enumerate(rows):
        cells = [cell.strip() for cell in row]
        if len(cells) == 3:
            entries.append((_pack(int(c) for c in cells), index, None))
        elif len(cells) >= 4 and cells[0].lstrip("-").isdigit():
            entries.append((_pack(int(c) for c in cells[1:4]), int(cells[0]), None))
        elif len(cells) >= 4:
            entries.append((_pack(int(c) for c in cells[1:4]), index, cells[0] or None))
        else:
            raise ValueError(f"row {index + 1} has {len(cells)} column(s)")
    return entries


def _text_entries(text: str) -> list[Entry]:
    # CamVid's label_colors.txt: "R G B Name" per line; the id is the line number from 0.
    entries: list[Entry] = []
    lines = [line.split() for line in text.splitlines()]
    for index, fields in enumerate(f for f in lines if f and not f[0].startswith("#")):
        if len(fields) < 3:
            raise ValueError(f"entry {index + 1} is not 'R G B name'")
        entries.append((_pack(int(v) for v in fields[:3]), index, " ".join(fields[3:]) or None))
    return entries
