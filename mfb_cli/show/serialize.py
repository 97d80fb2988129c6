"""Records as JSON and YAML."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from .records import Record

# An indented array holding only numbers, null or booleans (no strings, no nesting). The
# newline after '[' cannot occur inside a JSON string, so string contents are never touched.
_SCALAR_ARRAY = re.compile(r"\[\n\s+([-+.\w\s,]*?)\n\s*\]")


def to_json(record: Record) -> str:
    """Indented JSON, arrays of numbers on one line, full float precision, final newline."""
    text = json.dumps(record, indent=2, allow_nan=False)
    return _SCALAR_ARRAY.sub(lambda m: "[" + re.sub(r"\s+", " ", m[1]) + "]", text) + "\n"


def to_yaml(record: Record) -> str:
    """Block-style YAML, keys in record order, floats at full precision."""
    import yaml  # imported here: only YAML output pays for it

    return str(yaml.safe_dump(record, sort_keys=False, default_flow_style=None, width=100))


#: Formats for any record (``mfb check`` and others): the record itself as data.
RECORD_FORMATS: dict[str, Callable[[Record], str]] = {"json": to_json, "yaml": to_yaml}
