"""Colour maps: which class id each colour of a colour-coded mask stands for.

Colours are packed into one integer (0xRRGGBB) so a whole image, or its histogram, is
mapped with one sorted search; a table is loaded from JSON/YAML, CSV or a labels.txt, or
built from a dataset's published table by name.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import MfbError
from ..decode.colours import colour_name, pack_rgb
from ..sources.textfiles import as_int, check_name, parse_structured, short
from . import builtins, tables
from .lookup import LookupTable, read_table_file, table_from_pairs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

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
        builtins.COLORMAPS["cityscapes"],
        _cityscapes,
    ),
    "camvid32": (
        builtins.COLORMAPS["camvid32"],
        lambda: ((_pack(c), i, n) for i, (n, c) in enumerate(tables.CAMVID32)),
    ),
    "camvid11": (
        builtins.COLORMAPS["camvid11"],
        lambda: ((_pack(c), i, n) for i, (n, c) in enumerate(tables.CAMVID11)),
    ),
    "voc": (
        builtins.COLORMAPS["voc"],
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
    except (ValueError, KeyError, TypeError, csv.Error) as error:
        raise MfbError(f"{path}: not a colour table ({error})") from None
    return _build(str(path), entries, str(path), builtin=False)


def _build(name: str, entries: Iterable[Entry], where: str, builtin: bool) -> ColorMap:
    rows = list(entries)
    names: dict[int, str] = {}
    for _, class_id, class_name in rows:
        if class_name:
            try:
                check_name(class_name, f"class {class_id}")
            except ValueError as error:
                raise MfbError(f"{where}: {error}") from None
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


def _pack(colour: Iterable[object]) -> int:
    r, g, b = (as_int(v, "colour channel", 0, 255) for v in colour)
    return (r << 16) | (g << 8) | b


_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_colour(value: object) -> int:
    """'#rrggbb', 'r,g,b', 'r g b' or [r, g, b] as a packed code."""
    if isinstance(value, (list, tuple)) and len(value) == 3:
        return _pack(value)
    if isinstance(value, str):
        text = value.strip()
        match = _HEX.fullmatch(text)
        if match:
            return int(match.group(1), 16)
        parts = re.split(r"[,\s]+", text.strip("()[]").strip())
        if len(parts) == 3:
            return _pack(parts)
    raise ValueError(f"cannot read {short(value)} as a colour (#rrggbb, 'r,g,b' or [r, g, b])")


#: Keys a colour table may be nested under ({"classes": [...]}), and mmseg's METAINFO keys.
_WRAPPERS = ("classes", "labels", "categories", "colormap", "color_map", "colours", "colors")
_PALETTES = ("palette", "colors", "colours")
_NAME_LISTS = ("classes", "names", "labels")
#: Keys of one entry: its colour, its class name, its id.
_COLOUR_KEYS = ("color", "colour", "rgb", "palette")
_NAME_KEYS = ("name", "title", "label", "class", "class_name")
_ID_KEYS = ("id", "class_id", "index", "train_id", "trainId", "value")


def _unwrap(data: Any) -> Any:
    """The table inside {"classes": [...]}, or mmseg's {classes: [names], palette: [colours]}."""
    if not isinstance(data, dict):
        return data
    palette = next((data[k] for k in _PALETTES if isinstance(data.get(k), list)), None)
    names = next((data[k] for k in _NAME_LISTS if isinstance(data.get(k), list)), None)
    if palette is not None and names is not None and all(isinstance(n, str) for n in names):
        if len(names) != len(palette):
            raise ValueError(f"{len(names)} class names for {len(palette)} palette colours")
        return [{"name": n, "color": c} for n, c in zip(names, palette, strict=True)]
    nested = [data[k] for k in _WRAPPERS if isinstance(data.get(k), (list, dict))]
    if nested:
        return nested[0]
    if len(data) == 1:
        (only,) = data.values()
        # {"0": [128, 64, 128]}, {"road": [r, g, b]} and {"road": {"color": ...}} are
        # one-entry tables, not wrappers.
        entry = isinstance(only, dict) and any(k in only for k in _COLOUR_KEYS)
        if isinstance(only, (list, dict)) and only and not entry and not _is_colour(only):
            return only
    return data


