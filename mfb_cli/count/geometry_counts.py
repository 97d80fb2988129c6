"""GeometryCounts: the per-id geometry of a set of images, added exactly like the counts.

Every number is an integer count or a sum (components, boundary pixels, components per
size bin and their pixels, images per bin of their pixels of the id, components per
extent bin along each axis) or a maximum (the most components of an id in one image),
so the geometry of two shards added is exactly the geometry of one scan of both.
Like the counts, it is kept per raw id (after the colour map and the remap, before any
void/ignore choice); weigh/geometry.py applies the class rules when it is read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MfbError, Param
from .connectivity import Connectivity
from .geometry import size_bin

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .._types import Int64Array
    from .geometry import ImageGeometry

#: The axes of the extent bins: rows, columns, and slices of a volume (as stored).
AXES = ("height", "width", "depth")
#: Longest bin lists a record may hold: power-of-two bins of an int64 count, and extent
#: bins of an int64 extent (geometry.extent_bin); a longer list is not a scan's.
MAX_SIZE_BINS = 63
MAX_EXTENT_BINS = 8 * 61 + 16

DEFINITIONS = {
    "components": "connected components of the id, over all images (each image's "
    "components counted on their own: a component never spans two images)",
    "connectivity": "which neighbours join a component, for 2D images and for volumes",
    "max_components": "the most components of the id in one image",
    "boundary_pixels": "pixels of the id with a face neighbour (4 in 2D, 6 in 3D) of another "
    "value, whatever that value (void and ignored values included); the image border is no "
    "boundary",
    "size_bins": "size_bins[i][k]: components of ids[i] of 2**k to 2**(k+1)-1 pixels",
    "size_bin_pixels": "size_bin_pixels[i][k]: the pixels of those components",
    "image_pixel_bins": "image_pixel_bins[i][k]: images holding 2**k to 2**(k+1)-1 pixels "
    "of ids[i]",
    "extent_bins": "height/width/depth_bins[i][b]: components of ids[i] whose bounding box "
    "spans a number of rows / columns / slices in extent bin b: b itself below 16, then 8 "
    "bins per power of two (bin b >= 8 holds (8 + b % 8) * 2**(b // 8 - 1) up to the next "
    "bin's start - 1); depth only for volumes",
    "volumes": "images that are 3D volumes (the others are 2D)",
}


@dataclass(frozen=True, eq=False)
class GeometryCounts:
    """The geometry of a set of images per id (sorted ``ids``; arrays aligned with them).

    ``size_bins``, ``size_pixels`` and ``image_pixel_bins`` have one row per id and one
    column per power-of-two bin; ``extent_bins[a]`` one row per id and one column per
    extent bin along axis a (AXES). Trailing empty columns carry no meaning.
    """

    connectivity: Connectivity
    ids: Int64Array
    components: Int64Array
    max_components: Int64Array
    boundary: Int64Array
    size_bins: Int64Array
    size_pixels: Int64Array
    image_pixel_bins: Int64Array
    extent_bins: Int64Array
    volumes: int = 0

    @classmethod
    def empty(cls, connectivity: Connectivity) -> GeometryCounts:
        none = np.zeros(0, dtype=np.int64)
        table = np.zeros((0, 0), dtype=np.int64)
        extents = np.zeros((len(AXES), 0, 0), dtype=np.int64)
        return cls(connectivity, none, none, none, none, table, table, table, extents)

    def __add__(self, other: GeometryCounts) -> GeometryCounts:
        if self.connectivity != other.connectivity:
            raise MfbError(
                f"the geometry was measured with connectivity {_shown(self.connectivity)} and "
                f"{_shown(other.connectivity)}: rescan one with the other's ",
                Param("connectivity"),
            )
        ids = np.union1d(self.ids, other.ids).astype(np.int64)
        total = _Sums(ids)
        for part in (self, other):
            total.add(np.searchsorted(ids, part.ids), part)
        return total.result(self.connectivity, self.volumes + other.volumes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GeometryCounts):
            return NotImplemented
        return stats_geometry_record(self) == stats_geometry_record(other)

    __hash__ = None  # type: ignore[assignment]

    def aligned(self, ids: Int64Array) -> GeometryCounts:
        """The same geometry with a row for each of ``ids`` (a superset; zeros for the new)."""
        total = _Sums(np.asarray(ids, dtype=np.int64))
        total.add(np.searchsorted(total.ids, self.ids), self)
        return total.result(self.connectivity, self.volumes)


def _shown(connectivity: Connectivity) -> str:
    return f"{connectivity.plane} (2D) / {connectivity.volume} (3D)"


def _padded(table: Int64Array, columns: int) -> Int64Array:
    if table.shape[-1] >= columns:
        return table
    pad = [(0, 0)] * (table.ndim - 1) + [(0, columns - table.shape[-1])]
    return np.pad(table, pad)


class _Sums:
    """Running sums of geometries onto one sorted list of ids."""

    def __init__(self, ids: Int64Array) -> None:
        self.ids = ids
        size = len(ids)
        self.components = np.zeros(size, dtype=np.int64)
        self.max_components = np.zeros(size, dtype=np.int64)
        self.boundary = np.zeros(size, dtype=np.int64)
        self.size_bins = np.zeros((size, 0), dtype=np.int64)
        self.size_pixels = np.zeros((size, 0), dtype=np.int64)
        self.image_pixel_bins = np.zeros((size, 0), dtype=np.int64)
        self.extent_bins = np.zeros((len(AXES), size, 0), dtype=np.int64)

    def add(self, where: Int64Array, part: GeometryCounts) -> None:
        self.components[where] += part.components
        self.max_components[where] = np.maximum(self.max_components[where], part.max_components)
        self.boundary[where] += part.boundary
        for name in ("size_bins", "size_pixels", "image_pixel_bins", "extent_bins"):
            mine, theirs = getattr(self, name), getattr(part, name)
            columns = max(mine.shape[-1], theirs.shape[-1])
            mine, theirs = _padded(mine, columns), _padded(theirs, columns)
            mine[..., where, :] += theirs
            setattr(self, name, mine)

    def result(self, connectivity: Connectivity, volumes: int) -> GeometryCounts:
        return GeometryCounts(
            connectivity,
            self.ids,
            self.components,
            self.max_components,
            self.boundary,
            self.size_bins,
            self.size_pixels,
            self.image_pixel_bins,
            self.extent_bins,
            volumes,
        )


class GeometryAccumulator:
    """Adds the geometry of images one at a time, in place (O(ids present) per image).

    The sums are kept in tables with room for more ids and bins than seen so far, grown by
    doubling, so adding an image is a few in-place additions, whatever its bins.
    """

    def __init__(self, connectivity: Connectivity) -> None:
        self.connectivity = connectivity
        self._index: dict[int, int] = {}
        self._ids: list[int] = []
        self.volumes = 0
        rows, extents = 16, 64
        self.components = np.zeros(rows, dtype=np.int64)
        self.max_components = np.zeros(rows, dtype=np.int64)
        self.boundary = np.zeros(rows, dtype=np.int64)
        self.size_bins = np.zeros((rows, MAX_SIZE_BINS + 1), dtype=np.int64)
        self.size_pixels = np.zeros((rows, MAX_SIZE_BINS + 1), dtype=np.int64)
        self.image_pixel_bins = np.zeros((rows, MAX_SIZE_BINS + 1), dtype=np.int64)
        self.extent_bins = np.zeros((len(AXES), rows, extents), dtype=np.int64)

    def add(self, image: ImageGeometry) -> None:
        """Add one image's geometry."""
        index = self._index
        rows = []
        for value in image.ids.tolist():
            row = index.get(value)
            if row is None:
                row = index[value] = len(self._ids)
                self._ids.append(value)
            rows.append(row)
        extent_width = image.extent_bins.shape[-1]
        if len(self._ids) > len(self.components) or extent_width > self.extent_bins.shape[-1]:
            self._grow(len(self._ids), extent_width)
        where = np.array(rows, dtype=np.intp)
        self.components[where] += image.components
        self.max_components[where] = np.maximum(self.max_components[where], image.components)
        self.boundary[where] += image.boundary
        width = image.size_bins.shape[-1]
        self.size_bins[where, :width] += image.size_bins
        self.size_pixels[where, :width] += image.size_pixels
        self.image_pixel_bins[where, size_bin(image.pixels)] += 1
        self.extent_bins[: image.ndim, where, :extent_width] += image.extent_bins
        self.volumes += image.ndim == 3

    def _grow(self, rows: int, extents: int) -> None:
        held = len(self.components)
        rows = held if rows <= held else max(rows, 2 * held)
        extents = max(extents, self.extent_bins.shape[-1])
        for name in ("components", "max_components", "boundary"):
            setattr(self, name, _enlarged(getattr(self, name), (rows,)))
        for name in ("size_bins", "size_pixels", "image_pixel_bins"):
            setattr(self, name, _enlarged(getattr(self, name), (rows, MAX_SIZE_BINS + 1)))
        self.extent_bins = _enlarged(self.extent_bins, (len(AXES), rows, extents))

    def result(self, ids: Int64Array) -> GeometryCounts:
        """The sums on ``ids`` (the counts' ids: the same images, so the same ids)."""
        if sorted(self._ids) != ids.tolist():
            raise MfbError("the geometry and the counts saw different ids (a bug in mfb)")
        size = len(self._ids)
        if size == 0:
            return GeometryCounts.empty(self.connectivity)
        order = np.argsort(np.asarray(self._ids, dtype=np.int64), kind="stable")
        return GeometryCounts(
            self.connectivity,
            np.asarray(ids, dtype=np.int64),
            self.components[:size][order],
            self.max_components[:size][order],
            self.boundary[:size][order],
            _trimmed(self.size_bins[:size][order]),
            _trimmed(self.size_pixels[:size][order]),
            _trimmed(self.image_pixel_bins[:size][order]),
            _trimmed(self.extent_bins[:, :size][:, order]),
            self.volumes,
        )


