"""The geometry of a file read in chunks (a volume's slabs, a raster's bands of tiles), with
memory bounded by a chunk, whatever the file.

Each chunk is relabelled into classes with the file's whole histogram (labels/pixels.py:
a class has the same key in every chunk) and labelled by connected-components-3d. A
component that reaches the chunk's last slice stays open: it is joined to the components
of the next chunk's first slice that touch it (same key; across the face, the neighbours
the connectivity allows: the pixel opposite for 4/6, and its 4 face neighbours in the
slice for 18, all 8 for 8/26). A component that does not reach it is complete, and is
binned at once. So the open components are at most those of one slice.

Only the components on a link across the face go through the union-find; the others
are settled at once: an open one nothing touches is complete, a chunk's component on
its last slice that touches none is open as it is, and one on neither face (nearly all
of a deep slab's, in noise) is binned straight from the chunk's table, in its narrow
types, without a copy of them all. So a slab takes tens of bytes a component at its
peak, as labelling it whole would (a slab of one slice, where every component stays
open, about 150 in noise). A pixel is on a boundary by its neighbours on both sides, so
each slice's boundary is counted once the slice after it has been read.

The result equals the geometry of the whole array (tests/count/test_geometry_chunks.py).
"""

from __future__ import annotations

from dataclasses import replace
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
    tracked_components,
    trimmed,
)
from .plane_runs import union_roots

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy.typing as npt

    from .._types import Int64Array
    from ..read.base.chunks import LabelChunk

