"""Class weights from per-class statistics: pure functions, one per scheme.

Every scheme gives void classes and classes absent from the data weight 0, and returns a
vector with one entry per class id 0..num_classes-1 (ignored values have no entry).
Arithmetic is exact (rational) until the final rounding to float wherever the formula
allows (median-frequency, inverse-frequency, uniform, and the --normalize / --clip
post-steps), so a weight is the correctly rounded value of its formula, whatever the order
of the files. Schemes whose formula needs a logarithm, a power or a square root
(inverse-sqrt, enet, effective-number) round the exact ratio to a float for that function
and round its result again: a few units in the last place, never more; each says so.

Notation: n_c labelled pixels of class c, N = sum of n_c over the counted classes (present
and not void), K = number of counted classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any, overload

from ..errors import MfbError, OptionError, Param, spelled

if TYPE_CHECKING:
    import numpy.typing as npt

    from .classes import ClassStats


@dataclass(frozen=True)
class ClassWeights(Sequence[float]):
    """A weight vector and what it was computed from.

    It is the sequence of its weights (``len``, indexing, iteration), so
    ``torch.tensor(result)`` is a float32 tensor and ``list(result)`` the Python floats;
    ``np.asarray(result)`` is float32 too, the dtype of a network's logits (pass
    ``dtype=np.float64`` or read ``weights`` for the full precision).
    """

    scheme: str
    weights: tuple[float, ...]
    frequencies: tuple[float | None, ...]
    counted: tuple[int, ...]
    parameters: dict[str, object] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    #: Problems worth telling a person (the CLI prints them on stderr; the library never does).
    warnings: tuple[str, ...] = ()
    #: The weights before rounding to float, so the post-steps stay exact.
    exact: tuple[Fraction, ...] = field(default=(), compare=False, repr=False)
    #: Labelled pixels of each counted class, in ``counted`` order (for --normalize pixels).
    counted_pixels: tuple[int, ...] = field(default=(), compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.weights)

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[float, ...]: ...

    def __getitem__(self, index: int | slice) -> float | tuple[float, ...]:
        return self.weights[index]

    def __iter__(self) -> Iterator[float]:
        return iter(self.weights)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        """``np.asarray(result)``: a new 1-D array, one weight per class id, float32 unless
        ``dtype`` says otherwise. The weights are Python floats, so an array of them is
        always a copy: ``copy=False`` raises ValueError, as NumPy 2's protocol asks."""
        import numpy as np  # only when asked: the CLI's --help must not import NumPy

        if copy is False:
            raise ValueError("ClassWeights holds Python floats: an array of them is a copy")
        return np.array(self.weights, dtype=np.float32 if dtype is None else dtype)


def exact_median(values: list[Fraction]) -> Fraction:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


_VOID_ABSENT_DEFINITIONS = {
    "void": "void classes keep their place in the vector with weight 0",
    "ignore": "ignored values are not classes: no entry in the vector",
    "absent": "classes with no pixel get weight 0 and frequency null",
}


def _counted(stats: ClassStats) -> tuple[list[int], int]:
    """The counted classes (present, not void) and N, their total pixels."""
    void = set(stats.void)
    counted = [c for c in range(stats.num_classes) if stats.pixels[c] > 0 and c not in void]
    if not counted:
        raise MfbError("no labelled pixels: every class is void, ignored or absent")
    return counted, sum(int(stats.pixels[c]) for c in counted)


#: The convention's parameter as results name it (``--void-in-median`` on the command line).
VOID_IN_MEDIAN = Param("void_in_median")


