"""Class-balanced image sampling from per-image counts, and its effect before training.

Three schemes, each giving every image a probability of being drawn:

* ``repeat-factor`` (LVIS; mmengine's ClassBalancedDataset, detectron2's
  RepeatFactorTrainingSampler): f(c) = share of images containing c,
  r(c) = max(1, sqrt(t / f(c))), r(I) = max over the classes in I (1 for an image with
  none). ``ceil`` repeats I ceil(r(I)) times per epoch (mmengine); ``stochastic`` repeats it
  floor(r) times plus once more with probability r - floor(r) (detectron2), r(I) on average.
* ``rare-class`` (DAFormer's RCS): P(c) = softmax((1 - f_c) / T) over the classes present,
  f_c = pixel share of c among labelled pixels; then an image uniformly among those with
  more than ``min_pixels`` pixels of c.
* ``weighted`` (for PyTorch's WeightedRandomSampler): w(I) = max over the classes in I of
  N / images(c), the inverse image frequency of the rarest class present; 0 for an image
  with no counted class (nothing in it to learn from).

Void and ignored ids never count as classes here: they neither raise a repeat factor nor
are drawn by RCS nor set a weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OptionError, Param, spelled
from ..id_list import id_list
from .priors import scan_warnings_of
from .sampling_schemes import ROUNDINGS, SAMPLING_SCHEMES

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from ..count.per_image import ImageCounts
    from .classes import ClassStats

    FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SamplingEffect:
    """Per class: the dataset's pixel and image shares beside those of one drawn sample.

    ``sampled_pixel_share[c]`` = E[pixels of c in a draw] / E[labelled pixels in a draw];
    ``sampled_image_share[c]`` = P(a drawn image contains c). ``draws`` is the length of an
    epoch (its expectation for stochastic rounding), ``distinct_images`` the expected
    number of different images an epoch shows.
    """

    classes: tuple[int, ...]
    pixel_share: tuple[float, ...]
    image_share: tuple[float, ...]
    sampled_pixel_share: tuple[float, ...]
    sampled_image_share: tuple[float, ...]
    draws: float
    distinct_images: float


@dataclass(frozen=True)
class Sampling:
    """A sampling scheme's result: per image its weight and probability per draw.

    ``weights`` are what the scheme defines (repeat factors after rounding, RCS image
    probabilities, WeightedRandomSampler weights); ``probabilities`` are the chance that
    one drawn sample is each image, summing to 1.
    """

    scheme: str
    parameters: dict[str, Any]
    images: tuple[str, ...]
    classes: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]
    probabilities: tuple[float, ...]
    effect: SamplingEffect
    #: rare-class: P(c) per class drawn, in DAFormer's order (fewest pixels first).
    class_probabilities: dict[int, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Table:
    """Per-image counts of the counted classes, flat (one entry per image and class)."""

    image: npt.NDArray[np.intp]
    cls: npt.NDArray[np.intp]
    pixels: npt.NDArray[np.int64]
    num_images: int
    num_classes: int


@dataclass(frozen=True)
class _Weights:
    """Each image's weight as an integer over one common denominator: weight = units / scale.

    Exact, whatever the scheme (ratios of counts, or the floats a square root or softmax
    gave, which are exact binary fractions), so that the probabilities and the effect are
    each rounded to a float once.
    """

    units: list[int]
    scale: int

    @classmethod
    def of(cls, values: Sequence[Fraction]) -> _Weights:
        scale = math.lcm(*(v.denominator for v in values)) if values else 1
        return cls([v.numerator * (scale // v.denominator) for v in values], scale)

    def floats(self) -> list[float]:
        return [u / self.scale for u in self.units]  # int / int: correctly rounded

    def probabilities(self) -> list[float]:
        total = sum(self.units)
        return [u / total if total else 0.0 for u in self.units]


def _table(images: Sequence[ImageCounts], stats: ClassStats) -> _Table:
    counted = np.ones(stats.num_classes, dtype=bool)
    counted[list(stats.void)] = False
    image_of: list[int] = []
    class_of: list[int] = []
    pixels: list[int] = []
    for index, one in enumerate(images):
        for label, n in zip(one.ids, one.pixels, strict=True):
            # Ignored values lie outside 0..K-1 (class_stats refuses any other id there).
            if 0 <= label < stats.num_classes and counted[label]:
                image_of.append(index)
                class_of.append(label)
                pixels.append(n)
    return _Table(
        np.asarray(image_of, dtype=np.intp),
        np.asarray(class_of, dtype=np.intp),
        np.asarray(pixels, dtype=np.int64),
        len(images),
        stats.num_classes,
    )


def image_classes(images: Sequence[ImageCounts], stats: ClassStats) -> tuple[tuple[int, ...], ...]:
    """Per image, the counted classes it contains (void and ignored ids left out)."""
    void = set(stats.void)
    return tuple(
        tuple(i for i in one.ids if 0 <= i < stats.num_classes and i not in void) for one in images
    )


def _repeat_factor(
    table: _Table, threshold: float, rounding: str
) -> tuple[_Weights, Fraction, list[str]]:
    if not threshold > 0 or not math.isfinite(threshold):
        raise OptionError(Param("threshold", threshold), ": must be a finite number > 0")
    if rounding not in ROUNDINGS:
        raise OptionError(f"rounding {rounding!r}: choose {' or '.join(ROUNDINGS)}")
    images_with = np.bincount(table.cls, minlength=table.num_classes).astype(np.float64)
    frequency = images_with / table.num_images
    with np.errstate(divide="ignore", over="ignore"):
        ratio = np.sqrt(threshold / np.maximum(frequency, 1e-300))
        if not np.isfinite(ratio[images_with > 0]).all():  # a huge t: sqrt before dividing
            ratio = np.sqrt(threshold) / np.sqrt(np.maximum(frequency, 1e-300))
        per_class = np.where(images_with > 0, np.maximum(1.0, ratio), 1)
    factors = np.ones(table.num_images, dtype=np.float64)
    np.maximum.at(factors, table.image, per_class[table.cls])
    repeats = np.ceil(factors) if rounding == "ceil" else factors
    exact = [Fraction(r) for r in repeats.tolist()]  # a float is an exact binary fraction
    return _Weights.of(exact), sum(exact, Fraction(0)), []


def _rare_class(
    table: _Table, temperature: float, min_pixels: int
) -> tuple[_Weights, dict[int, float], list[str]]:
    if not temperature > 0 or not math.isfinite(temperature):
        raise OptionError(Param("temperature", temperature), ": must be a finite number > 0")
    if min_pixels < 0:
        raise OptionError(Param("min_pixels", min_pixels), ": must be >= 0")
    pixels = np.zeros(table.num_classes, dtype=np.int64)
    np.add.at(pixels, table.cls, table.pixels)
    present = np.flatnonzero(pixels > 0)
    if not len(present):  # every pixel void: lowering --min-pixels would not help
        raise OptionError("no image contains a counted class: nothing to sample")
    # DAFormer's order: classes by total pixels, fewest first (stable on ties: by id here).
    present = present[np.argsort(pixels[present], kind="stable")]
    share = pixels[present] / pixels.sum()
    eligible = table.pixels > min_pixels
    holders = np.bincount(table.cls[eligible], minlength=table.num_classes)
    warnings: list[str] = []
    empty = [int(c) for c in present if holders[c] == 0]
    if len(empty) == len(present):
        raise OptionError(
            "no image has more than ",
            Param("min_pixels", min_pixels),
            " pixels of any class; lower it",
        )
    if empty:
        warnings.append(
            spelled(
                f"rare-class: classes {id_list(empty)} have no image with more than ",
                Param("min_pixels", min_pixels),
                " pixels; they are left out and P(c) renormalised over the rest "
                "(DAFormer itself stops at an assert: lower min_pixels there)",
            )
        )
    keep = np.array([holders[c] > 0 for c in present])
    # The softmax over the classes kept, shifted by their own maximum: the sum stays > 0 even
    # when exp() of a left-out rarer class is the only one that would not underflow.
    with np.errstate(over="ignore"):
        logits = (1.0 - share[keep]) / temperature
        if not np.isfinite(logits).all():  # a tiny T: shift before dividing (same softmax)
            logits = ((1.0 - share[keep]) - (1.0 - share[keep]).max()) / temperature
    drawn = np.zeros(len(present), dtype=np.float64)
    drawn[keep] = np.exp(logits - logits.max())
    drawn /= drawn.sum()
    class_probability = dict(zip(present.tolist(), drawn.tolist(), strict=True))
    # An image's chance: P(c) / (images holding c) summed over its eligible classes, exactly.
    # In integers over one common denominator (summing fractions entry by entry is slow).
    per_class = _Weights.of(
        [
            Fraction(p) / int(holders[c]) if holders[c] else Fraction(0)
            for c, p in sorted(class_probability.items())
        ]
    )
    of_class = dict(zip(sorted(class_probability), per_class.units, strict=True))
    units = [0] * table.num_images
    for image, label in zip(
        table.image[eligible].tolist(), table.cls[eligible].tolist(), strict=True
    ):
        units[image] += of_class[label]
    return _Weights(units, per_class.scale), class_probability, warnings


def _weighted(table: _Table) -> tuple[_Weights, list[str]]:
    images_with = np.bincount(table.cls, minlength=table.num_classes)
    # w(I) = max over its classes of N / images(c) = N / (fewest images holding one of them).
    fewest = np.full(table.num_images, table.num_images + 1, dtype=np.int64)
    np.minimum.at(fewest, table.image, images_with[table.cls])
    exact = [
        Fraction(table.num_images, int(m)) if m <= table.num_images else Fraction(0)
        for m in fewest.tolist()
    ]
    if not any(exact):
        raise OptionError("no image contains a counted class: nothing to weight")
    warnings = []
    none = sum(1 for w in exact if not w)
    if none:
        warnings.append(
            f"weighted: {none} images contain no counted class (only void or ignored "
            "pixels) and get weight 0: they are never drawn"
        )
    return _Weights.of(exact), warnings


def sampling_effect(
    images: Sequence[ImageCounts],
    stats: ClassStats,
    probabilities: Sequence[float] | FloatArray,
    draws: float,
    replacement: bool = True,
) -> SamplingEffect:
    """Expected class shares of one draw under ``probabilities``, exactly from the counts.

    With ``replacement`` (independent draws) an epoch of ``draws`` samples shows
    sum_I 1 - (1 - p_I)^draws distinct images; without (repeat factors: every image at
    least once) it shows every image with p_I > 0. The probabilities are taken as the
    weights of the images (exactly, as the binary fractions they are) and normalised.
    """
    weights = _Weights.of([Fraction(float(p)) for p in probabilities])
    return _effect(_table(images, stats), weights, draws, replacement)


def _effect(table: _Table, weights: _Weights, draws: float, replacement: bool) -> SamplingEffect:
    """The effect in integers (image weights over their common denominator, pixel counts),
    each share rounded to a float once: a class in every image is drawn with chance 1.0."""
    size = table.num_classes
    units = weights.units
    pixels = [0] * size
    images_with = [0] * size
    drawn_pixels = [0] * size
    drawn_images = [0] * size
    for image, label, n in zip(
        table.image.tolist(), table.cls.tolist(), table.pixels.tolist(), strict=True
    ):
        pixels[label] += n
        images_with[label] += 1
        drawn_pixels[label] += units[image] * n
        drawn_images[label] += units[image]
    total, drawn_total, weight_total = sum(pixels), sum(drawn_pixels), sum(units)
    p = weights.probabilities()
    if replacement:
        with np.errstate(divide="ignore"):  # p = 1: log1p(-1) = -inf, seen surely: 1
            chances = np.asarray(p, dtype=np.float64)
            distinct = float(np.sum(-np.expm1(draws * np.log1p(-np.minimum(chances, 1.0)))))
    else:
        distinct = float(sum(1 for u in units if u))
    return SamplingEffect(
        classes=tuple(range(size)),
        pixel_share=tuple(n / total if total else 0.0 for n in pixels),
        image_share=tuple(k / table.num_images for k in images_with),
        sampled_pixel_share=tuple(n / drawn_total if drawn_total else 0.0 for n in drawn_pixels),
        sampled_image_share=tuple(u / weight_total if weight_total else 0.0 for u in drawn_images),
        draws=draws,
        distinct_images=distinct,
    )


def sample_images(
    images: Sequence[ImageCounts],
    stats: ClassStats,
    scheme: str,
    *,
    threshold: float = 0.1,
    rounding: str = "ceil",
    temperature: float = 0.01,
    min_pixels: int = 3000,
) -> Sampling:
    """Per-image sampling weights and probabilities under ``scheme``, with their effect.

    ``stats`` (from ``class_stats`` of the images' total counts) says which ids are
    classes: void and ignored ids are left out. Only the chosen scheme's parameters apply.
    """
    if scheme not in SAMPLING_SCHEMES:
        raise OptionError(
            f"unknown sampling scheme {scheme!r}; choose from {list(SAMPLING_SCHEMES)}"
        )
    if not images:
        raise OptionError("no images to sample from")
    table = _table(images, stats)
    classes: dict[int, float] = {}
    replacement = True
    draws = float(len(images))
    if scheme == "repeat-factor":
        weights, repeats, warnings = _repeat_factor(table, threshold, rounding)
        draws = float(repeats)
        parameters: dict[str, Any] = {"threshold": threshold, "rounding": rounding}
        replacement = False
    elif scheme == "rare-class":
        weights, classes, warnings = _rare_class(table, temperature, min_pixels)
        parameters = {"temperature": temperature, "min_pixels": min_pixels}
    else:
        weights, warnings = _weighted(table)
        parameters = {}
    probabilities = weights.probabilities()
    return Sampling(
        scheme=scheme,
        parameters=parameters,
        images=tuple(one.image for one in images),
        classes=image_classes(images, stats),
        # rare-class defines its weights as the probabilities themselves (normalised).
        weights=tuple(probabilities if scheme == "rare-class" else weights.floats()),
        probabilities=tuple(probabilities),
        effect=_effect(table, weights, draws, replacement),
        class_probabilities=classes,
        warnings=(*scan_warnings_of(stats), *warnings),
    )
