"""Class weights from per-class statistics: pure functions, one per scheme.

Every scheme gives void classes and classes absent from the data weight 0, and returns a
vector with one entry per class id 0..num_classes-1 (ignored values have no entry).
Arithmetic is exact (rational) until the final rounding to float, so a weight is the
correctly rounded value of its formula, whatever the order of the files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from .classes import ClassStats
from .errors import MfbError


@dataclass(frozen=True)
class ClassWeights:
    """A weight vector and what it was computed from."""

    scheme: str
    weights: tuple[float, ...]
    frequencies: tuple[float | None, ...]
    counted: tuple[int, ...]
    parameters: dict[str, object] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)


def _median(values: list[Fraction]) -> Fraction:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def median_frequency(stats: ClassStats, *, void_in_median: bool = False) -> ClassWeights:
    """Median frequency balancing (Eigen & Fergus, ICCV 2015; SegNet, ENet).

    ``freq(c) = pixels(c) / labelled pixels of the images containing c`` and
    ``weight(c) = median(freq) / freq(c)``, the median taken over the classes present.
    Void pixels are not labelled and void classes are not in the median, unless
    ``void_in_median`` (the SegNet / PyTorch-ENet convention). Void and absent classes get 0.
    """
    void = set(stats.void)
    presence = stats.presence_with_void if void_in_median else stats.presence
    in_median = [
        c
        for c in range(stats.num_classes)
        if stats.pixels[c] > 0 and (void_in_median or c not in void)
    ]
    if not any(c not in void for c in in_median):
        raise MfbError("no labelled pixels: every class is void, ignored or absent")
    frequency = {c: Fraction(int(stats.pixels[c]), int(presence[c])) for c in in_median}
    median = _median(list(frequency.values()))
    weights = tuple(
        float(median / frequency[c]) if c in frequency and c not in void else 0.0
        for c in range(stats.num_classes)
    )
    return ClassWeights(
        scheme="median-frequency",
        weights=weights,
        frequencies=tuple(
            float(frequency[c]) if c in frequency else None for c in range(stats.num_classes)
        ),
        counted=tuple(c for c in in_median if c not in void),
        parameters={"void_in_median": void_in_median, "median_frequency": float(median)},
        definitions={
            "frequency": (
                "freq(c) = pixels of c / labelled pixels of the images in which c is present"
            ),
            "weight": "weight(c) = median(freq) / freq(c), median over the classes present",
            "labelled": (
                "void and ignored pixels are not labelled"
                if not void_in_median
                else "ignored pixels are not labelled; void pixels are (--void-in-median)"
            ),
            "median": (
                "taken over present non-void classes"
                if not void_in_median
                else "taken over present classes including void (--void-in-median)"
            ),
            "void": "void classes keep their place in the vector with weight 0",
            "ignore": "ignored values are not classes: no entry in the vector",
            "absent": "classes with no pixel get weight 0 and frequency null",
        },
    )


Scheme = Callable[..., ClassWeights]

#: Weighting schemes by their command-line name; the single source of ``--scheme`` choices.
SCHEMES: dict[str, Scheme] = {"median-frequency": median_frequency}


def class_weights(
    stats: ClassStats, scheme: str = "median-frequency", **options: object
) -> ClassWeights:
    """Weights of ``stats`` under the named scheme."""
    try:
        function = SCHEMES[scheme]
    except KeyError:
        raise MfbError(f"unknown scheme {scheme!r} (choose from {', '.join(SCHEMES)})") from None
    return function(stats, **options)
