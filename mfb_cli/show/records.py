"""Results as plain records, the source of every output format."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..weigh.classes import ClassStats
    from ..weigh.schemes import ClassWeights


def names_for(names: dict[int, str], num_classes: int) -> list[str]:
    """One name per class id; ids without a name are called by their number."""
    return [names.get(c, str(c)) for c in range(num_classes)]


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
        "warnings": list(result.warnings),
        "definitions": dict(result.definitions),
        "mfb_version": __version__,
    }
    if source is not None:
        record["source"] = dict(source)
    return record


def rounded(record: Record, decimals: int | None) -> Record:
    """The record with weights and frequencies rounded to ``decimals`` (None: unchanged)."""
    if decimals is None:
        return record

    def round_all(values: list[float | None]) -> list[float | None]:
        return [None if v is None else round(v, decimals) for v in values]

    return {
        **record,
        "weights": round_all(record["weights"]),
        "frequencies": round_all(record["frequencies"]),
        "decimals": decimals,
    }


def display_names(record: Record) -> list[str]:
    # Names come from a user's file: one line each, so they cannot break out of a comment.
    names = record.get("names") or [str(c) for c in range(record["num_classes"])]
    printable = ("".join(ch if ch.isprintable() else " " for ch in str(n)) for n in names)
    return [" ".join(name.split()) for name in printable]
