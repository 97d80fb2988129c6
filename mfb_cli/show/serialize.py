"""Records as JSON and YAML."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from .records import Record


def to_json(record: Record) -> str:
    """Indented JSON, arrays of numbers on one line, full float precision, final newline.

    The text of ``json.dumps(record, indent=2)`` with every array of numbers, booleans and
    nulls put on one line (``[1, 2, 3]``). Such arrays go through json's C encoder whole:
    its indenting encoder is pure Python, one step per number, and a statistics file's
    co-occurrence holds millions of them.
    """
    return _encode(record, "") + "\n"


_SCALARS = frozenset({int, float, bool, type(None)})
# What json writes for a number, a boolean or null (a string starts with a quote).
_SCALAR_TEXT = re.compile(r"[-+.\w]+")


def _encode(value: Any, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{_key(k)}: {_encode(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if _SCALARS.issuperset(map(type, value)):  # also []: "[]" either way
            return json.dumps(value, allow_nan=False)
        texts = [_encode(item, inner) for item in value]
        if all(_SCALAR_TEXT.fullmatch(text) for text in texts):  # e.g. an int subclass
            return "[" + ", ".join(texts) + "]"
        return "[\n" + ",\n".join(inner + text for text in texts) + "\n" + indent + "]"
    return json.dumps(value, allow_nan=False)


def _key(key: Any) -> str:
    """A key as json writes it: str as is; int, float, bool and None as their JSON text."""
    if not isinstance(key, str):
        if not (key is None or isinstance(key, (int, float))):
            raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
        key = json.dumps(key, allow_nan=False)
    return json.dumps(key)


def to_yaml(record: Record) -> str:
    """Block-style YAML, keys in record order, floats at full precision."""
    import yaml  # imported here: only YAML output pays for it

    return str(yaml.safe_dump(record, sort_keys=False, default_flow_style=None, width=100))


#: Formats for any record (``mfb check`` and others): the record itself as data.
RECORD_FORMATS: dict[str, Callable[[Record], str]] = {"json": to_json, "yaml": to_yaml}