def _enlarged(table: Int64Array, shape: tuple[int, ...]) -> Int64Array:
    """``table`` copied into the corner of a zero table of ``shape`` (no smaller)."""
    grown = np.zeros(shape, dtype=np.int64)
    grown[tuple(slice(0, n) for n in table.shape)] = table
    return grown


def _trimmed(table: Int64Array) -> Int64Array:
    """The table without its trailing all-zero columns."""
    used = np.flatnonzero(table.reshape(-1, table.shape[-1]).any(axis=0))
    return table[..., : (int(used[-1]) + 1 if used.size else 0)]


def stats_geometry_record(geometry: GeometryCounts) -> dict[str, Any]:
    """The geometry as plain data for a statistics file (exact integers, trimmed bins)."""

    def rows(table: Int64Array) -> list[list[int]]:
        return [_row(line) for line in table.tolist()]

    record: dict[str, Any] = {
        "connectivity": geometry.connectivity.record(),
        "volumes": geometry.volumes,
        "components": geometry.components.tolist(),
        "max_components": geometry.max_components.tolist(),
        "boundary_pixels": geometry.boundary.tolist(),
        "size_bins": rows(geometry.size_bins),
        "size_bin_pixels": rows(geometry.size_pixels),
        "image_pixel_bins": rows(geometry.image_pixel_bins),
    }
    for axis, name in enumerate(AXES):
        record[f"{name}_bins"] = rows(geometry.extent_bins[axis])
    record["definitions"] = dict(DEFINITIONS)
    return record


