"""ClassCounts, the mergeable counts of a set of images, and its accumulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MfbError, Param

if TYPE_CHECKING:
    from fractions import Fraction

    import numpy.typing as npt

    from .._types import Int64Array
    from .geometry_counts import GeometryCounts

#: Beyond this many distinct values a file is not a semantic label map (instance ids,
#: a continuous raster) and the co-occurrence table would no longer fit in memory.
MAX_DISTINCT_IDS = 4096

#: Totals past this would wrap in the int64 arrays ClassCounts keeps.
MAX_COUNT = (1 << 63) - 1


@dataclass(frozen=True, eq=False)
class ClassCounts:
    """Pixel, image and co-occurrence counts of a set of label images, keyed by label id.

    ``ids`` are the sorted distinct label values seen; the other arrays are aligned with them.
    Adding two ClassCounts gives the counts of the union of their images. ``warnings`` are
    what the scan found worth telling (files skipped, colour maps that could not apply);
    they travel with the counts into every result, and do not take part in equality.
    """

    ids: Int64Array
    pixels: Int64Array
    images: Int64Array
    cooc: Int64Array
    num_images: int
    warnings: tuple[str, ...] = field(default=(), compare=False)
    #: The components of each id (``--geometry``), or None when not measured.
    geometry: GeometryCounts | None = None
    #: None: pixels and cooc count pixels (voxels). A fraction: they are physical volumes,
    #: exact integers (Python ints in object arrays) in units of ``unit`` mm^3 (see
    #: count/physical.py); images and num_images still count images.
    unit: Fraction | None = None

    @classmethod
    def empty(cls) -> ClassCounts:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, np.zeros((0, 0), dtype=np.int64), 0)

    @classmethod
    def from_histogram(cls, ids: Int64Array, counts: Int64Array) -> ClassCounts:
        """The counts of one image whose present ids and pixel counts are given."""
        ids = np.asarray(ids, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        keep = counts > 0
        ids, counts = ids[keep], counts[keep]
        order = np.argsort(ids)
        ids, counts = ids[order], counts[order]
        cooc = np.broadcast_to(counts, (len(ids), len(ids))).copy()
        return cls(ids, counts, np.ones(len(ids), dtype=np.int64), cooc, 1)

    @property
    def total_pixels(self) -> int:
        return sum(self.pixels.tolist())  # exact: a numpy sum would wrap past 2**63

    def __add__(self, other: ClassCounts) -> ClassCounts:
        if self.unit is not None or other.unit is not None:
            from .physical import add_physical

            return add_physical(self, other)
        # Every count is at most the total pixels (or images): checking the two totals
        # keeps every sum below exact in int64, so a merge never wraps to a negative count.
        for mine, theirs, what in (
            (self.total_pixels, other.total_pixels, "pixels"),
            (self.num_images, other.num_images, "images"),
        ):
            if mine + theirs > MAX_COUNT:
                raise MfbError(
                    f"the counts add up to {mine + theirs} {what}, more than mfb counts "
                    f"exactly (2**63 - 1)"
                )
        ids = np.union1d(self.ids, other.ids).astype(np.int64)
        size = len(ids)
        if size > MAX_DISTINCT_IDS:  # the co-occurrence table is dense: size**2 counts
            raise MfbError(_too_many_ids(size))
        pixels = np.zeros(size, dtype=np.int64)
        images = np.zeros(size, dtype=np.int64)
        cooc = np.zeros((size, size), dtype=np.int64)
        for part in (self, other):
            where = np.searchsorted(ids, part.ids)
            pixels[where] += part.pixels
            images[where] += part.images
            cooc[np.ix_(where, where)] += part.cooc
        warnings = tuple(dict.fromkeys((*self.warnings, *other.warnings)))
        return ClassCounts(
            ids,
            pixels,
            images,
            cooc,
            self.num_images + other.num_images,
            warnings,
            added_geometry(self, other),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassCounts):
            return NotImplemented
        return (
            self.num_images == other.num_images
            and self.unit == other.unit
            and np.array_equal(self.ids, other.ids)
            and np.array_equal(self.pixels, other.pixels)
            and np.array_equal(self.images, other.images)
            and np.array_equal(self.cooc, other.cooc)
            and (
                self.geometry == other.geometry
                if self.geometry is not None and other.geometry is not None
                else self.geometry is other.geometry
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ClassCounts(ids={self.ids.tolist()}, pixels={self.pixels.tolist()}, "
            f"images={self.images.tolist()}, num_images={self.num_images})"
        )


def added_geometry(first: ClassCounts, second: ClassCounts) -> GeometryCounts | None:
    """The geometry of two counts added; counts of no image (an empty part) add nothing."""
    if first.num_images == 0 and first.geometry is None:
        return second.geometry
    if second.num_images == 0 and second.geometry is None:
        return first.geometry
    if first.geometry is None or second.geometry is None:
        if first.geometry is second.geometry:
            return None
        raise MfbError(
            "one part holds the geometry of its images (scanned with ",
            Param("geometry"),
            ") and the other does not; scan both with it, or neither",
        )
    return first.geometry + second.geometry


# Distinct sets of present ids summed separately before CountsAccumulator flushes them.
_MAX_GROUPS = 1024


@dataclass
class _Group:
    """Running sums of the images whose present ids are the same set."""

    where: npt.NDArray[np.intp]
    pixels: Int64Array
    images: int = 0


class CountsAccumulator:
    """Adds per-image histograms in place: O(present) per image, co-occurrence at flush time.

    Images with the same set of present ids are summed into one group; each group adds
    its summed counts to the rows of its ids (O(present^2)) only when groups are flushed.
    """

    def __init__(self) -> None:
        self._index: dict[int, int] = {}
        self._ids: list[int] = []
        self._pixels = np.zeros(16, dtype=np.int64)
        self._images = np.zeros(16, dtype=np.int64)
        self._cooc = np.zeros((16, 16), dtype=np.int64)
        self.num_images = 0
        self._groups: dict[bytes, _Group] = {}

    def add(self, ids: Int64Array, counts: Int64Array) -> None:
        """Add one image given its present ids and their (non-zero) pixel counts."""
        key = np.asarray(ids, dtype=np.int64).tobytes()
        group = self._groups.get(key)
        if group is None:
            if len(self._groups) >= _MAX_GROUPS:
                self._flush()
            group = self._groups[key] = _Group(self._slots_of(ids), np.zeros(len(ids), np.int64))
        group.pixels += counts
        group.images += 1
        self.num_images += 1

    def _slots_of(self, ids: Int64Array) -> npt.NDArray[np.intp]:
        index = self._index
        new = [int(i) for i in ids.tolist() if i not in index]
        if new:
            self._register(new)
        return np.fromiter((index[i] for i in ids.tolist()), dtype=np.intp, count=len(ids))

    def _flush(self) -> None:
        for group in self._groups.values():
            where = group.where
            self._pixels[where] += group.pixels
            self._images[where] += group.images
            self._cooc[np.ix_(where, where)] += group.pixels
        self._groups.clear()

    def _register(self, new: list[int]) -> None:
        if len(self._ids) + len(new) > MAX_DISTINCT_IDS:
            raise MfbError(_too_many_ids())
        for value in new:
            self._index[value] = len(self._ids)
            self._ids.append(value)
        capacity = len(self._pixels)
        if len(self._ids) > capacity:
            grown = max(2 * capacity, len(self._ids))
            self._pixels = np.resize(self._pixels, grown)
            self._pixels[capacity:] = 0
            self._images = np.resize(self._images, grown)
            self._images[capacity:] = 0
            cooc = np.zeros((grown, grown), dtype=np.int64)
            cooc[:capacity, :capacity] = self._cooc
            self._cooc = cooc

    def result(self) -> ClassCounts:
        """The accumulated counts with ids sorted."""
        self._flush()
        size = len(self._ids)
        order = np.argsort(np.asarray(self._ids, dtype=np.int64), kind="stable")
        return ClassCounts(
            ids=np.asarray(self._ids, dtype=np.int64)[order],
            pixels=self._pixels[:size][order].copy(),
            images=self._images[:size][order].copy(),
            cooc=self._cooc[:size, :size][np.ix_(order, order)].copy(),
            num_images=self.num_images,
        )


def _too_many_ids(found: int | None = None) -> str:
    """The one wording of the distinct-value limit, for a scan and for added counts."""
    how_many = (
        f"more than {MAX_DISTINCT_IDS} distinct label values"
        if found is None
        else f"{found} distinct label values, more than {MAX_DISTINCT_IDS}"
    )
    return (
        f"{how_many}: these are not semantic class ids (instance ids, a continuous raster, "
        "or colours read as values?)"
    )
