"""Turn results into plain records, then into text (JSON, YAML) for machines."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from . import __version__
from .classes import ClassStats
from .names import names_for
from .weighting import ClassWeights

Record = dict[str, Any]


def weights_record(
    stats: ClassStats,
    result: ClassWeights,
    source: Mapping[str, Any] | None = None,
    names: Mapping[int, str] | None = None,
) -> Record:
    """Everything needed to use and to reproduce a weight vector, as plain data."""
    record: Record = {
        "weights": list(result.weights),
        "num_classes": stats.num_classes,
        **({"names": names_for(dict(names), stats.num_classes)} if names else {}),
        "scheme": result.scheme,
        "void": list(stats.void),
        "ignore": list(stats.ignore),
        **result.parameters,
        "absent": list(stats.absent),
        "images": stats.num_images,
        "total_pixels": stats.total_pixels,
        "labelled_pixels": stats.labelled_pixels,
        "void_pixels": stats.void_pixels,
        "ignored_pixels": {str(k): v for k, v in stats.ignored_pixels.items()},
        "pixel_counts": stats.pixels.tolist(),
        "image_counts": stats.images.tolist(),
        "presence_pixels": (
            stats.presence_with_void if result.parameters.get("void_in_median") else stats.presence
        ).tolist(),
        "frequencies": list(result.frequencies),
        "definitions": dict(result.definitions),
        "mfb_version": __version__,
    }
    if source is not None:
        record["source"] = dict(source)
    return record


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


#: Output formats by their command-line name; the single source of ``--format`` choices.
FORMATS: dict[str, Callable[[Record], str]] = {"json": to_json, "yaml": to_yaml}