def _row(values: list[int]) -> list[int]:
    end = len(values)
    while end and values[end - 1] == 0:
        end -= 1
    return values[:end]


class GeometryRecordError(Exception):
    """A problem in a statistics file's geometry; the loader prefixes the file name."""


def geometry_from_record(
    data: Any, ids: Sequence[int], pixels: Sequence[int], images: Sequence[int], num_images: int
) -> GeometryCounts:
    """Validate a statistics file's ``geometry`` against its counts, or raise
    GeometryRecordError: every sum a scan guarantees is checked, so a hand-edited file is
    refused instead of giving wrong suggestions later."""
    if not isinstance(data, dict):
        raise GeometryRecordError("'geometry' must be an object")
    connectivity = _connectivity(data.get("connectivity"))
    volumes = _integer(data, "volumes")
    if volumes > num_images:
        raise GeometryRecordError(f"'volumes' {volumes} is more than the {num_images} images")
    size = len(ids)
    components = _vector(data, "components", size)
    max_components = _vector(data, "max_components", size)
    boundary = _vector(data, "boundary_pixels", size)
    size_bins = _table(data, "size_bins", size, MAX_SIZE_BINS)
    size_pixels = _table(data, "size_bin_pixels", size, MAX_SIZE_BINS)
    image_bins = _table(data, "image_pixel_bins", size, MAX_SIZE_BINS)
    extents = [_table(data, f"{name}_bins", size, MAX_EXTENT_BINS) for name in AXES]
    for i, label in enumerate(ids):
        _check_id(
            label,
            pixels[i],
            images[i],
            components[i],
            max_components[i],
            boundary[i],
            size_bins[i],
            size_pixels[i],
            image_bins[i],
            [axis[i] for axis in extents],
        )
    if volumes == 0 and any(row for row in extents[2]):
        raise GeometryRecordError("'depth_bins' hold components, but 'volumes' is 0")
    return GeometryCounts(
        connectivity,
        np.asarray(ids, dtype=np.int64).reshape(-1),
        np.asarray(components, dtype=np.int64).reshape(-1),
        np.asarray(max_components, dtype=np.int64).reshape(-1),
        np.asarray(boundary, dtype=np.int64).reshape(-1),
        _dense(size_bins),
        _dense(size_pixels),
        _dense(image_bins),
        np.stack(
            [_dense(axis, max(map(len, itertools.chain(*extents)), default=0)) for axis in extents]
        ),
        volumes,
    )


