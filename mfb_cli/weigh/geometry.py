"""Per-class geometry under the void / ignore choices, and the suggestions drawn from it.

A statistics file keeps the geometry per raw id, as it keeps the counts; here the class
rules apply: ignored values are left out (they are no class), void classes are kept but
marked and never drive a suggestion, and each class reads its own components. Every
number is exact or taken from exact bins by a stated rule:

* a quantile of the sizes (or extents) is the bin holding the ceil(q * n)-th smallest
  component, given as that bin's smallest and largest value;
* specks are components of fewer than SPECK_PIXELS pixels; a class's speck share is the
  share of its pixels that lie in specks (exact: the size bins keep their pixels);
* the rare classes are the RARE_SHARE rarest of the present non-void classes by pixels;
* DAFormer's min_pixels: the largest 2**k - 1 that leaves at least MIN_PIXELS_KEEP of the
  images of every rare class with more than min_pixels pixels of it (DAFormer draws an
  image for class c among those with more than min_pixels pixels of c);
* the crop size: along each axis, the largest median extent of the rare classes' components
  (the upper edge of its bin), so at least half of each rare class's components fit whole.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from ..count.geometry import extent_edges
from ..count.geometry_counts import AXES
from ..id_list import id_list

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._types import Int64Array
    from ..count.connectivity import Connectivity
    from ..count.geometry_counts import GeometryCounts
    from .classes import ClassStats

#: Components of fewer pixels than this are specks: one- to seven-pixel islands, the
#: signature of resizing, lossy compression or a careless brush (bins 1, 2-3 and 4-7).
SPECK_PIXELS = 8
_SPECK_BINS = SPECK_PIXELS.bit_length() - 1  # size bins 0..2
#: The rare classes: this share of the present non-void classes (at least one), rarest
#: by pixels first (ties: the lower id).
RARE_SHARE = Fraction(1, 4)
#: min_pixels leaves at least this share of each rare class's images eligible.
MIN_PIXELS_KEEP = Fraction(9, 10)
#: DAFormer's own default (rcs_min_pixels in its configs), shown beside the suggestion.
DAFORMER_MIN_PIXELS = 3000

DEFINITIONS = {
    "components": "connected components of the class over all images",
    "components_per_image": "components / images containing the class",
    "max_components_per_image": "the most components of the class in one image",
    "size_bins": "size_bins[k]: components of 2**k to 2**(k+1)-1 pixels",
    "median_size": "[smallest, largest] size of the power-of-two bin holding the "
    "ceil(n/2)-th smallest component",
    "specks": f"components of fewer than {SPECK_PIXELS} pixels",
    "speck_share": "pixels in specks / pixels of the class",
    "boundary_share": "pixels of the class with a face neighbour (4 in 2D, 6 in 3D) of "
    "another value (void and ignored values included; the image border is none) / pixels "
    "of the class",
    "median_extent": "per axis, [smallest, largest] extent of the bin holding the "
    "ceil(n/2)-th smallest bounding-box extent (rows for height, columns for width, slices "
    "for depth: volumes only); exact below 16, bins of 1/8 of a power of two above",
    "rare": f"the {float(RARE_SHARE):.0%} of the present non-void classes with the fewest "
    "pixels (at least one; ties: the lower id)",
}


def bin_quantile(bins: Iterable[int], q: Fraction) -> int | None:
    """The bin holding the ceil(q * n)-th smallest of the n items counted in ``bins``."""
    counts = [int(n) for n in bins]
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    running = 0
    for index, count in enumerate(counts):
        running += count
        if running >= rank:
            return index
    raise AssertionError("unreachable: the ranks add up to the total")


def size_edges(index: int) -> tuple[int, int]:
    """The smallest and largest size in power-of-two bin ``index``."""
    return 1 << index, (2 << index) - 1


@dataclass(frozen=True)
class ClassShape:
    """The geometry of one class (or void id) of a dataset."""

    id: int
    kind: str  # "class" or "void"
    pixels: int
    images: int
    components: int
    max_components: int
    boundary: int
    size_bins: tuple[int, ...]
    size_pixels: tuple[int, ...]
    image_pixel_bins: tuple[int, ...]
    #: Per axis (AXES), the extent bins of the components (depth: volumes only).
    extent_bins: tuple[tuple[int, ...], ...]

    @property
    def components_per_image(self) -> float | None:
        return self.components / self.images if self.images else None

    @property
    def median_size(self) -> tuple[int, int] | None:
        index = bin_quantile(self.size_bins, Fraction(1, 2))
        return None if index is None else size_edges(index)

    @property
    def specks(self) -> int:
        return sum(self.size_bins[:_SPECK_BINS])

    @property
    def speck_pixels(self) -> int:
        return sum(self.size_pixels[:_SPECK_BINS])

    @property
    def speck_share(self) -> float | None:
        return self.speck_pixels / self.pixels if self.pixels else None

    @property
    def boundary_share(self) -> float | None:
        return self.boundary / self.pixels if self.pixels else None

    def median_extent(self, axis: int) -> tuple[int, int] | None:
        index = bin_quantile(self.extent_bins[axis], Fraction(1, 2))
        return None if index is None else extent_edges(index)

    def images_over(self, threshold: int) -> int:
        """Images with more than ``threshold`` = 2**k - 1 pixels of the class (exact)."""
        k = (threshold + 1).bit_length() - 1
        assert threshold == (1 << k) - 1, "thresholds are 2**k - 1: the bins' edges"
        return sum(self.image_pixel_bins[k:])


@dataclass(frozen=True)
class MinPixels:
    """DAFormer's min_pixels suggested for the dataset, and what it leaves per rare class."""

    value: int
    rule: str
    #: (class id, its images, those with more than ``value`` pixels of it), rare classes.
    eligible: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class CropSize:
    """The crop that holds the median component of every rare class whole, per axis."""

    size: tuple[int, ...]  # height, width (, depth)
    rule: str
    #: (class id, its median extents as (smallest, largest) per axis), rare classes.
    medians: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]


