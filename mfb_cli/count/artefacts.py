"""Interpolation and lossy-compression artefacts in label masks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

#: A mask is suspected of interpolation or lossy-compression artefacts when at least this
#: share of its boundary pixels are "blends": strictly between their two horizontal or two
#: vertical neighbours. Clean label maps stay below 2% (a thin strip between two classes
#: whose ids bracket its own); bilinear resizing and JPEG at quality 95 give 10% and more.
BLEND_SHARE = 0.05
#: ...and at least this many blend pixels, so a few thin strips never trigger it.
MIN_BLEND_PIXELS = 16


#: Rows are looked at in bands of about this many pixels, so the masks of neighbours
#: compared (a few bytes a pixel each) stay small whatever the image.
BAND_PIXELS = 1 << 20


def blend_pixels(labels: npt.NDArray[np.integer]) -> tuple[int, int]:
    """Pixels strictly between two opposite neighbours, and pixels on a region boundary."""
    if labels.ndim != 2:
        return 0, 0
    height, width = labels.shape
    return blend_pixels_in_bands(height, width, lambda low, high: labels[low:high])


def blend_pixels_in_bands(
    height: int, width: int, rows: Callable[[int, int], npt.NDArray[np.integer]]
) -> tuple[int, int]:
    """blend_pixels of an image given as ``rows(low, high)``, its rows low..high-1: looked
    at in bands of about BAND_PIXELS pixels, so no copy of the whole image is needed."""
    if min(height, width) < 3:
        return 0, 0
    step = max(1, BAND_PIXELS // width)
    blends = edges = 0
    for top in range(0, height, step):
        bottom = min(top + step, height)
        low, high = max(top - 1, 0), min(bottom + 1, height)  # one row of context each side
        band_blends, band_edges = _band(rows(low, high), top - low, bottom - low)
        blends += band_blends
        edges += band_edges
    return blends, edges


def _band(labels: npt.NDArray[np.integer], first: int, stop: int) -> tuple[int, int]:
    """blend_pixels of rows first..stop-1 of ``labels``, its other rows being context (or
    the image's own first and last rows, which have no neighbour beyond them)."""
    centre = labels[1:-1, 1:-1]

    def between(a: npt.NDArray[np.integer], b: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
        above: npt.NDArray[np.bool_] = centre > np.minimum(a, b)
        below: npt.NDArray[np.bool_] = centre < np.maximum(a, b)
        return above & below

    blends = between(labels[1:-1, :-2], labels[1:-1, 2:]) | between(
        labels[:-2, 1:-1], labels[2:, 1:-1]
    )
    edge = np.zeros(labels.shape, dtype=bool)
    across = labels[:, :-1] != labels[:, 1:]
    down = labels[:-1] != labels[1:]
    edge[:, :-1] |= across
    edge[:, 1:] |= across
    edge[:-1] |= down
    edge[1:] |= down
    # blends[i] is row i + 1 of labels.
    return int(blends[max(first - 1, 0) : stop - 1].sum()), int(edge[first:stop].sum())