def median_frequency(stats: ClassStats, *, void_in_median: bool = False) -> ClassWeights:
    """Median frequency balancing (Eigen & Fergus, ICCV 2015; SegNet, ENet).

    ``freq(c) = pixels(c) / labelled pixels of the images containing c`` and
    ``weight(c) = median(freq) / freq(c)``, the median taken over the classes present.
    Void and ignored pixels are not labelled and void classes are not in the median, unless
    ``void_in_median`` (the SegNet / PyTorch-ENet convention): then void and ignored pixels
    count as labelled, and the frequencies of the void ids and ignored values present join
    the median (``--void 11``: PyTorch-ENet's 12 entries; ``--ignore 11``: SegNet's 11
    entries with ``ignore_label: 11``). Void and absent classes get 0.
    """
    void = set(stats.void)
    counted, _ = _counted(stats)  # raises when nothing is labelled
    presence = stats.presence_with_void if void_in_median else stats.presence
    in_median = [
        c
        for c in range(stats.num_classes)
        if stats.pixels[c] > 0 and (void_in_median or c not in void)
    ]
    frequency = {c: Fraction(int(stats.pixels[c]), int(presence[c])) for c in in_median}
    # Ignored values have no entry in the vector, but with void_in_median they are in the median.
    beside = [
        Fraction(n, stats.ignored_presence[i])
        for i, n in stats.ignored_pixels.items()
        if void_in_median and n > 0
    ]
    median = exact_median([*frequency.values(), *beside])
    exact = tuple(
        median / frequency[c] if c in frequency and c not in void else Fraction(0)
        for c in range(stats.num_classes)
    )
    return ClassWeights(
        scheme="median-frequency",
        weights=tuple(float(w) for w in exact),
        frequencies=tuple(
            float(frequency[c]) if c in frequency else None for c in range(stats.num_classes)
        ),
        counted=tuple(counted),
        counted_pixels=tuple(int(stats.pixels[c]) for c in counted),
        parameters={"void_in_median": void_in_median, "median_frequency": float(median)},
        warnings=stats.warnings,
        definitions={
            "frequency": (
                "freq(c) = pixels of c / labelled pixels of the images in which c is present"
            ),
            "weight": "weight(c) = median(freq) / freq(c), median over the classes present",
            "labelled": (
                "void and ignored pixels are not labelled"
                if not void_in_median
                else spelled("void and ignored pixels are labelled too (", VOID_IN_MEDIAN, ")")
            ),
            "median": (
                "taken over present non-void classes"
                if not void_in_median
                else spelled(
                    "taken over the present classes, void ids and ignored values (",
                    VOID_IN_MEDIAN,
                    ")",
                )
            ),
            **_VOID_ABSENT_DEFINITIONS,
            "length": stats.length_rule,
        },
        exact=exact,
    )


def _pixel_scheme(
    stats: ClassStats,
    scheme: str,
    weigh: Callable[[list[int], int], list[Fraction]],
    formula: str,
    parameters: dict[str, object] | None = None,
) -> ClassWeights:
    """A scheme computed from the counted classes' pixels alone; 0 for every other class.

    ``weigh(counts, N)`` gets n_c of the counted classes, in class order, and N.
    """
    counted, total = _counted(stats)
    counts = [int(stats.pixels[c]) for c in counted]
    weight = dict(zip(counted, weigh(counts, total), strict=True))
    exact = tuple(weight.get(c, Fraction(0)) for c in range(stats.num_classes))
    return ClassWeights(
        scheme=scheme,
        weights=tuple(float(w) for w in exact),
        frequencies=tuple(
            float(Fraction(int(stats.pixels[c]), total)) if c in weight else None
            for c in range(stats.num_classes)
        ),
        counted=tuple(counted),
        counted_pixels=tuple(counts),
        parameters={**(parameters or {}), "counted_classes": len(counted), "counted_pixels": total},
        warnings=stats.warnings,
        definitions={
            "frequency": "freq(c) = n_c / N, n_c pixels of c, N pixels of the counted classes",
            "counted": "classes with at least one pixel that are not void (K of them)",
            "weight": formula,
            **_VOID_ABSENT_DEFINITIONS,
            "length": stats.length_rule,
        },
        exact=exact,
    )


def inverse_frequency(stats: ClassStats) -> ClassWeights:
    """Inverse frequency N / (K n_c), sklearn's 'balanced' class_weight.

    ``w_c = N / (K * n_c)`` (King & Zeng 2001, as scikit-learn's ``compute_class_weight``):
    a class holding 1/K of the pixels weighs 1. Exact. Void and absent classes get 0.
    """
    return _pixel_scheme(
        stats,
        "inverse-frequency",
        lambda counts, total: [Fraction(total, len(counts) * n) for n in counts],
        "weight(c) = N / (K * n_c)",
    )


def inverse_sqrt(stats: ClassStats) -> ClassWeights:
    """Inverse square root of the frequency, sqrt(N / n_c).

    ``w_c = sqrt(N / n_c)``: a milder re-balancing than inverse frequency, usually followed by
    ``--normalize``. N / n_c is exact, rounded to a float for ``math.sqrt``, whose result is
    rounded again (two roundings).
    Void and absent classes get 0.
    """
    return _pixel_scheme(
        stats,
        "inverse-sqrt",
        lambda counts, total: [Fraction(math.sqrt(Fraction(total, n))) for n in counts],
        "weight(c) = sqrt(N / n_c)",
    )


