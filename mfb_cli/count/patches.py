"""Patch statistics: the class counts of every patch of a grid, from a file's chunks as they stream.

A grid of SIZE x SIZE patches every STRIDE pixels along both axes of a plane (a 2D mask,
or one slice of a volume along its third stored axis, k). Per axis the patches start at
0, STRIDE, 2 STRIDE, ... and there are ceil((length - SIZE) / STRIDE) + 1 of them, as
torchgeo's ``tile_to_chips`` counts: the last one may cross the far edge, and then holds
only the pixels inside the plane (its window is clipped). A plane smaller than SIZE along
either axis has no patch (torchgeo's GridGeoSampler skips such a tile).

Counting never needs the whole plane. The plane is cut, along each axis, at every patch
start and every patch end: each cell of that grid lies in the same patches throughout,
so a patch's histogram is the sum of the histograms of its cells, and a cell's histogram
is added up from whatever chunks cover it (a chunk need not align with patches). Cells
are counted with one ``bincount`` (or one sort) per band of a chunk over the key
``cell * values + value``: vectorised, exact in int64, and independent of how many
patches overlap (stride < size), since overlapping patches share cells instead of each
counting the same pixels again. A row of patches is handed out as soon as the rows of
cells under it are complete, and their cells are dropped: memory is one band of a chunk
plus the cells of the patch rows still open, never the plane.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BadMaskError, MfbError, Param

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import numpy.typing as npt

    from .._types import Int64Array
    from ..read.base.chunks import LabelChunk

#: The most patches one file may make: their counts are held until the file is done (a
#: few hundred bytes each with their arrays), so a grid of tiny patches over a huge raster
#: is refused up front. A 40,000 x 40,000 raster makes about a million patches of 40.
MAX_PATCHES_PER_FILE = 1 << 20
#: Pixels counted at a time within a chunk (the key array takes 8 bytes a pixel).
_BAND_PIXELS = 1 << 20
#: A band whose cells x value span stays below this is counted with one bincount.
_BINCOUNT_BINS = 1 << 22

#: How patches are laid out, for --help, the docs and every output that holds patches.
PATCH_DEFINITION = (
    "SIZE x SIZE windows every STRIDE pixels from the top-left pixel, along rows and "
    "columns; ceil((length - SIZE) / STRIDE) + 1 per axis (torchgeo's tile_to_chips): the "
    "last window may cross the edge and is clipped to the pixels inside (one that would "
    "start past the edge, possible when STRIDE > SIZE, is left out); an image smaller than "
    "SIZE has none; a volume's patches are windows of each slice along its third axis"
)


@dataclass(frozen=True)
class PatchGrid:
    """SIZE x SIZE patches every STRIDE pixels (see PATCH_DEFINITION)."""

    size: int
    stride: int

    def __post_init__(self) -> None:
        if self.size < 1 or self.stride < 1:
            raise MfbError(f"a patch size and stride must be positive ({self.size},{self.stride})")

    @classmethod
    def parse(cls, text: str) -> PatchGrid:
        """``SIZE`` or ``SIZE,STRIDE`` (positive integers); ValueError saying why not."""
        parts = text.split(",")
        if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"'{text}' is not SIZE or SIZE,STRIDE (positive integers)")
        size, stride = int(parts[0]), int(parts[-1])
        if size < 1 or stride < 1:
            raise ValueError(f"'{text}': SIZE and STRIDE must be at least 1")
        return cls(size, stride)

    def starts(self, length: int) -> npt.NDArray[np.int64]:
        """Where the patches along an axis of ``length`` pixels start."""
        if length < self.size:
            return np.zeros(0, dtype=np.int64)
        count = -(-(length - self.size) // self.stride) + 1
        starts = np.arange(count, dtype=np.int64) * self.stride
        return starts[starts < length]  # with STRIDE > SIZE the last may begin past the edge

    def describe(self) -> dict[str, Any]:
        """As recorded in outputs."""
        return {"size": self.size, "stride": self.stride, "definition": PATCH_DEFINITION}


@dataclass(frozen=True, order=True)
class Window:
    """Where a patch lies: its first row and column, and its extent inside the image.

    ``slice`` is the index along a volume's third stored axis (None for a 2D image); rows
    then run along the first stored axis (i) and columns along the second (j).
    """

    slice: int | None
    row: int
    col: int
    height: int
    width: int

    def record(self) -> dict[str, int]:
        """As a per-image line stores it."""
        found = {"row": self.row, "col": self.col, "height": self.height, "width": self.width}
        return found if self.slice is None else {"slice": self.slice, **found}

    def label(self) -> str:
        """A short printable name: ``[slice 3] rows 0-255, cols 256-511``."""
        where = f"rows {self.row}-{self.row + self.height - 1}, cols {self.col}-"
        where += f"{self.col + self.width - 1}"
        return where if self.slice is None else f"slice {self.slice}, {where}"


#: One patch: its window and the raw values present in it with their pixel counts.
PatchCounts = tuple[Window, "Int64Array", "Int64Array"]


@dataclass(frozen=True)
class _Axis:
    """One axis cut at every patch start and end: which cell each pixel is in, and which
    patches (a contiguous range) each cell lies in. Cells outside every patch (the gaps a
    stride > size leaves) are left out."""

    starts: npt.NDArray[np.int64]
    cell_of: npt.NDArray[np.int64]  # per pixel: its cell, -1 outside every patch
    extent: npt.NDArray[np.int64]  # per cell: its length in pixels
    first: npt.NDArray[np.int64]  # per cell: the first patch holding it
    last: npt.NDArray[np.int64]  # per cell: the last patch holding it

    @classmethod
    def of(cls, grid: PatchGrid, length: int) -> _Axis:
        starts = grid.starts(length)
        ends = np.minimum(starts + grid.size, length)
        bounds = np.unique(np.concatenate([starts, ends, [0, length]]))
        lower = bounds[:-1]
        # Patches holding cell [lower, next): those starting at or before it, ending after.
        first = np.searchsorted(ends, lower, side="right")
        last = np.searchsorted(starts, lower, side="right") - 1
        covered = first <= last
        cells = np.full(len(lower), -1, dtype=np.int64)
        cells[covered] = np.arange(int(covered.sum()))
        cell_of = np.repeat(cells, np.diff(bounds))
        extent = np.diff(bounds)[covered]
        return cls(starts, cell_of, extent, first[covered], last[covered])

    @property
    def cells(self) -> int:
        return len(self.first)


class PlanePatches:
    """The patches of one plane (height x width), counted from chunks in any order.

    ``add`` takes a 2D integer array and the index of its first element; ``ready`` hands
    out the rows of patches whose pixels have all been seen, in order.
    """

    def __init__(
        self, grid: PatchGrid, rows: _Axis, cols: _Axis, height: int, width: int, slice_: int | None
    ) -> None:
        self.grid = grid
        self.rows = rows
        self.cols = cols
        self.height = height
        self.width = width
        self.slice = slice_
        # Pixels seen per row cell (it is complete at extent x width), and each row cell's
        # (column cell, value, pixels) triplets until no open patch row needs them.
        self._seen = np.zeros(rows.cells, dtype=np.int64)
        self._need = rows.extent * width
        self._cells: dict[int, list[tuple[Int64Array, Int64Array, Int64Array]]] = {}
        self._next = 0  # the next patch row to hand out
        # Rows of patches to hand out: none when the plane is narrower than a patch.
        self._rows_total = len(rows.starts) if len(cols.starts) else 0

    def add(self, values: npt.NDArray[np.integer], row: int, col: int) -> None:
        """Count a 2D chunk whose first element is at (row, col)."""
        height, width = values.shape
        if not self.rows.cells or not self.cols.cells or not values.size:
            return
        col_cells = self.cols.cell_of[col : col + width]
        band = max(1, _BAND_PIXELS // max(width, 1))
        for top in range(0, height, band):
            row_cells = self.rows.cell_of[row + top : row + min(top + band, height)]
            if (row_cells < 0).all():
                continue
            self._count_band(values[top : top + band], row_cells, col_cells)
            seen = row_cells[row_cells >= 0]
            self._seen += np.bincount(seen, minlength=self.rows.cells) * width

    def _count_band(
        self,
        values: npt.NDArray[np.integer],
        row_cells: Int64Array,
        col_cells: Int64Array,
    ) -> None:
        keep_rows = row_cells >= 0
        keep_cols = col_cells >= 0
        if not keep_rows.all() or not keep_cols.all():
            values = values[np.ix_(keep_rows, keep_cols)]
            row_cells, col_cells = row_cells[keep_rows], col_cells[keep_cols]
        if not values.size:
            return
        across = self.cols.cells
        first_cell = int(row_cells.min())
        bins = (int(row_cells.max()) - first_cell + 1) * across
        cell = ((row_cells - first_cell)[:, None] * across + col_cells[None, :]).reshape(-1)
        flat = np.asarray(values).reshape(-1)
        low, high = int(flat.min()), int(flat.max())
        if (high - low + 1) * bins <= _BINCOUNT_BINS:  # one bincount over (cell, value)
            span = high - low + 1
            counts = np.bincount(cell * span + (flat.astype(np.int64) - low), minlength=bins * span)
            present = np.flatnonzero(counts)
            pixels = counts[present].astype(np.int64)
            value = (present % span + low).astype(np.int64)
        else:  # a wide span of values: made dense first, then one sort
            distinct, dense = np.unique(flat, return_inverse=True)
            span = len(distinct)
            present, found = np.unique(cell * span + dense.reshape(-1), return_counts=True)
            pixels = found.astype(np.int64)
            value = distinct[present % span].astype(np.int64)
        at_cell = present // span
        row_cell = at_cell // across + first_cell
        col_cell = (at_cell % across).astype(np.int64)
        for one in np.unique(row_cell).tolist():
            mine = row_cell == one
            self._cells.setdefault(one, []).append((col_cell[mine], value[mine], pixels[mine]))

    def ready(self) -> Iterator[PatchCounts]:
        """The patches of every row now complete (in row then column order), once each."""
        rows = self.rows
        while self._next < self._rows_total:
            index = self._next
            # The row cells under patch row ``index``: a run, as first and last only grow.
            held = np.arange(
                np.searchsorted(rows.last, index, side="left"),
                np.searchsorted(rows.first, index, side="right"),
            )
            if (self._seen[held] < self._need[held]).any():
                return
            yield from self._row_of_patches(index, held)
            self._next += 1
            for cell in held[rows.last[held] <= index].tolist():  # no later row holds them
                self._cells.pop(cell, None)

    def _row_of_patches(self, index: int, held: Int64Array) -> Iterator[PatchCounts]:
        cols = self.cols
        parts = [part for cell in held.tolist() for part in self._cells.get(cell, [])]
        top = int(self.rows.starts[index])
        height = min(self.grid.size, self.height - top)
        per_patch: dict[int, tuple[Int64Array, Int64Array]] = {}
        if parts:
            col_cell = np.concatenate([p[0] for p in parts])
            value = np.concatenate([p[1] for p in parts])
            pixels = np.concatenate([p[2] for p in parts])
            # Each cell's triplets once per patch holding it (a range of patch columns).
            repeats = cols.last[col_cell] - cols.first[col_cell] + 1
            within = np.arange(int(repeats.sum())) - np.repeat(
                np.cumsum(repeats) - repeats, repeats
            )
            patch = np.repeat(cols.first[col_cell], repeats) + within
            value, pixels = np.repeat(value, repeats), np.repeat(pixels, repeats)
            distinct, dense = np.unique(value, return_inverse=True)
            key = patch * len(distinct) + dense.reshape(-1)
            order = np.argsort(key, kind="stable")
            key, pixels = key[order], pixels[order]
            firsts = np.flatnonzero(np.diff(key, prepend=-1))
            totals = np.add.reduceat(pixels, firsts).astype(np.int64)
            keys = key[firsts]
            patch_of = keys // len(distinct)
            ids = distinct[keys % len(distinct)].astype(np.int64)
            edges = [*np.flatnonzero(np.diff(patch_of, prepend=-1)).tolist(), len(keys)]
            for at, end in itertools.pairwise(edges):
                per_patch[int(patch_of[at])] = (ids[at:end], totals[at:end])
        empty = np.zeros(0, dtype=np.int64)
        for column, left in enumerate(cols.starts.tolist()):
            window = Window(self.slice, top, left, height, min(self.grid.size, self.width - left))
            ids, counts = per_patch.get(column, (empty, empty))
            yield window, ids, counts

    def done(self) -> bool:
        return self._next >= self._rows_total


class Patches:
    """The patches of one file, counted from its chunks: a 2D plane, or every slice of a
    volume along its third axis (chunks are slabs of whole slices, or any part of them)."""

    def __init__(self, name: str, grid: PatchGrid, shape: tuple[int, ...]) -> None:
        count = patches_in(shape, grid)
        if count > MAX_PATCHES_PER_FILE:
            raise BadMaskError(
                name,
                f"would make {count} patches of {grid.size},{grid.stride} "
                f"(more than {MAX_PATCHES_PER_FILE} for one file); choose a larger ",
                Param("patch"),
                " size or stride",
            )
        self.name = name
        self.grid = grid
        self.shape = shape
        self._rows = _Axis.of(grid, shape[0])
        self._cols = _Axis.of(grid, shape[1])
        self._open: dict[int | None, PlanePatches] = {}
        self._finished: set[int | None] = set()
        self.found: list[PatchCounts] = []

    def add(self, chunk: LabelChunk) -> None:
        """Count one chunk (an integer array, or a Pillow image read whole)."""
        values, start = chunk.values, chunk.start
        if not hasattr(values, "shape"):  # a Pillow image: as arrays, a band of rows at a time
            self._add_image(values)
        elif values.ndim == 2:
            self._settle(None, values, start[0], start[1])
        else:
            for depth in range(values.shape[2]):
                self._settle(start[2] + depth, values[:, :, depth], start[0], start[1])

    def _add_image(self, image: Any) -> None:
        from ..read.decode.pillow import mask_array

        width, height = image.size
        rows = max(1, _BAND_PIXELS // max(width, 1))
        for top in range(0, height, rows):
            band = mask_array(image.crop((0, top, width, min(top + rows, height))))
            self._settle(None, band, top, 0)

    def _settle(self, index: int | None, values: Any, row: int, col: int) -> None:
        if index in self._finished:  # every patch handed out: the rest lies outside them
            return
        plane = self._open.get(index)
        if plane is None:
            plane = PlanePatches(
                self.grid, self._rows, self._cols, self.shape[0], self.shape[1], index
            )
            self._open[index] = plane
        plane.add(values, row, col)
        self.found.extend(plane.ready())
        if plane.done():
            del self._open[index]
            self._finished.add(index)

    def result(self) -> list[PatchCounts]:
        """Every patch of the file, in order (slice, row, column); an error if the chunks
        did not cover the file (a decoder that did not yield its own shape)."""
        planes: list[int | None] = list(range(self.shape[2])) if len(self.shape) >= 3 else [None]
        for index in planes:
            if index in self._finished:
                continue
            plane = self._open.get(index) or PlanePatches(
                self.grid, self._rows, self._cols, self.shape[0], self.shape[1], index
            )
            self.found.extend(plane.ready())  # a plane with no patch row is done at once
            if not plane.done():
                raise MfbError(
                    f"{self.name}: its chunks did not cover the image "
                    f"({'x'.join(map(str, self.shape))}); a bug in its decoder, please report it"
                )
        return sorted(self.found, key=lambda one: one[0])


def patch_counts(
    name: str, grid: PatchGrid, shape: tuple[int, ...], chunks: Iterable[LabelChunk]
) -> list[PatchCounts]:
    """Every patch of a file of ``shape`` (raw values and their pixels), from its chunks."""
    patches = Patches(name, grid, shape)
    for chunk in chunks:
        patches.add(chunk)
    return patches.result()


def patches_in(shape: tuple[int, ...], grid: PatchGrid) -> int:
    """How many patches a file of ``shape`` has."""
    planes = shape[2] if len(shape) >= 3 else 1
    return len(grid.starts(shape[0])) * len(grid.starts(shape[1])) * planes
