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
union-find on the links, hooking each root to the smaller and halving paths, a few
vectorised rounds on a street mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._types import Int64Array

#: Images with more than one run per this many pixels are labelled by connected-components-3d
#: instead: the runs' arrays (about 60 bytes a run) would outweigh its label image.
PIXELS_PER_RUN = 8


@dataclass(frozen=True)
class PlaneComponents:
    """The components of a 2D image: for component j, its value ``key[j]``, its pixels
    ``size[j]`` and its bounding box ``low[:, j]``..``high[:, j]`` (rows, columns;
    inclusive); and ``edge``, the value of each pixel with a 4-neighbour of another value
    (the image border is no boundary), in no order."""

    key: npt.NDArray[Any]
    size: Int64Array
    low: Int64Array
    high: Int64Array
    edge: npt.NDArray[Any]


def plane_components(values: npt.NDArray[Any], diagonal: bool) -> PlaneComponents | None:
    """The components of a C-contiguous 2D array (8-connected if ``diagonal``, else
    4-connected), or None when it holds too many runs (PIXELS_PER_RUN)."""
    height, width = values.shape
    flat = values.reshape(-1)
    size = flat.size
    starts_here = np.empty(size, dtype=bool)
    np.not_equal(flat[1:], flat[:-1], out=starts_here[1:])
    starts_here[::width] = True
    count = int(np.count_nonzero(starts_here))
    if count * PIXELS_PER_RUN > size:
        return None
    starts = np.flatnonzero(starts_here)
    # Pixels on a boundary: both sides of every change along a row and down a column.
    changes = starts[starts % width != 0]
    edges = [changes, changes - 1]
    if height > 1:
        down = np.flatnonzero(flat[width:] != flat[:-width])
        edges += [down, down + width]
        source, target = _links(flat, starts_here, width, diagonal)
        root = _roots(count, source, target)
    else:
        root = np.arange(count)
    del starts_here
    lengths = np.diff(starts, append=size)
    row, first = np.divmod(starts, width)
    is_root = root == np.arange(count)
    numbered = np.cumsum(is_root)
    component = (numbered - 1)[root]
    found = int(numbered[-1])
    # Sums of integers below 2**53 in float64: exact.
    pixels = np.bincount(component, weights=lengths, minlength=found).astype(np.int64)
    low = np.empty((2, found), dtype=np.int64)
    high = np.zeros((2, found), dtype=np.int64)
    low[0] = row[is_root]  # a component's first run in memory order is on its top row
    low[1] = width
    np.maximum.at(high[0], component, row)
    np.minimum.at(low[1], component, first)
    np.maximum.at(high[1], component, first + lengths - 1)
    return PlaneComponents(flat[starts[is_root]], pixels, low, high, flat[_distinct(edges, size)])


def _distinct(positions: list[Int64Array], size: int) -> Int64Array:
    """The distinct values among ``positions`` (each below ``size``), in no order: each
    position writes its index into a slot, and the index that stays stands for all."""
    every = np.concatenate(positions)
    slot = np.empty(size, dtype=np.int32 if every.size < 1 << 31 else np.int64)
    order = np.arange(every.size)
    slot[every] = order
    distinct: Int64Array = every[slot[every] == order]
    return distinct


def _links(
    flat: npt.NDArray[Any], starts_here: npt.NDArray[np.bool_], width: int, diagonal: bool
) -> tuple[Int64Array, Int64Array]:
    """Pairs of runs of one value that touch (source below target), found at the events:
    pixels q of rows 0..h-2 where a run starts at q or right below it."""
    events = np.flatnonzero(starts_here[width:] | starts_here[:-width])
    starts_above = starts_here[events]
    below = events + width
    starts_below = starts_here[below]
    # Every run start up to q (or q + width) is an event, so counting the starts among the
    # events numbers the run holding each pixel (runs are numbered in memory order).
    run_above = np.cumsum(starts_above) - 1
    run_below = np.cumsum(starts_below) + (int(np.count_nonzero(starts_here[:width])) - 1)
    value_above = flat[events]
    value_below = flat[below]
    same = value_above == value_below
    sources, targets = [run_below[same]], [run_above[same]]
    if diagonal:  # corners: the pixel before an event touches the one across after it
        inner = events % width != 0
        left_above = inner & (flat[events - 1] == value_below)
        sources.append(run_below[left_above])
        targets.append(run_above[left_above] - starts_above[left_above])
        left_below = inner & (flat[below - 1] == value_above)
        sources.append(run_below[left_below] - starts_below[left_below])
        targets.append(run_above[left_below])
    return np.concatenate(sources), np.concatenate(targets)


def _roots(count: int, source: Int64Array, target: Int64Array) -> Int64Array:
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
        while True:
            jumped = root[root]
            if np.array_equal(jumped, root):
                break
            root = jumped
    return root
