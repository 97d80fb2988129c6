"""Class names from a file: plain text (one per line, line number = id), JSON or YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import MfbError
from ..base.urls import named
from ..sources.textfiles import INT64_MAX, as_int, check_name, parse_structured, read_text, short


def load_class_names(path: Path | str) -> dict[int, str]:
    """Map class id -> name.

    ``.txt`` (or any other suffix): one name per line, the line number (from 0) is the id;
    blank lines keep their id unnamed. ``.json`` / ``.yaml`` / ``.yml``: a list (index = id)
    or a mapping of id -> name.
    """
    text = read_text(path, "class names")
    path = named(path)
    suffix = path.suffix.lower()
    if suffix in (".json", ".yaml", ".yml"):
        try:
            return _from_data(parse_structured(text, suffix))
        except ValueError as error:
            raise MfbError(f"{path}: {error}") from None
    try:
        return {
            i: check_name(line.strip(), f"line {i + 1}")
            # Universal newlines only: splitlines() also breaks at form feeds and other
            # separators, which would shift every later id by one, silently.
            for i, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
            if line.strip()
        }
    except ValueError as error:
        raise MfbError(f"{path}: {error}") from None


def _from_data(data: Any) -> dict[int, str]:
    if isinstance(data, dict) and len(data) == 1:
        (key,) = data
        if key in ("names", "classes", "labels") and isinstance(data[key], (list, dict)):
            data = data[key]  # {"names": [...]}, as in some dataset configs
    if isinstance(data, list):
        return {i: _name(name, i) for i, name in enumerate(data) if name is not None}
    if isinstance(data, dict):
        names: dict[int, str] = {}
        for key, name in data.items():
            class_id = as_int(key, "class id", 0, INT64_MAX)
            if class_id in names:
                raise ValueError(f"class id {class_id} is named twice")
            names[class_id] = _name(name, class_id)
        return names
    raise ValueError(f"expected a list of names or a mapping of id -> name, not {short(data)}")


def _name(value: Any, class_id: int) -> str:
    # A name is text or a plain number; a list or mapping here is a misread layout.
    if isinstance(value, (list, dict)):
        raise ValueError(f"class {class_id}: {short(value)} is not a name")
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int)):
        # YAML reads on/off/yes/no as booleans and 1.10 as 1.1: the name would not be
        # what the file says ('True', '1.1').
        raise ValueError(
            f"class {class_id}: {short(value)} was read as a {type(value).__name__}, not "
            "text; quote the name in the file"
        )
    return check_name(str(value), f"class {class_id}")
