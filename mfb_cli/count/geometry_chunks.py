"""The geometry of a file read in chunks (a volume's slabs, a raster's bands of tiles), with
memory bounded by a chunk, whatever the file.

Each chunk is relabelled into classes with the file's whole histogram (labels/pixels.py:
a class has the same key in every chunk) and labelled by connected-components-3d. A
component that reaches the chunk's last slice stays open: it is joined to the components
of the next chunk's first slice that touch it (same key; across the face, the neighbours
the connectivity allows: the pixel opposite for 4/6, and its 4 face neighbours in the
slice for 18, all 8 for 8/26). A component that does not reach it is complete, and is
binned at once. So the open components are at most those of one slice. A pixel is on a
boundary by its neighbours on both sides, so each slice's boundary is counted once the
slice after it has been read.

The result equals the geometry of the whole array (tests/count/test_geometry_chunks.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MfbError
from .geometry import (
    BAND_PIXELS,
    COMPONENTS_AT_ONCE,
    ImageGeometry,
    RunComponents,
    binned,
    components_module,
    edge_counts,
    run_starts,
    trimmed,
)
from .plane_runs import union_roots

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy.typing as npt

    from .._types import Int64Array
    from ..read.base.chunks import LabelChunk

#: One component's record: key, size, and low / high corners (one row per axis).
_Records = tuple["npt.NDArray[Any]", "Int64Array", "Int64Array", "Int64Array"]


def chunked_geometry(
    chunks: Iterable[LabelChunk],
    shape: tuple[int, ...],
    raw_ids: Int64Array,
    classes: Int64Array,
    connectivity: int,
) -> ImageGeometry:
    """The geometry of a 2D or 3D file given as chunks of whole slices along one axis, in
    order; ``raw_ids`` are every stored value in it (sorted) and ``classes[i]`` the class
    of ``raw_ids[i]``; ``connectivity`` is for the file's number of axes."""
    stream: _Stream | None = None
    for chunk in chunks:
        if stream is None:
            stream = _Stream(shape, _axis_of(chunk, shape), raw_ids, classes, connectivity)
        stream.add(chunk)
    if stream is None:
        raise MfbError(f"an array of shape {shape} gave no chunks (a bug in mfb)")
    return stream.finish()


def _axis_of(chunk: LabelChunk, shape: tuple[int, ...]) -> int:
    """The axis the chunks follow one another along (0 when one chunk is the whole)."""
    partial = [
        axis for axis, (n, full) in enumerate(zip(chunk.extent, shape, strict=False)) if n != full
    ]
    if len(partial) > 1 or len(shape) != len(chunk.extent):
        raise MfbError(
            f"a chunk of shape {chunk.extent} is no run of whole slices of {shape} (a bug in mfb)"
        )
    return partial[0] if partial else 0


