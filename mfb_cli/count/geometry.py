"""The geometry of one label image: connected components of every class, their sizes and
bounding boxes, and the pixels on class boundaries, in one pass over the image.

Two routes, with the same results (tests/count/test_plane_runs.py). A 2D mask with few
runs of equal values along its rows (under one per PIXELS_PER_RUN pixels: street and
city masks have one per 50 or more) is labelled from its runs (count/plane_runs.py): NumPy's
vectorised comparisons over the image, then work in proportion to the runs. Anything else
(volumes, and masks of noise or dithering, where runs are nearly pixels) goes to
connected-components-3d (``cc3d``), which labels every class of a 2D or 3D multilabel
array in one pass, in C, with 4/8 (2D) or 6/18/26 (3D) connectivity; sizes and bounding
boxes are then read from the runs along the image's last axis (a run lies in one
component; a component's first pixel in memory order starts a run). Either way no loop
runs per class or per component in Python.

Sizes are kept as exact counts in power-of-two bins (bin k holds sizes 2**k..2**(k+1)-1),
with the pixels of each bin; bounding-box extents in finer bins (EXTENT_BINS), so that
the statistics of shards add up exactly (count/geometry_counts.py).

Memory, one image at a time per job: by its runs, masks of a byte a pixel and about 200
bytes a run (at most one per PIXELS_PER_RUN pixels: 4 bytes a pixel on a street mask,
under 14 at worst); by cc3d, the component image it returns
(2 to 8 bytes a pixel) plus bands of about BAND_PIXELS, and for a mask of noise with a
component per pixel about 16 bytes a component. --max-pixels bounds all of it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MfbError, MissingExtraError, Param
from .connectivity import DEFAULT_CONNECTIVITY, GEOMETRY_EXTRA_HINT, Connectivity
from .kernels import histogram_of_array
from .plane_runs import Runs, plane_components, runs_of

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._types import Int64Array
    from ..read.labels.pixels import Partition


#: Images are looked at in bands of about this many pixels (rows of a 2D image, slices of
#: a volume), so the temporary masks and the runs (up to ~40 bytes each) stay small
#: whatever the image.
BAND_PIXELS = 1 << 18
#: Components whose sizes and boxes are binned at once (temporaries of ~80 bytes each).
COMPONENTS_AT_ONCE = 1 << 18
#: Extent bins: exact below 2 * EXTENT_STEPS, then EXTENT_STEPS bins per power of two
#: (each at most 1/EXTENT_STEPS of its lower edge wide: 12.5%).
EXTENT_STEPS = 8
_EXTENT_SHIFT = EXTENT_STEPS.bit_length() - 1  # 3


@dataclass(frozen=True, eq=False)
class ImageGeometry:
    """The components of each class of one image; arrays are aligned with ``ids`` (sorted).

    ``size_bins[i, k]``: components of ids[i] with 2**k..2**(k+1)-1 pixels, and
    ``size_pixels[i, k]`` their pixels; ``extent_bins[a, i, b]``: components of ids[i] whose
    bounding box spans a number of pixels along axis a (0: height, 1: width, 2: depth) in
    extent bin b (extent_bin). ``boundary[i]``: pixels of ids[i] with a face neighbour
    (4 in 2D, 6 in 3D) of another value; the image border is no boundary.
    """

    ids: Int64Array
    pixels: Int64Array
    components: Int64Array
    boundary: Int64Array
    size_bins: Int64Array
    size_pixels: Int64Array
    extent_bins: Int64Array
    ndim: int

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageGeometry):
            return NotImplemented
        return self.ndim == other.ndim and all(
            np.array_equal(getattr(self, name), getattr(other, name))
            for name in (
                "ids",
                "pixels",
                "components",
                "boundary",
                "size_bins",
                "size_pixels",
                "extent_bins",
            )
        )

    __hash__ = None  # type: ignore[assignment]

    def without(self, class_id: int) -> ImageGeometry:
        """The same geometry without one class (its tables' unused columns trimmed)."""
        kept = np.flatnonzero(self.ids != class_id)
        size_table = self.size_bins[kept]
        return ImageGeometry(
            ids=self.ids[kept],
            pixels=self.pixels[kept],
            components=self.components[kept],
            boundary=self.boundary[kept],
            size_bins=trimmed(size_table),
            size_pixels=trimmed(self.size_pixels[kept], size_table),
            extent_bins=trimmed(self.extent_bins[:, kept]),
            ndim=self.ndim,
        )


@functools.cache
def components_module() -> Any:
    """connected-components-3d, or a one-line error naming the extra that installs it."""
    try:
        import cc3d
    except ImportError:
        raise MissingExtraError(
            Param("geometry"), f" needs the 'geometry' extra: {GEOMETRY_EXTRA_HINT}"
        ) from None
    return cc3d


def size_bin(sizes: npt.NDArray[np.integer[Any]]) -> Int64Array:
    """The power-of-two bin of each size >= 1: floor(log2(size)), exact below 2**53."""
    exponents = np.frexp(sizes.astype(np.float64))[1]
    return np.asarray(exponents - 1, dtype=np.int64)


def extent_bin(extents: npt.NDArray[np.integer[Any]]) -> Int64Array:
    """The extent bin of each extent >= 1 (see extent_edges)."""
    wide = extents.astype(np.int64)
    shift = np.maximum(size_bin(wide) - _EXTENT_SHIFT, 0)
    return np.asarray(EXTENT_STEPS * shift + (wide >> shift), dtype=np.int64)


def extent_edges(index: int) -> tuple[int, int]:
    """The smallest and largest extent in extent bin ``index`` (exact below 16)."""
    if index < 2 * EXTENT_STEPS:
        return index, index
    shift = index // EXTENT_STEPS - 1
    mantissa = index % EXTENT_STEPS + EXTENT_STEPS
    return mantissa << shift, ((mantissa + 1) << shift) - 1


def geometry_of(
    labels: npt.NDArray[Any], connectivity: int | Connectivity = DEFAULT_CONNECTIVITY
) -> ImageGeometry:
    """The geometry of a 2D or 3D array of class ids (any integer or boolean type)."""
    from ..read.labels.pixels import partition_of

    labels = np.asarray(labels)
    if labels.dtype == np.bool_:
        labels = labels.view(np.uint8)
    if labels.dtype.kind not in "ui":
        raise MfbError(f"geometry needs integer class ids, not {labels.dtype}")
    ids, _ = histogram_of_array(labels)
    return partition_geometry(partition_of(labels, ids, ids), connectivity)


def partition_geometry(
    partition: Partition, connectivity: int | Connectivity = DEFAULT_CONNECTIVITY
) -> ImageGeometry:
    """The geometry of an image given as a partition into classes (labels/pixels.py)."""
    values = partition.values
    if values.ndim not in (2, 3) or values.size == 0:
        raise MfbError(f"geometry needs a 2D or 3D image, not an array of shape {values.shape}")
    connect = Connectivity.of(connectivity).for_ndim(values.ndim)
    runs = runs_of(values) if values.ndim == 2 else None
    if runs is not None:
        return plane_geometry(values, runs, partition.keys, partition.classes, connect)
    labelled, count = components_module().connected_components(
        values, connectivity=connect, return_N=True
    )
    tracker = tracked_components(values, labelled, int(count))
    step = max(1, BAND_PIXELS // (values.size // values.shape[0]))
    boundary = [
        edge_counts(values, top, min(top + step, values.shape[0]))
        for top in range(0, values.shape[0], step)
    ]
    return tracker.geometry(partition, boundary)


def tracked_components(
    values: npt.NDArray[Any], labels: npt.NDArray[Any], count: int
) -> RunComponents:
    """Key, size and corners of each of the ``count`` components of ``labels`` (label 1 at
    index 1), read from the runs of ``values`` in bands of whole rows (of about
    BAND_PIXELS, however large a slice is)."""
    tracker = RunComponents(count, values.shape, values.dtype)
    width = values.shape[-1]
    rows = values.reshape(-1, width)
    step = max(1, BAND_PIXELS // max(width, 1))
    flat_labels = labels.reshape(-1)
    for top in range(0, len(rows), step):
        bottom = min(top + step, len(rows))
        starts = run_starts(rows, top, bottom)
        tracker.add_runs(rows[top:bottom], starts, flat_labels, top * width)
    return tracker


def run_starts(values: npt.NDArray[Any], top: int, bottom: int) -> Int64Array:
    """Where the runs along the last axis of rows (or slices) top..bottom-1 start: flat
    indices within that band (a C-contiguous array)."""
    band = values[top:bottom]
    starts_here = np.empty(band.shape, dtype=bool)
    starts_here[..., :1] = True
    np.not_equal(band[..., 1:], band[..., :-1], out=starts_here[..., 1:])
    return np.flatnonzero(starts_here)


def edge_counts(values: npt.NDArray[Any], top: int, bottom: int) -> tuple[Int64Array, Int64Array]:
    """The keys and pixel counts of the pixels of rows (or slices) top..bottom-1 with a
    face neighbour of another value: one row of context each side where ``values`` has
    it (its first and last row are the image's border, which is no boundary)."""
    low, high = max(top - 1, 0), min(bottom + 1, values.shape[0])
    context = values[low:high]
    inside = slice(top - low, top - low + bottom - top)
    edge = np.empty(context.shape, dtype=bool)
    across = context[..., 1:] != context[..., :-1]
    edge[..., -1:] = False
    edge[..., :-1] = across
    edge[..., 1:] |= across
    for axis in range(context.ndim - 1):
        before = [slice(None)] * context.ndim
        after = [slice(None)] * context.ndim
        before[axis], after[axis] = slice(None, -1), slice(1, None)
        differs = context[tuple(before)] != context[tuple(after)]
        edge[tuple(before)] |= differs
        edge[tuple(after)] |= differs
    return _histogram_where(context[inside], edge[inside])


def plane_geometry(
    values: npt.NDArray[Any],
    runs: Runs,
    keys: Int64Array,
    classes: Int64Array,
    connectivity: int | Connectivity = DEFAULT_CONNECTIVITY,
) -> ImageGeometry:
    """The geometry of a 2D array from its runs (plane_runs.py), where the pixels holding
    ``keys[i]`` (sorted: every value present) are those of class ``classes[i]``."""
    connect = Connectivity.of(connectivity).for_ndim(2)
    plane = plane_components(values, runs, connect == 8)
    found = (plane.key, plane.size, plane.low, plane.high)
    return binned(keys, classes, values.shape, found, [_distinct_counts(plane.edge)])


def _distinct_counts(values: npt.NDArray[Any]) -> tuple[Int64Array, Int64Array]:
    """Distinct values of a 1D array of integers and how often each occurs."""
    if values.dtype.itemsize == 1:
        counts = np.bincount(values.view(np.uint8), minlength=256)
        present = np.flatnonzero(counts)
        return present.astype(values.dtype.type).astype(np.int64), counts[present]
    return histogram_of_array(values)


def _histogram_where(
    values: npt.NDArray[Any], mask: npt.NDArray[np.bool_]
) -> tuple[Int64Array, Int64Array]:
    """Distinct values and their counts among the pixels where ``mask`` is set."""
    width = values.shape[-1]
    if values.dtype == np.uint8:  # Pillow counts under a mask in C, with no product image
        from PIL import Image

        rows = values.size // width
        size = (width, rows)
        image = Image.frombuffer("L", size, np.ascontiguousarray(values), "raw", "L", 0, 1)
        bits = np.ascontiguousarray(mask).view(np.uint8)
        masked = Image.frombuffer("L", size, bits, "raw", "L", 0, 1)
        counts = np.asarray(image.histogram(mask=masked), dtype=np.int64)
        present = np.flatnonzero(counts)
        return present.astype(np.int64), counts[present]
    keys, counts = histogram_of_array(values * mask)  # keys are never 0: 0 is "unmasked"
    keep = keys != 0
    return keys[keep], counts[keep]


class RunComponents:
    """Per-component size, key and bounding box, gathered band by band from the runs."""

    def __init__(self, count: int, shape: tuple[int, ...], key: np.dtype[Any]) -> None:
        self.shape = shape
        self.count = count
        # Narrow types: a mask of noise has about one component a pixel.
        coordinate = np.uint16 if max(shape) < 1 << 16 else np.int64
        pixels = int(np.prod(shape, dtype=np.int64))
        self.size = np.zeros(count + 1, dtype=np.uint32 if pixels < 1 << 32 else np.int64)
        self.key = np.zeros(count + 1, dtype=key)
        self.low = np.full((len(shape), count + 1), np.iinfo(coordinate).max, dtype=coordinate)
        self.high = np.zeros((len(shape), count + 1), dtype=coordinate)

    def add_runs(
        self, band: npt.NDArray[Any], starts: Int64Array, labels: npt.NDArray[Any], offset: int
    ) -> None:
        """Add the runs of a band starting at ``starts`` (flat within the band, which begins
        at flat index ``offset`` of the image)."""
        width = self.shape[-1]
        rows = band.reshape(-1, width)
        lengths = np.diff(starts, append=rows.size)
        keys = rows.reshape(-1)[starts]
        starts += offset
        component = labels[starts].astype(np.intp)
        np.add.at(self.size, component, lengths)
        self.key[component] = keys
        row, first = np.divmod(starts, width)
        last = first + lengths - 1
        if len(self.shape) == 3:
            outer, inner = np.divmod(row, self.shape[1])
            spans = [(outer, outer), (inner, inner), (first, last)]
        else:
            spans = [(row, row), (first, last)]
        for axis, (low, high) in enumerate(spans):
            np.minimum.at(self.low[axis], component, low.astype(self.low.dtype))
            np.maximum.at(self.high[axis], component, high.astype(self.high.dtype))

    def geometry(
        self, partition: Partition, boundary: list[tuple[Int64Array, Int64Array]]
    ) -> ImageGeometry:
        """The image's geometry from the components gathered (numbered from 1)."""
        return binned(
            partition.keys,
            partition.classes,
            self.shape,
            (self.key[1:], self.size[1:], self.low[:, 1:], self.high[:, 1:]),
            boundary,
        )


def binned(
    keys: Int64Array,
    classes: Int64Array,
    shape: tuple[int, ...],
    found_components: tuple[npt.NDArray[Any], ...],
    boundary: list[tuple[Int64Array, Int64Array]],
) -> ImageGeometry:
    """Per key: components, pixels, size and extent bins, from the (key, size, low, high)
    of every component, taken COMPONENTS_AT_ONCE at a time (about 80 bytes each)."""
    key, size, low, high = found_components
    found, ndim = len(keys), len(shape)
    size_width = 64
    extent_width = int(extent_bin(np.array([max(shape)]))[0]) + 1
    components = np.zeros(found, dtype=np.int64)
    size_bins = np.zeros(found * size_width, dtype=np.int64)
    size_pixels = np.zeros(found * size_width, dtype=np.int64)
    extent_bins = np.zeros((ndim, found * extent_width), dtype=np.int64)
    for start in range(0, len(key), COMPONENTS_AT_ONCE):
        stop = min(start + COMPONENTS_AT_ONCE, len(key))
        where = np.searchsorted(keys, key[start:stop].astype(np.int64))
        sizes = size[start:stop].astype(np.int64)
        components += np.bincount(where, minlength=found)
        flat = where * size_width + size_bin(sizes)
        size_bins += np.bincount(flat, minlength=found * size_width)
        # Sums of integers below 2**53 in float64: exact.
        size_pixels += np.bincount(flat, sizes, found * size_width).astype(np.int64)
        for axis in range(ndim):
            span = high[axis, start:stop].astype(np.int64) - low[axis, start:stop]
            flat = where * extent_width + extent_bin(span + 1)
            extent_bins[axis] += np.bincount(flat, minlength=found * extent_width)
    on_boundary = np.zeros(found, dtype=np.int64)
    for band_keys, band_counts in boundary:
        on_boundary[np.searchsorted(keys, band_keys)] += band_counts  # keys distinct
    size_table = size_bins.reshape(found, size_width)
    pixel_table = size_pixels.reshape(found, size_width)
    order = np.argsort(classes, kind="stable")
    return ImageGeometry(
        ids=classes[order],
        pixels=pixel_table.sum(axis=1)[order],
        components=components[order],
        boundary=on_boundary[order],
        size_bins=trimmed(size_table)[order],
        size_pixels=trimmed(pixel_table, size_table)[order],
        extent_bins=trimmed(extent_bins.reshape(ndim, found, extent_width))[:, order],
        ndim=ndim,
    )


def trimmed(table: Int64Array, like: Int64Array | None = None) -> Int64Array:
    """``table`` without the trailing columns that are all zero (in ``like``, if given)."""
    used = np.flatnonzero((table if like is None else like).reshape(-1, table.shape[-1]).any(0))
    return table[..., : int(used[-1]) + 1 if used.size else 0]
