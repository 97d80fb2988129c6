"""The one-call weights: scheme, then normalisation, then clipping."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING

from ..errors import MfbError, OptionError, Param
from .schemes import (
    SCHEMES,
    ClassWeights,
    Normalization,
    exact_median,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .classes import ClassStats


def _pixel_weighted_mean(values: Sequence[Fraction], shares: Sequence[Fraction]) -> Fraction:
    # The scale a pixel-averaged loss gives the weights: sum over pixels of w[y] / pixels.
    return sum((w * share for w, share in zip(values, shares, strict=True)), Fraction(0))


#: What each --normalize choice divided by, for the output's definitions.
_NORMALIZE_DEFINITIONS = {
    "mean": "counted weights divided by their mean (mean weight 1)",
    "sum": "counted weights divided by their sum (sum 1)",
    "median": "counted weights divided by their median (median weight 1)",
    "pixels": (
        "counted weights divided by sum_c (n_c / N) w_c, their pixel-weighted mean, so a loss "
        "averaged over the counted pixels keeps its unweighted scale"
    ),
}

#: --normalize choices: the statistic of the counted weights that becomes 1 (none: keep).
#: mean / sum / median look at the weights alone; pixels weighs each by its class's pixel
#: share, so a loss averaged over the counted pixels keeps its unweighted scale.
NORMALIZATIONS: dict[str, Normalization | None] = {
    "none": None,
    "mean": lambda values, shares: sum(values, Fraction(0)) / len(values),
    "sum": lambda values, shares: sum(values, Fraction(0)),
    "median": lambda values, shares: exact_median(list(values)),
    "pixels": _pixel_weighted_mean,
}


def _exact(result: ClassWeights) -> tuple[Fraction, ...]:
    return result.exact or tuple(Fraction(w) for w in result.weights)


def _with_weights(
    result: ClassWeights, exact: tuple[Fraction, ...], **extra: object
) -> ClassWeights:
    return replace(
        result,
        weights=tuple(float(w) for w in exact),
        exact=exact,
        parameters={**result.parameters, **extra},
    )


def normalize_weights(result: ClassWeights, how: str = "none") -> ClassWeights:
    """Divide the counted classes' weights by their mean, sum, median or pixel-weighted mean.

    Exact. ``pixels`` divides by sum_c (n_c / N) w_c, so the pixel-weighted mean weight is 1.
    Void and absent classes stay 0. ``none`` keeps the scheme's natural scale.
    """
    try:
        statistic = NORMALIZATIONS[how]
    except KeyError:
        choices = ", ".join(NORMALIZATIONS)
        raise OptionError(f"unknown normalization {how!r} (choose from {choices})") from None
    exact = _exact(result)
    if statistic is not None:
        if how == "pixels" and len(result.counted_pixels) != len(result.counted):
            raise MfbError(
                Param("normalize", how), " needs the counted classes' pixels (counted_pixels)"
            )
        total = sum(result.counted_pixels)
        shares = [Fraction(n, total) for n in result.counted_pixels]
        divisor = statistic([exact[c] for c in result.counted], shares)
        exact = tuple(w / divisor for w in exact)
        result = replace(
            result, definitions={**result.definitions, "normalize": _NORMALIZE_DEFINITIONS[how]}
        )
    return _with_weights(result, exact, normalize=how)


def clip_weights(result: ClassWeights, maximum: float | None = None) -> ClassWeights:
    """Cap every weight at ``maximum`` (None: no cap); the capped class ids are recorded."""
    exact = _exact(result)
    if maximum is None:
        return _with_weights(result, exact, clip=None, clipped=[])
    if not maximum > 0:
        raise OptionError(Param("clip", maximum), ": must be > 0")
    cap = Fraction(maximum)
    clipped = [c for c, w in enumerate(exact) if w > cap]
    return _with_weights(result, tuple(min(w, cap) for w in exact), clip=maximum, clipped=clipped)


#: The order of the post-steps, recorded in the output: clipping last, so no weight you
#: get exceeds --clip (the mean / sum / median may then fall below its target).
POST_STEPS = "scheme, then --normalize, then --clip"


def class_weights(
    stats: ClassStats,
    scheme: str = "median-frequency",
    *,
    normalize: str = "none",
    clip: float | None = None,
    **options: object,
) -> ClassWeights:
    """Weights of ``stats`` under the named scheme, then normalised, then clipped."""
    try:
        function = SCHEMES[scheme]
    except KeyError:
        raise MfbError(f"unknown scheme {scheme!r} (choose from {', '.join(SCHEMES)})") from None
    result = clip_weights(normalize_weights(function(stats, **options), normalize), clip)
    return replace(result, definitions={**result.definitions, "post_steps": POST_STEPS})
