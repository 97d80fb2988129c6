"""Results as plain records, the source of every output format."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .._version import __version__

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

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


def rounded(record: Record, decimals: int | None, exact_weights: Sequence[Fraction] = ()) -> Record:
    """The record with weights and frequencies rounded to ``decimals`` (None: unchanged).

    Rounded from the exact values, ties to even: a weight of 107/40 = 2.675 is 2.68 at two
    decimals, where rounding its float (2.67499999...) would give 2.67. ``exact_weights``
    are the weights as fractions (ClassWeights.exact); a frequency's fraction is its
    pixels over its presence pixels, both in the record.
    """
    if decimals is None:
        return record
    places = decimals

    def to(value: Fraction) -> float:
        return float(round(value, places))

    weights = record["weights"]
    if len(exact_weights) == len(weights):
        new_weights = [to(w) for w in exact_weights]
    else:
        new_weights = [to(Fraction(w)) for w in weights]
    frequencies = [
        None if f is None else to(_frequency(f, pixels, presence))
        for f, pixels, presence in zip(
            record["frequencies"], record["pixel_counts"], record["presence_pixels"], strict=True
        )
    ]
    return {**record, "weights": new_weights, "frequencies": frequencies, "decimals": decimals}


def _frequency(shown: float, pixels: int, presence: int) -> Fraction:
    """The frequency's exact value: pixels / presence, when that is what was shown."""
    if presence:
        exact = Fraction(pixels, presence)
        if float(exact) == shown:
            return exact
    return Fraction(shown)


def display_names(record: Record) -> list[str]:
    # Names come from a user's file: one line each, so they cannot break out of a comment.
    names = record.get("names") or [str(c) for c in range(record["num_classes"])]
    printable = ("".join(ch if ch.isprintable() else " " for ch in str(n)) for n in names)
    return [" ".join(name.split()) for name in printable]