@dataclass(frozen=True)
class ClassGeometry:
    """The geometry of a dataset's classes (void ids marked, ignored values left out)."""

    connectivity: Connectivity
    volumes: int
    num_images: int
    classes: tuple[ClassShape, ...]
    rare: tuple[int, ...]
    min_pixels: MinPixels | None
    crop: CropSize | None

    @property
    def axes(self) -> tuple[str, ...]:
        """The axes whose extents were measured: depth only when there were volumes."""
        return AXES if self.volumes else AXES[:2]

    def shape_of(self, label: int) -> ClassShape | None:
        return self._by_id.get(label)

    @functools.cached_property
    def _by_id(self) -> dict[int, ClassShape]:
        # A lookup per row: a linear search took minutes for a 16-bit mask's 65,536 classes.
        return {one.id: one for one in self.classes}


def class_geometry(geometry: GeometryCounts, stats: ClassStats) -> ClassGeometry:
    """The geometry of the classes of ``stats`` (the same counts' class view)."""
    where = {label: i for i, label in enumerate(geometry.ids.tolist())}
    void = set(stats.void)
    shapes = []
    for label in range(stats.num_classes):
        row = where.get(label)
        shapes.append(
            _shape(
                geometry,
                row,
                label,
                "void" if label in void else "class",
                int(stats.pixels[label]),
                int(stats.images[label]),
            )
        )
    present = [s for s in shapes if s.kind == "class" and s.pixels > 0]
    count = max(1, math.ceil(RARE_SHARE * len(present))) if present else 0
    rare = sorted(present, key=lambda s: (s.pixels, s.id))[:count]
    axes = len(AXES) if geometry.volumes else 2
    return ClassGeometry(
        connectivity=geometry.connectivity,
        volumes=geometry.volumes,
        num_images=stats.num_images,
        classes=tuple(shapes),
        rare=tuple(s.id for s in rare),
        min_pixels=suggest_min_pixels(rare),
        crop=suggest_crop(rare, axes),
    )


def _shape(
    geometry: GeometryCounts, row: int | None, label: int, kind: str, pixels: int, images: int
) -> ClassShape:
    if row is None:
        return ClassShape(label, kind, pixels, images, 0, 0, 0, (), (), (), ((),) * len(AXES))

    def trimmed(values: Int64Array) -> tuple[int, ...]:
        used = np.flatnonzero(values)
        return tuple(values[: int(used[-1]) + 1 if used.size else 0].tolist())

    return ClassShape(
        id=label,
        kind=kind,
        pixels=pixels,
        images=images,
        components=int(geometry.components[row]),
        max_components=int(geometry.max_components[row]),
        boundary=int(geometry.boundary[row]),
        size_bins=trimmed(geometry.size_bins[row]),
        size_pixels=trimmed(geometry.size_pixels[row]),
        image_pixel_bins=trimmed(geometry.image_pixel_bins[row]),
        extent_bins=tuple(trimmed(geometry.extent_bins[axis, row]) for axis in range(len(AXES))),
    )


def suggest_min_pixels(rare: list[ClassShape]) -> MinPixels | None:
    """The largest 2**k - 1 leaving MIN_PIXELS_KEEP of each rare class's images eligible."""
    if not rare:
        return None
    best = None
    for shape in rare:
        allowed = math.floor((1 - MIN_PIXELS_KEEP) * shape.images)  # images it may lose
        k, below = 0, 0
        bins = shape.image_pixel_bins
        while k < len(bins) and below + bins[k] <= allowed:
            below += bins[k]
            k += 1
        best = k if best is None else min(best, k)
    assert best is not None
    value = (1 << best) - 1
    rule = (
        f"the largest 2**k - 1 that leaves at least {float(MIN_PIXELS_KEEP):.0%} of the images "
        f"of each rare class ({_ids(rare)}) with more than min_pixels pixels of it; DAFormer "
        f"draws an image for class c among those with more than min_pixels pixels of c "
        f"(its default: {DAFORMER_MIN_PIXELS})"
    )
    eligible = tuple((s.id, s.images, s.images_over(value)) for s in rare)
    return MinPixels(value, rule, eligible)


def suggest_crop(rare: list[ClassShape], axes: int) -> CropSize | None:
    """Per axis, the largest upper edge of the rare classes' median extent bins."""
    if not rare:
        return None
    medians = []
    for shape in rare:
        extents = tuple(shape.median_extent(axis) or (0, 0) for axis in range(axes))
        medians.append((shape.id, extents))
    size = tuple(max(extents[axis][1] for _, extents in medians) for axis in range(axes))
    names = " x ".join(AXES[:axes])
    rule = (
        f"{names}: per axis, the largest median bounding-box extent of the components of the "
        f"rare classes ({_ids(rare)}), as the upper edge of its bin, so that a crop this large "
        "holds at least half of each rare class's components whole along every axis"
    )
    return CropSize(size, rule, tuple(medians))


def _ids(shapes: list[ClassShape]) -> str:
    return id_list(s.id for s in shapes)
