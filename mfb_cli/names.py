"""Class names from a file: plain text (one per line, line number = id), JSON or YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import MfbError


def load_class_names(path: Path | str) -> dict[int, str]:
    """Map class id -> name.

    ``.txt`` (or any other suffix): one name per line, the line number (from 0) is the id;
    blank lines keep their id unnamed. ``.json`` / ``.yaml`` / ``.yml``: a list (index = id)
    or a mapping of id -> name.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise MfbError(f"{path}: cannot read class names ({error.strerror})") from error
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as error:
            raise MfbError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
        return _from_data(path, data)
    if suffix in (".yaml", ".yml"):
        import yaml  # only YAML names pay for the import

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise MfbError(f"{path}: not valid YAML ({error})") from None
        return _from_data(path, data)
    return {i: line.strip() for i, line in enumerate(text.splitlines()) if line.strip()}


def _from_data(path: Path, data: Any) -> dict[int, str]:
    if isinstance(data, dict) and "names" in data and len(data) == 1:
        data = data["names"]  # {"names": [...]}, as in some dataset configs
    if isinstance(data, list):
        return {i: str(name) for i, name in enumerate(data) if name is not None}
    if isinstance(data, dict):
        names: dict[int, str] = {}
        for key, name in data.items():
            try:
                names[int(key)] = str(name)
            except (TypeError, ValueError):
                raise MfbError(f"{path}: class id {key!r} is not an integer") from None
        return names
    raise MfbError(f"{path}: expected a list of names or a mapping of id -> name")


def names_for(names: dict[int, str], num_classes: int) -> list[str]:
    """One name per class id; ids without a name are called by their number."""
    return [names.get(c, str(c)) for c in range(num_classes)]