#: Components' records: key, size, and low / high corners (one row per axis): sizes int64
#: and corners _Stream.coordinate, or the narrow types of a chunk's table (RunComponents)
#: for components complete in it.
_Records = tuple["npt.NDArray[Any]", "npt.NDArray[Any]", "npt.NDArray[Any]", "npt.NDArray[Any]"]


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
        #: The type of the corners of the components kept open (4 bytes where they fit).
        self.coordinate = np.dtype(np.int32 if max(shape) < 1 << 31 else np.int64)
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
        #: The geometry of the components binned so far (extents in the chunks' order).
        self.total: ImageGeometry | None = None
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
        values = partition.values
        labels, count = components_module().connected_components(
            values, connectivity=self.connectivity, return_N=True
        )
        tracker = tracked_components(values, labels, int(count))
        first, last = labels[0].copy(), labels[-1].copy()
        del labels
        self._boundary(values)
        source, target = self._links(values[0], first)
        # Kept for the join (labels from 1: values are never 0): the components on the
        # chunk's last slice, which stay open, and those touching an open one. The rest
        # are complete, taken in the tracker's narrow types.
        keep = np.zeros(int(count) + 1, dtype=bool)
        keep[last] = True
        keep[target] = True
        kept = np.flatnonzero(keep)
        del keep
        done = np.ones(int(count) + 1, dtype=bool)
        done[0] = False
        done[kept] = False
        self._complete_where((tracker.key, tracker.size, tracker.low, tracker.high), done)
        del done
        new = self._kept_records(tracker, kept)
        del tracker
        self._join(new, kept, source, target, last, values[-1])
        self.next_start += values.shape[0]

    def _kept_records(self, tracker: RunComponents, kept: npt.NDArray[Any]) -> _Records:
        """Key, size and corners of the components ``kept`` of a chunk, the chunks' axis
        counted from the file's first slice."""
        low = tracker.low[:, kept].astype(self.coordinate)
        high = tracker.high[:, kept].astype(self.coordinate)
        low[0] += self.next_start
        high[0] += self.next_start
        return tracker.key[kept], tracker.size[kept].astype(np.int64), low, high

    def _boundary(self, values: npt.NDArray[Any]) -> None:
        """Count the boundary of the slices whose both neighbours are now read: the last
        one of the chunk before, and all of this one but its last, in bands."""
        start = 0
        if self.tail is not None:  # the slice before, and this chunk's first
            window = np.concatenate([self.tail, values[:2]])
            top, bottom = len(self.tail) - 1, len(window) - 1
            if bottom > top:
                self.boundary.append(edge_counts(window, top, bottom))
            start = 1
        tail = values[-2:] if len(values) >= 2 or self.tail is None else window[-2:]
        self.tail = tail.copy()
        step = max(1, BAND_PIXELS // max(values[0].size, 1))
        for top in range(start, len(values) - 1, step):
            self.boundary.append(edge_counts(values, top, min(top + step, len(values) - 1)))

    def _join(
        self,
        new: _Records,
        kept: npt.NDArray[Any],
        source: npt.NDArray[np.intp],
        target: npt.NDArray[Any],
        last_labels: npt.NDArray[Any],
        last: npt.NDArray[Any],
    ) -> None:
        """Join the chunk's components ``kept`` (records ``new``) to the open ones they
        touch (pairs ``source``, ``target``: open index, chunk label); the open ones
        touching none are complete. Keep open those on the chunk's last slice ``last``
        (labels ``last_labels``), complete the others. Only the components on a link go
        through the union-find: in noise, few."""
        opened = self.open
        self.open = None
        is_linked = np.zeros(len(kept), dtype=bool)
        is_linked[np.searchsorted(kept, target)] = True
        linked = np.flatnonzero(is_linked)  # indices into kept
        if opened is None:
            groups: _Records = _taken(new, linked)  # empty: no links on the first chunk
            where_new = np.zeros(0, dtype=np.intp)
        else:
            touched = np.zeros(len(opened[0]), dtype=bool)
            touched[source] = True
            self._complete_where(opened, ~touched)
            still = np.flatnonzero(touched)
            opened = _taken(opened, still)
            del touched
            # Nodes: the open ones touched, then the chunk's linked ones.
            before = len(still)
            nodes = _joined(opened, _taken(new, linked))
            del opened
            link_target = before + np.searchsorted(linked, np.searchsorted(kept, target))
            root = union_roots(len(nodes[0]), np.searchsorted(still, source), link_target)
            roots, where = np.unique(root, return_inverse=True)
            del root, still
            groups = _merged(nodes, roots, where)
            del nodes
            where_new = where[before:]
        on_last = np.searchsorted(kept, last_labels)  # per pixel of the last slice
        # A group is open when one of its chunk's components reaches the last slice.
        group_open = np.zeros(len(groups[0]), dtype=bool)
        kept_on_last = np.zeros(len(kept), dtype=bool)
        kept_on_last[on_last] = True
        group_open[where_new[kept_on_last[linked]]] = True
        self._complete(_taken(groups, np.flatnonzero(~group_open)))
        alone = np.flatnonzero(~is_linked)  # so on the last slice
        open_groups = np.flatnonzero(group_open)
        # Open index of each kept component: its group's, or its own after the groups'.
        opened_at = np.full(len(groups[0]), -1, dtype=np.intp)
        opened_at[open_groups] = np.arange(len(open_groups))
        kept_at = np.empty(len(kept), dtype=np.intp)
        kept_at[linked] = opened_at[where_new]
        kept_at[alone] = len(open_groups) + np.arange(len(alone))
        if len(open_groups) == 0 and len(alone) == len(kept):
            self.open = new  # no links: the chunk's components on its last slice, as they are
        else:
            self.open = _stacked(groups, open_groups, new, alone)
        self.last_ids = kept_at[on_last]
        self.last_values = last.copy()

    def _links(
        self, first: npt.NDArray[Any], first_labels: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
        """Pairs (open component, label in the chunk) touching across the face between the
        last slice read and ``first``, the chunk's first slice, labelled ``first_labels``."""
        if self.last_ids is None or self.last_values is None:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=first_labels.dtype)
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
            targets.append(first_labels[below][same])
        source, target = np.concatenate(sources), np.concatenate(targets)
        # Pixels of one face come in long runs of the same pair: keep one of each run
        # (a pair may repeat further on; the union-find takes it twice, no harm).
        fresh = np.empty(len(source), dtype=bool)
        fresh[:1] = True
        np.not_equal(source[1:], source[:-1], out=fresh[1:])
        fresh[1:] |= target[1:] != target[:-1]
        return source[fresh], target[fresh]

    def _complete(self, records: _Records) -> None:
        """Bin complete components, COMPONENTS_AT_ONCE or more at a time (a chunk's many
        at once, as they are: no copy)."""
        if len(records[0]) >= COMPONENTS_AT_ONCE:
            self._bin([records], [])
        elif len(records[0]):
            self.complete.append(records)
            self.complete_count += len(records[0])
            if self.complete_count >= COMPONENTS_AT_ONCE:
                self._bin(self.complete, [])
                self.complete, self.complete_count = [], 0

    def _complete_where(self, records: _Records, which: npt.NDArray[np.bool_]) -> None:
        """Complete the components ``which`` of ``records``, COMPONENTS_AT_ONCE looked at
        at a time: no copy of them all."""
        key, size, low, high = records
        for start in range(0, len(which), COMPONENTS_AT_ONCE):
            part = slice(start, start + COMPONENTS_AT_ONCE)
            taken = which[part]
            if taken.any():
                self._complete(
                    (
                        key[part][taken],
                        size[part][taken],
                        low[:, part][:, taken],
                        high[:, part][:, taken],
                    )
                )

    def _bin(self, found: list[_Records], boundary: list[tuple[Int64Array, Int64Array]]) -> None:
        """Add complete components (and boundary counts) to the total. Corners stay in the
        chunks' axis order: the extents are put in the file's order at the end."""
        assert self.keys is not None and self.key_classes is not None
        if len(found) == 1:
            records = found[0]
        elif found:
            records = (
                np.concatenate([r[0] for r in found]),
                np.concatenate([r[1] for r in found]),
                np.concatenate([r[2] for r in found], axis=1),
                np.concatenate([r[3] for r in found], axis=1),
            )
        else:
            empty = np.zeros((len(self.shape), 0), dtype=np.int64)
            records = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), empty, empty)
        moved = tuple(self.shape[a] for a in self.order)
        part = binned(self.keys, self.key_classes, moved, records, boundary)
        self.total = part if self.total is None else _summed([self.total, part])

    def finish(self) -> ImageGeometry:
        """The file's geometry, once every chunk was added."""
        if self.tail is not None:  # the last slice: the file's border is beyond it
            self.boundary.append(edge_counts(self.tail, len(self.tail) - 1, len(self.tail)))
        if self.open is not None:
            self.complete.append(self.open)
            self.open = None
        self._bin(self.complete, self.boundary)
        self.complete = []
        assert self.total is not None
        # Extent tables in the file's axis order: its axis a is the chunks' back[a].
        back = np.argsort(self.order)
        return replace(self.total, extent_bins=self.total.extent_bins[back])


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