class _Stream:
    """Components of the chunks seen so far: the open ones (reaching the last slice read),
    and the bins of the complete ones. Coordinates are kept with the chunks' axis first."""

    def __init__(
        self,
        shape: tuple[int, ...],
        axis: int,
        raw_ids: Int64Array,
        classes: Int64Array,
        connectivity: int,
    ) -> None:
        self.shape, self.axis = shape, axis
        self.raw_ids, self.classes = raw_ids, classes
        self.connectivity = connectivity
        #: The original axis of each axis of a moved chunk: the chunks' axis first, the
        #: others as the first chunk lies in memory (set by add).
        self.order: list[int] = []
        self.next_start = 0
        self.keys: Int64Array | None = None
        self.key_classes: Int64Array | None = None
        #: The last two slices read (relabelled): context for the boundary.
        self.tail: npt.NDArray[Any] | None = None
        #: Open components, and for each pixel of the last slice its open component.
        self.open: _Records | None = None
        self.last_ids: npt.NDArray[np.intp] | None = None
        self.last_values: npt.NDArray[Any] | None = None
        self.complete: list[_Records] = []
        self.complete_count = 0
        self.parts: list[ImageGeometry] = []
        self.boundary: list[tuple[Int64Array, Int64Array]] = []

    def add(self, chunk: LabelChunk) -> None:
        values = np.asarray(chunk.values)
        expected = [n for a, n in enumerate(self.shape) if a != self.axis]
        others = [n for a, n in enumerate(values.shape) if a != self.axis]
        if (
            values.ndim != len(self.shape)
            or others != expected
            or chunk.start[self.axis] != self.next_start
            or any(chunk.start[a] for a in range(len(self.shape)) if a != self.axis)
        ):
            raise MfbError(
                f"a chunk of shape {values.shape} at {chunk.start} does not follow the "
                f"last one of an array of shape {self.shape} (a bug in mfb)"
            )
        from ..read.labels.pixels import partition_of

        if not self.order:
            self.order = _memory_order(values, self.axis)
        # Components do not depend on the order of the axes (every connectivity is
        # symmetric): a Fortran-ordered slab is read transposed, with no copy.
        moved = np.ascontiguousarray(values.transpose(self.order))
        del values
        partition = partition_of(moved, self.raw_ids, self.classes)
        del moved
        if self.keys is None:
            self.keys, self.key_classes = partition.keys, partition.classes
        labels, count = components_module().connected_components(
            partition.values, connectivity=self.connectivity, return_N=True
        )
        records = self._records(partition.values, labels, int(count))
        self._boundary(partition.values)
        self._join(partition.values, labels, records)
        self.next_start += partition.values.shape[0]

    def _records(self, values: npt.NDArray[Any], labels: npt.NDArray[Any], count: int) -> _Records:
        """Key, size and corners of each component of a chunk (label 1 first), the chunks'
        axis counted from the file's first slice."""
        tracker = RunComponents(count, values.shape, values.dtype)
        slab = values.size // values.shape[0]
        step = max(1, BAND_PIXELS // slab)
        flat_labels = labels.reshape(-1)
        for top in range(0, values.shape[0], step):
            bottom = min(top + step, values.shape[0])
            starts = run_starts(values, top, bottom)
            tracker.add_runs(values[top:bottom], starts, flat_labels, top * slab)
        low = tracker.low[:, 1:].astype(np.int64)
        high = tracker.high[:, 1:].astype(np.int64)
        low[0] += self.next_start
        high[0] += self.next_start
        return tracker.key[1:], tracker.size[1:].astype(np.int64), low, high

    def _boundary(self, values: npt.NDArray[Any]) -> None:
        """Count the boundary of the slices whose both neighbours are now read: the last
        one of the chunk before, and all of this one but its last."""
        held = 0 if self.tail is None else len(self.tail)
        window = values if self.tail is None else np.concatenate([self.tail, values])
        top, bottom = max(held - 1, 0), len(window) - 1
        if bottom > top:
            self.boundary.append(edge_counts(window, top, bottom))
        self.tail = window[-2:].copy()

    def _join(self, values: npt.NDArray[Any], labels: npt.NDArray[Any], new: _Records) -> None:
        """Join the chunk's components to the open ones they touch across the face; keep
        open those reaching the chunk's last slice, bin the others."""
        opened = self.open
        before = 0 if opened is None else len(opened[0])
        key, size, low, high = new if opened is None else _joined(opened, new)
        source, target = self._links(values[0], labels[0], before)
        root = union_roots(len(key), source, target)
        roots, where = np.unique(root, return_inverse=True)
        merged_size = np.zeros(len(roots), dtype=np.int64)
        np.add.at(merged_size, where, size)
        merged_low = np.full((len(low), len(roots)), np.iinfo(np.int64).max, dtype=np.int64)
        merged_high = np.zeros((len(high), len(roots)), dtype=np.int64)
        for axis in range(len(low)):
            np.minimum.at(merged_low[axis], where, low[axis])
            np.maximum.at(merged_high[axis], where, high[axis])
        merged: _Records = (key[roots], merged_size, merged_low, merged_high)
        last = where[before + labels[-1].astype(np.intp) - 1]  # the last slice's components
        is_open = np.zeros(len(roots), dtype=bool)
        is_open[last] = True
        kept = np.flatnonzero(is_open)
        renumbered = np.full(len(roots), -1, dtype=np.intp)
        renumbered[kept] = np.arange(len(kept))
        self.open = _taken(merged, kept)
        self.last_ids = renumbered[last]
        self.last_values = values[-1].copy()
        self._complete(_taken(merged, np.flatnonzero(~is_open)))

    def _links(
        self, first: npt.NDArray[Any], first_labels: npt.NDArray[Any], before: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Pairs (open component, new component) touching across the face between the last
        slice read and ``first``, the first slice of the chunk, numbered as in _joined."""
        if self.last_ids is None or self.last_values is None:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        sources, targets = [], []
        for offset in _face_offsets(first.ndim, self.connectivity):
            above = tuple(
                slice(max(0, -d), n - max(0, d)) for d, n in zip(offset, first.shape, strict=True)
            )
            below = tuple(
                slice(max(0, d), n - max(0, -d)) for d, n in zip(offset, first.shape, strict=True)
            )
            same = self.last_values[above] == first[below]
            sources.append(self.last_ids[above][same])
            targets.append(before + first_labels[below][same].astype(np.intp) - 1)
        source, target = np.concatenate(sources), np.concatenate(targets)
        # Pixels of one face come in long runs of the same pair: keep one of each run
        # (a pair may repeat further on; the union-find takes it twice, no harm).
        fresh = np.empty(len(source), dtype=bool)
        fresh[:1] = True
        np.not_equal(source[1:], source[:-1], out=fresh[1:])
        fresh[1:] |= target[1:] != target[:-1]
        return source[fresh], target[fresh]

    def _complete(self, records: _Records) -> None:
        if len(records[0]):
            self.complete.append(records)
            self.complete_count += len(records[0])
        if self.complete_count >= COMPONENTS_AT_ONCE:
            self._bin([])

    def _bin(self, boundary: list[tuple[Int64Array, Int64Array]]) -> None:
        """The complete components so far, binned (corners in the file's own axis order)."""
        assert self.keys is not None and self.key_classes is not None
        back = np.argsort(self.order)
        if self.complete:
            key = np.concatenate([r[0] for r in self.complete])
            size = np.concatenate([r[1] for r in self.complete])
            low = np.concatenate([r[2] for r in self.complete], axis=1)[back]
            high = np.concatenate([r[3] for r in self.complete], axis=1)[back]
        else:
            key = np.zeros(0, dtype=np.int64)
            size = np.zeros(0, dtype=np.int64)
            low = high = np.zeros((len(self.shape), 0), dtype=np.int64)
        found = (key, size, low, high)
        self.parts.append(binned(self.keys, self.key_classes, self.shape, found, boundary))
        self.complete, self.complete_count = [], 0

    def finish(self) -> ImageGeometry:
        """The file's geometry, once every chunk was added."""
        if self.tail is not None:  # the last slice: the file's border is beyond it
            self.boundary.append(edge_counts(self.tail, len(self.tail) - 1, len(self.tail)))
        if self.open is not None:
            self._complete(self.open)
            self.open = None
        self._bin(self.boundary)
        return _summed(self.parts)


def _memory_order(values: npt.NDArray[Any], axis: int) -> list[int]:
    """``axis`` first, then the other axes from the largest stride to the smallest: the
    transposed chunk is C-contiguous when the chunk is contiguous in any order."""
    others = sorted((a for a in range(values.ndim) if a != axis), key=lambda a: -values.strides[a])
    return [axis, *others]


def _face_offsets(ndim: int, connectivity: int) -> list[tuple[int, ...]]:
    """Offsets, within a slice, of the pixels across the face between two slices that touch
    a pixel: 4 and 6 the one opposite; 18 its face neighbours too; 8 and 26 all around."""
    if ndim == 1:
        return [(0,)] if connectivity == 4 else [(-1,), (0,), (1,)]
    if connectivity == 6:
        return [(0, 0)]
    if connectivity == 18:
        return [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]
    return [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _joined(first: _Records, second: _Records) -> _Records:
    return (
        np.concatenate([first[0], second[0]]),
        np.concatenate([first[1], second[1]]),
        np.concatenate([first[2], second[2]], axis=1),
        np.concatenate([first[3], second[3]], axis=1),
    )


def _taken(records: _Records, which: npt.NDArray[np.intp]) -> _Records:
    key, size, low, high = records
    return key[which], size[which], low[:, which], high[:, which]


def _summed(parts: list[ImageGeometry]) -> ImageGeometry:
    """The geometry of the whole from the geometries of parts of its components (the same
    classes, each table as wide as its widest part)."""
    first = parts[0]

    def total(name: str) -> Int64Array:
        tables = [getattr(part, name) for part in parts]
        width = max(t.shape[-1] for t in tables)
        out = np.zeros((*tables[0].shape[:-1], width), dtype=np.int64)
        for table in tables:
            out[..., : table.shape[-1]] += table
        return out

    size_bins = total("size_bins")
    return ImageGeometry(
        ids=first.ids,
        pixels=sum((part.pixels for part in parts[1:]), first.pixels.copy()),
        components=sum((part.components for part in parts[1:]), first.components.copy()),
        boundary=sum((part.boundary for part in parts[1:]), first.boundary.copy()),
        size_bins=size_bins,
        size_pixels=trimmed(total("size_pixels"), size_bins),
        extent_bins=trimmed(total("extent_bins")),
        ndim=first.ndim,
    )
