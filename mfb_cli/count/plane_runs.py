"""Connected components of every value of a 2D image, from its runs along the rows.

A street or city mask of 0.2-2 MPix holds a few thousand runs of equal values (one per
boundary crossing along a row), about 2% of its pixels. Labelling the runs, not the
pixels, costs a few passes of NumPy's vectorised comparisons over the image and then work
in proportion to the runs: cheaper than labelling every pixel (connected-components-3d
spends about as long on such a mask as decoding it does), and exactly the same
components. Masks with many runs (noise, dithering) go to connected-components-3d
(count/geometry.py), whose cost does not grow with the runs.

How: a run starts where a row starts or a value changes. Two rows touch where a run of
either starts ("events"); between two events the pair of runs above and below stays the
same, so linking the runs at the events (and at the pixel before them, for corners with
8-connectivity) links every pair of touching runs of one value. Runs are then joined by
union-find on the links, vectorised: each round hooks the larger root of every open link
to the smaller, then jumps every run's pointer to its root (three rounds on a street
mask). A run's value, pixels and box come from where it starts and where the next begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._types import Int64Array

#: Images with more than one run per this many pixels are labelled by connected-components-3d
#: instead: the runs' arrays (about 200 bytes a run at their peak) would outweigh its label
#: image (4 bytes a pixel). A street mask has a run per 50-60 pixels.
PIXELS_PER_RUN = 16


@dataclass(frozen=True)
class Runs:
    """Where the runs of a 2D image start: ``starts_here`` per pixel (flat), and ``starts``
    their flat indices in memory order (NumPy's index type: what fancy indexing takes
    without a cast)."""

    starts_here: npt.NDArray[np.bool_]
    starts: npt.NDArray[np.intp]


@dataclass(frozen=True)
class PlaneComponents:
    """The components of a 2D image: for component j, its value ``key[j]``, its pixels
    ``size[j]`` and its bounding box ``low[:, j]``..``high[:, j]`` (rows, columns;
    inclusive); and ``edge``, the values of the pixels with a 4-neighbour of another value
    (the image border is no boundary), in memory order."""

    key: npt.NDArray[Any]
    size: Int64Array
    low: npt.NDArray[Any]
    high: npt.NDArray[Any]
    edge: npt.NDArray[Any]


def runs_of(values: npt.NDArray[Any]) -> Runs | None:
    """The runs of a C-contiguous 2D array, or None when it holds too many of them
    (PIXELS_PER_RUN) or is no 2D array."""
    if values.ndim != 2 or values.size == 0 or values.dtype.kind not in "ui":
        return None
    values = np.ascontiguousarray(values)
    width = values.shape[1]
    flat = values.reshape(-1)
    starts_here = np.empty(flat.size, dtype=bool)
    np.not_equal(flat[1:], flat[:-1], out=starts_here[1:])
    starts_here[::width] = True
    if int(np.count_nonzero(starts_here)) * PIXELS_PER_RUN > flat.size:
        return None
    return Runs(starts_here, np.flatnonzero(starts_here))


def run_histogram(values: npt.NDArray[Any], runs: Runs) -> tuple[Int64Array, Int64Array]:
    """The distinct values of ``values`` and their pixels, from its runs (sorted values)."""
    flat = values.reshape(-1)
    run_values = flat[runs.starts]
    # Sums of integers below 2**53 in float64: exact.
    lengths = np.diff(runs.starts, append=flat.size)
    if values.dtype.itemsize == 1:
        unsigned = run_values.view(np.uint8)
        pixels = np.bincount(unsigned, weights=lengths, minlength=256)
        present = np.flatnonzero(pixels)
        ids = present.astype(values.dtype.type).astype(np.int64)
        order = np.argsort(ids, kind="stable")  # int8: the negative values first
        return ids[order], pixels[present][order].astype(np.int64)
    ids, where = np.unique(run_values, return_inverse=True)
    pixels = np.bincount(where.reshape(-1), weights=lengths, minlength=len(ids))
    return ids.astype(np.int64), pixels.astype(np.int64)


def plane_components(values: npt.NDArray[Any], runs: Runs, diagonal: bool) -> PlaneComponents:
    """The components of a C-contiguous 2D array (8-connected if ``diagonal``, else
    4-connected), given its runs."""
    height, width = values.shape
    flat = values.reshape(-1)
    size = flat.size
    starts_here, starts = runs.starts_here, runs.starts
    count = len(starts)
    # Pixels on a boundary: both sides of every change along a row and down a column.
    # starts_here also marks the first pixel of every row, so a row's first and last pixel
    # are set right afterwards (the first's right neighbour, the last's left one).
    edge = np.empty(size, dtype=bool)
    np.logical_or(starts_here[:-1], starts_here[1:], out=edge[:-1])
    edge[-1] = starts_here[-1]
    edge[width - 1 :: width] = starts_here[width - 1 :: width] if width > 1 else False
    edge[::width] = starts_here[1::width] if width > 1 else False
    if height > 1:
        down = flat[width:] != flat[:-width]
        edge[:-width] |= down
        edge[width:] |= down
        del down
        source, target = _links(flat, starts, width, diagonal)
        root = union_roots(count, source, target)
    else:
        root = np.arange(count)
    lengths = np.diff(starts, append=size)
    row, first = np.divmod(starts, width)
    is_root = root == np.arange(count)
    numbered = np.cumsum(is_root)
    component = (numbered - 1)[root]
    found = int(numbered[-1])
    # Sums of integers below 2**53 in float64: exact.
    pixels = np.bincount(component, weights=lengths, minlength=found).astype(np.int64)
    low = np.empty((2, found), dtype=np.intp)
    high = np.zeros((2, found), dtype=np.intp)
    low[0] = row[is_root]  # a component's first run in memory order is on its top row
    low[1] = width
    np.maximum.at(high[0], component, row)
    np.minimum.at(low[1], component, first)
    np.maximum.at(high[1], component, first + lengths - 1)
    return PlaneComponents(flat[starts[is_root]], pixels, low, high, flat[edge])


def _links(
    flat: npt.NDArray[Any], starts: npt.NDArray[np.intp], width: int, diagonal: bool
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Pairs of runs of one value that touch (source below target), found at the events:
    pixels q of rows 0..h-2 where a run starts at q or right below it (the run starts of
    those rows, and those of rows 1..h-1 moved up a row, merged)."""
    size = flat.size
    above = starts[: np.searchsorted(starts, size - width)]
    first_row = int(np.searchsorted(starts, width))
    lower = starts[first_row:] - width
    merged = np.concatenate([above, lower])
    order = np.argsort(merged, kind="stable")  # two sorted runs: one merge
    events = merged[order]
    from_below = order >= len(above)
    # The starts up to each event number the runs holding it and the pixel below it.
    run_above = np.cumsum(~from_below) - 1
    run_below = np.cumsum(from_below) + (first_row - 1)
    # An event in both lists appears twice, the start above first: keep the last of each.
    last = np.empty(len(events), dtype=bool)
    np.not_equal(events[1:], events[:-1], out=last[:-1])
    last[-1:] = True
    twice = np.zeros(len(events), dtype=bool)
    np.logical_not(last[:-1], out=twice[1:])
    starts_below = from_below[last]
    starts_above = ~starts_below | twice[last]
    events, run_above, run_below = events[last], run_above[last], run_below[last]
    below = events + width
    value_above = flat[events]
    value_below = flat[below]
    same = value_above == value_below
    if not diagonal:
        return run_below[same], run_above[same]
    # Corners: the pixel before an event touches the one across from the event.
    inner = events % width != 0
    left_above = inner & (flat[events - 1] == value_below)
    left_below = inner & (flat[below - 1] == value_above)
    sources = [run_below[same], run_below[left_above], (run_below - starts_below)[left_below]]
    targets = [run_above[same], (run_above - starts_above)[left_above], run_above[left_below]]
    return np.concatenate(sources), np.concatenate(targets)


def union_roots(
    count: int,
    source: npt.NDArray[Any],
    target: npt.NDArray[Any],
) -> npt.NDArray[Any]:
    """The smallest run of the component of each of ``count`` runs, given the links:
    each round hooks every root on an open link to the other root if smaller, then
    points every run at its root. Roots only ever point lower, so no cycle forms, and
    every round closes at least one link."""
    root = np.arange(count)
    while source.size:
        above, below = root[source], root[target]
        open_links = above != below
        if not open_links.any():
            break
        source, target = source[open_links], target[open_links]
        above, below = above[open_links], below[open_links]
        np.minimum.at(root, np.maximum(above, below), np.minimum(above, below))
        while True:  # two jumps a check: a chain of 4**k runs takes k checks
            jumped = root[root]
            jumped = jumped[jumped]
            if np.array_equal(jumped, root):
                break
            root = jumped
    return root
