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
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OptionError, Param, spelled
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
    pixels: FloatArray
    num_images: int
    num_classes: int


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
        np.asarray(pixels, dtype=np.float64),
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
) -> tuple[FloatArray, FloatArray, float, list[str]]:
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
    return repeats, repeats / repeats.sum(), float(repeats.sum()), []


def _rare_class(
    table: _Table, temperature: float, min_pixels: int
) -> tuple[FloatArray, FloatArray, dict[int, float], list[str]]:
    if not temperature > 0 or not math.isfinite(temperature):
        raise OptionError(Param("temperature", temperature), ": must be a finite number > 0")
    if min_pixels < 0:
        raise OptionError(Param("min_pixels", min_pixels), ": must be >= 0")
    pixels = np.zeros(table.num_classes, dtype=np.float64)
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
                f"rare-class: classes {empty} have no image with more than ",
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
    class_probability = np.zeros(table.num_classes, dtype=np.float64)
    class_probability[present] = drawn
    per_entry = np.where(
        eligible, class_probability[table.cls] / np.maximum(holders[table.cls], 1), 0.0
    )
    probabilities = np.zeros(table.num_images, dtype=np.float64)
    np.add.at(probabilities, table.image[eligible], per_entry[eligible])
    classes = {int(c): float(class_probability[c]) for c in present}
    return probabilities, probabilities.copy(), classes, warnings


def _weighted(table: _Table) -> tuple[FloatArray, FloatArray, list[str]]:
    images_with = np.bincount(table.cls, minlength=table.num_classes).astype(np.float64)
    inverse = table.num_images / np.maximum(images_with, 1)
    weights = np.zeros(table.num_images, dtype=np.float64)
    np.maximum.at(weights, table.image, inverse[table.cls])
    if not weights.any():
        raise OptionError("no image contains a counted class: nothing to weight")
    warnings = []
    none = int((weights == 0).sum())
    if none:
        warnings.append(
            f"weighted: {none} images contain no counted class (only void or ignored "
            "pixels) and get weight 0: they are never drawn"
        )
    return weights, weights / weights.sum(), warnings


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
    least once) it shows every image with p_I > 0.
    """
    return _effect(_table(images, stats), np.asarray(probabilities, np.float64), draws, replacement)


def _effect(table: _Table, p: FloatArray, draws: float, replacement: bool) -> SamplingEffect:
    size = table.num_classes
    pixels = np.zeros(size, dtype=np.float64)
    np.add.at(pixels, table.cls, table.pixels)
    images_with = np.bincount(table.cls, minlength=size).astype(np.float64)
    drawn_pixels = np.zeros(size, dtype=np.float64)
    np.add.at(drawn_pixels, table.cls, p[table.image] * table.pixels)
    drawn_images = np.zeros(size, dtype=np.float64)
    np.add.at(drawn_images, table.cls, p[table.image])
    total, drawn_total = pixels.sum(), drawn_pixels.sum()
    if replacement:
        with np.errstate(divide="ignore"):  # p = 1: log1p(-1) = -inf, seen surely: 1
            distinct = float(np.sum(-np.expm1(draws * np.log1p(-np.minimum(p, 1.0)))))
    else:
        distinct = float(np.count_nonzero(p))
    return SamplingEffect(
        classes=tuple(range(size)),
        pixel_share=tuple((pixels / total if total else pixels).tolist()),
        image_share=tuple((images_with / table.num_images).tolist()),
        sampled_pixel_share=tuple((drawn_pixels / drawn_total if drawn_total else pixels).tolist()),
        sampled_image_share=tuple(drawn_images.tolist()),
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
        weights, p, draws, warnings = _repeat_factor(table, threshold, rounding)
        parameters: dict[str, Any] = {"threshold": threshold, "rounding": rounding}
        replacement = False
    elif scheme == "rare-class":
        weights, p, classes, warnings = _rare_class(table, temperature, min_pixels)
        parameters = {"temperature": temperature, "min_pixels": min_pixels}
    else:
        weights, p, warnings = _weighted(table)
        parameters = {}
    return Sampling(
        scheme=scheme,
        parameters=parameters,
        images=tuple(one.image for one in images),
        classes=image_classes(images, stats),
        weights=tuple(weights.tolist()),
        probabilities=tuple(p.tolist()),
        effect=_effect(table, p, draws, replacement),
        class_probabilities=classes,
        warnings=(*scan_warnings_of(stats), *warnings),
    )