def _structured_entries(data: Any) -> list[Entry]:
    # {"#804080": 0}, {"0": "#804080"}, {"road": "#804080"}, [{"id": 0, "name": ..., "color":
    # ...}], [[r, g, b]], and those nested under one key.
    data = _unwrap(data)
    entries: list[Entry] = []
    if isinstance(data, dict):
        id_keys = any(isinstance(k, int) or _is_id_text(k) for k in data)
        for index, (key, value) in enumerate(data.items()):
            where = f"entry {short(key)}"
            try:
                if isinstance(value, int) and not isinstance(value, bool):
                    entries.append((parse_colour(key), as_int(value, "id"), None))
                elif isinstance(value, dict):  # {"road": {"id": 0, "color": ...}}
                    entries.append(_entry({"name": str(key), **value}, index))
                elif isinstance(key, int) or _is_id_text(key):
                    entries.append((parse_colour(value), as_int(key, "id"), None))
                elif id_keys:  # {"0": ..., "2.5": ...}: not ids, yet not all names either
                    raise ValueError(f"id {short(key)} is not an integer")
                else:  # {"road": "#804080"}: a name per colour, the id in file order
                    entries.append((parse_colour(value), index, str(key)))
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
        return entries
    if isinstance(data, list):
        for index, item in enumerate(data):
            try:
                entries.append(_entry(item, index))
            except ValueError as error:
                raise ValueError(f"entry {index + 1}: {error}") from None
        return entries
    raise TypeError(
        "expected an object of colours, a list of entries with a colour, or those nested "
        f"under a key such as 'classes'; found {short(data)}"
    )


def _is_colour(value: object) -> bool:
    try:
        parse_colour(value)
    except ValueError:
        return False
    return True


def _is_id_text(key: object) -> bool:
    return isinstance(key, str) and key.strip().lstrip("+-").isdigit()


def _entry(item: Any, index: int) -> Entry:
    if not isinstance(item, dict):
        return parse_colour(item), index, None
    colour = next((item[k] for k in _COLOUR_KEYS if k in item), None)
    if colour is None and all(k in item for k in ("r", "g", "b")):
        colour = [item["r"], item["g"], item["b"]]
    if colour is None:
        raise ValueError(f"{short(item)} has no colour ('color', 'rgb' or r, g, b)")
    name = next((item[k] for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
    class_id = next((item[k] for k in _ID_KEYS if k in item), None)
    if class_id is None and isinstance(item.get("label"), int):
        class_id = item["label"]  # {"label": 3, "color": ...}: a numeric label is the id
    number = index if class_id is None else as_int(class_id, "id")
    return parse_colour(colour), number, name or None


_RED, _GREEN, _BLUE = ("r", "red"), ("g", "green"), ("b", "blue")


def _csv_entries(text: str) -> list[Entry]:
    rows = [row for row in csv.reader(text.splitlines()) if row and any(c.strip() for c in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    if any(name in header for name in (*_RED, *_GREEN, *_BLUE)):
        return _csv_with_header(header, rows[1:])
    # No header: id,r,g,b when the first cell is a number, name,r,g,b otherwise; r,g,b alone.
    entries: list[Entry] = []
    for index, row in enumerate(rows):
        cells = [cell.strip() for cell in row]
        try:
            if len(cells) == 3:
                entries.append((_pack(cells), index, None))
            elif len(cells) >= 4 and cells[0].lstrip("+-").isdigit():
                entries.append((_pack(cells[1:4]), as_int(cells[0], "id"), None))
            elif len(cells) >= 4:
                entries.append((_pack(cells[1:4]), index, cells[0] or None))
            else:
                raise ValueError(f"{len(cells)} column(s), not r,g,b / id,r,g,b / name,r,g,b")
        except ValueError as error:
            raise ValueError(f"row {index + 1}: {error}") from None
    return entries


def _csv_with_header(header: list[str], rows: list[list[str]]) -> list[Entry]:
    # class_dict.csv (name,r,g,b) or id,r,g,b: the id column if any, else the row number.
    def column(names: tuple[str, ...]) -> int:
        found = next((header.index(n) for n in names if n in header), None)
        if found is None:
            raise ValueError(f"the header {short(','.join(header))} has no '{names[0]}' column")
        return found

    red, green, blue = column(_RED), column(_GREEN), column(_BLUE)
    id_column = next((header.index(n) for n in ("id", "class_id", "label") if n in header), -1)
    name_column = next(
        (header.index(n) for n in ("name", "class", "class_name") if n in header), -1
    )
    needed = 1 + max(red, green, blue, id_column, name_column)
    entries: list[Entry] = []
    for index, row in enumerate(rows):
        try:
            if len(row) < needed:
                raise ValueError(f"{len(row)} column(s), the header has {len(header)}")
            colour = _pack((row[red], row[green], row[blue]))
            class_id = as_int(row[id_column], "id") if id_column >= 0 else index
            name = row[name_column].strip() or None if name_column >= 0 else None
        except ValueError as error:
            raise ValueError(f"row {index + 2}: {error}") from None
        entries.append((colour, class_id, name))
    return entries


def _text_entries(text: str) -> list[Entry]:
    # CamVid's label_colors.txt: "R G B Name" per line; the id is the line number from 0.
    entries: list[Entry] = []
    lines = [line.split() for line in text.splitlines()]
    for index, fields in enumerate(f for f in lines if f and not f[0].startswith("#")):
        if len(fields) < 3:
            raise ValueError(f"entry {index + 1} is not 'R G B name'")
        try:
            colour = _pack(fields[:3])
        except ValueError as error:
            raise ValueError(f"entry {index + 1}: {error}") from None
        entries.append((colour, index, " ".join(fields[3:]) or None))
    return entries