def _check_id(
    label: int,
    pixels: int,
    images: int,
    components: int,
    most: int,
    boundary: int,
    bins: list[int],
    bin_pixels: list[int],
    image_bins: list[int],
    extents: list[list[int]],
) -> None:
    def fail(problem: str) -> GeometryRecordError:
        return GeometryRecordError(f"geometry of id {label}: {problem}")

    # The counts' own checks ensure 1 <= images <= pixels.
    if components < images:
        raise fail(f"{components} components in {images} images holding it (one at least each)")
    if not 1 <= most <= components or most * images < components:
        raise fail(
            f"'max_components' {most} does not fit {components} components in {images} images"
        )
    if boundary > pixels:
        raise fail(f"{boundary} boundary pixels of {pixels} pixels")
    if sum(bins) != components:
        raise fail(f"'size_bins' add up to {sum(bins)}, not its {components} components")
    if sum(bin_pixels) != pixels:
        raise fail(f"'size_bin_pixels' add up to {sum(bin_pixels)}, not its {pixels} pixels")
    for k, (count, held) in enumerate(itertools.zip_longest(bins, bin_pixels, fillvalue=0)):
        if not count << k <= held <= count * ((2 << k) - 1):
            raise fail(f"{held} pixels in {count} components of 2**{k} to 2**{k + 1}-1 pixels")
    if sum(image_bins) != images:
        raise fail(f"'image_pixel_bins' add up to {sum(image_bins)}, not its {images} images")
    for name, row in zip(AXES, extents, strict=True):
        total = sum(row)
        if total != components and not (name == "depth" and total <= components):
            raise fail(f"'{name}_bins' add up to {total}, not its {components} components")


def _connectivity(value: Any) -> Connectivity:
    if (
        isinstance(value, dict)
        and set(value) == {"2d", "3d"}
        and value["2d"] in (4, 8)
        and value["3d"] in (6, 18, 26)
        and not any(isinstance(v, bool) for v in value.values())
    ):
        return Connectivity(value["2d"], value["3d"])
    raise GeometryRecordError('\'connectivity\' must be {"2d": 4 or 8, "3d": 6, 18 or 26}')


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 63


def _integer(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not _is_count(value):
        raise GeometryRecordError(f"'{key}' must be a count (an integer from 0 to 2**63 - 1)")
    assert isinstance(value, int)
    return value


def _vector(data: Mapping[str, Any], key: str, size: int) -> list[int]:
    values = data.get(key)
    if not isinstance(values, list) or not all(_is_count(v) for v in values):
        raise GeometryRecordError(f"'{key}' must be a list of counts (0 to 2**63 - 1)")
    if len(values) != size:
        raise GeometryRecordError(f"'{key}' has {len(values)} entries for {size} ids")
    return list(values)


def _table(data: Mapping[str, Any], key: str, size: int, longest: int) -> list[list[int]]:
    rows = data.get(key)
    if not isinstance(rows, list) or len(rows) != size:
        raise GeometryRecordError(f"'{key}' must hold one list per id ({size})")
    for row in rows:
        if not isinstance(row, list) or not all(_is_count(v) for v in row):
            raise GeometryRecordError(f"'{key}' must hold lists of counts (0 to 2**63 - 1)")
        if len(row) > longest:
            raise GeometryRecordError(f"'{key}' has a list of {len(row)} bins, more than {longest}")
    return [list(row) for row in rows]


def _dense(rows: list[list[int]], columns: int | None = None) -> Int64Array:
    width = max(map(len, rows), default=0) if columns is None else columns
    table = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table