def enet(stats: ClassStats, *, enet_c: float = 1.02) -> ClassWeights:
    """ENet weighting 1 / ln(c + n_c / N), c = --enet-c (Paszke et al. 2016).

    ``w_c = 1 / ln(c + n_c / N)``, so weights lie between 1 / ln(c + 1) and 1 / ln(c)
    (1.42 and 50.5 for c = 1.02). c + n_c / N - 1 is exact, rounded to a float for
    ``log1p``, whose result is rounded again (two roundings). Requires c > 1. Void and
    absent classes get 0: counting void as a class is what collapses every weight to the
    same value in copied scripts.
    """
    if not enet_c > 1:
        raise OptionError(
            Param("enet_c", enet_c), ": must be > 1 (weights are 1 / ln(c + n_c / N))"
        )
    offset = Fraction(enet_c) - 1
    return _pixel_scheme(
        stats,
        "enet",
        lambda counts, total: [
            1 / Fraction(math.log1p(offset + Fraction(n, total))) for n in counts
        ],
        "weight(c) = 1 / ln(enet_c + n_c / N)",
        {"enet_c": enet_c},
    )


#: beta**n_c below this for every class: each weight is within 0.1% of uniform.
_SATURATED = 1e-3


def effective_number(stats: ClassStats, *, beta: float = 0.9999) -> ClassWeights:
    """Effective number (1 - beta) / (1 - beta^n_c), summing to K (Cui et al. 2019).

    ``w_c = (1 - beta) / (1 - beta**n_c)``, then scaled so the weights of the counted classes
    sum to K. ``1 - beta**n_c`` is computed as ``-expm1(n_c * ln beta)`` (a float step; no
    underflow to a division by zero), the scaling exactly. Not invariant to the dataset size:
    with pixel counts in the millions any usual beta saturates (beta**n_c ~ 0) and the
    weights are nearly uniform; a warning (as soon as two classes of different counts are
    saturated) then proposes beta = 1 - 1 / (median count).
    Requires 0 <= beta < 1. Void and absent classes get 0.
    """
    if not 0 <= beta < 1:
        raise OptionError(Param("beta", beta), ": must be in [0, 1)")
    log_beta = math.log(beta) if beta > 0 else -math.inf

    def weigh(counts: list[int], total: int) -> list[Fraction]:
        raw = [Fraction((1 - beta) / -math.expm1(n * log_beta)) for n in counts]
        scale = len(counts) / sum(raw, Fraction(0))
        return [w * scale for w in raw]

    result = _pixel_scheme(
        stats,
        "effective-number",
        weigh,
        "weight(c) = (1 - beta) / (1 - beta^n_c), scaled so the counted weights sum to K",
        {"beta": beta},
    )
    counts = sorted(int(stats.pixels[c]) for c in result.counted)
    # Classes with beta**n_c < _SATURATED all get (1 - beta) within 0.1%: their counts no
    # longer matter. Worth a warning as soon as two such classes have different counts.
    saturated = [n for n in counts if n * -log_beta > -math.log(_SATURATED)]
    if len(set(saturated)) < 2:
        return result
    typical = int(exact_median([Fraction(n) for n in counts]))
    which = (
        "every class"
        if len(saturated) == len(counts)
        else f"{len(saturated)} of {len(counts)} classes (counts >= {saturated[0]})"
    )
    return replace(
        result,
        warnings=(
            *result.warnings,
            spelled(
                "effective-number: ",
                Param("beta", beta),
                f" gives beta^n_c < {_SATURATED:g} for {which}: their weights are within 0.1% "
                f"though their counts differ up to {saturated[-1] / saturated[0]:.3g}x; try ",
                Param("beta", f"{1 - 1 / typical:.{len(str(typical)) + 2}f}", literal=True),
                f" (1 - 1 / {typical}, the median count)",
            ),
        ),
    )


def uniform(stats: ClassStats) -> ClassWeights:
    """Uniform: 1 for every counted class, a baseline for comparisons.

    ``w_c = 1``. Void and absent classes get 0, so the vector still masks them out.
    """
    return _pixel_scheme(
        stats, "uniform", lambda counts, total: [Fraction(1)] * len(counts), "weight(c) = 1"
    )


Scheme = Callable[..., ClassWeights]

#: Weighting schemes by their command-line name; the single source of ``--scheme`` choices.
SCHEMES: dict[str, Scheme] = {
    "median-frequency": median_frequency,
    "inverse-frequency": inverse_frequency,
    "inverse-sqrt": inverse_sqrt,
    "enet": enet,
    "effective-number": effective_number,
    "uniform": uniform,
}


#: A --normalize statistic: from the counted classes' weights and pixel shares n_c / N (in
#: class order), the value the weights are divided by.
Normalization = Callable[[Sequence[Fraction], Sequence[Fraction]], Fraction]