def _merged(nodes: _Records, roots: npt.NDArray[Any], where: npt.NDArray[np.intp]) -> _Records:
    """The records of the groups of ``nodes`` (node i in group ``where[i]``, ``roots``
    the groups' first nodes): sizes summed, boxes spanning their members'."""
    key, size, low, high = nodes
    merged_size = np.zeros(len(roots), dtype=np.int64)
    np.add.at(merged_size, where, size)
    merged_low = np.full((len(low), len(roots)), np.iinfo(low.dtype).max, dtype=low.dtype)
    merged_high = np.zeros((len(high), len(roots)), dtype=high.dtype)
    for axis in range(len(low)):
        np.minimum.at(merged_low[axis], where, low[axis])
        np.maximum.at(merged_high[axis], where, high[axis])
    return key[roots], merged_size, merged_low, merged_high


def _stacked(
    first: _Records,
    first_which: npt.NDArray[np.intp],
    second: _Records,
    second_which: npt.NDArray[np.intp],
) -> _Records:
    """The records ``first_which`` of ``first`` then ``second_which`` of ``second``, taken
    straight into place (no copy of each part first)."""
    count = len(first_which)
    stacked = []
    for one, other in zip(first, second, strict=True):
        out = np.empty((*one.shape[:-1], count + len(second_which)), np.result_type(one, other))
        np.take(one, first_which, axis=-1, out=out[..., :count], mode="clip")
        np.take(other, second_which, axis=-1, out=out[..., count:], mode="clip")
        stacked.append(out)
    return stacked[0], stacked[1], stacked[2], stacked[3]


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
