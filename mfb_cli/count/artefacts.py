"""Interpolation and lossy-compression artefacts in label masks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

#: A mask is suspected of interpolation or lossy-compression artefacts when at least this
#: share of its boundary pixels are "blends": strictly between their two horizontal or two
#: vertical neighbours. Clean label maps stay below 2% (a thin strip between two classes
#: whose ids bracket its own); bilinear resizing and JPEG at quality 95 give 10% and more.
BLEND_SHARE = 0.05
#: ...and at least this many blend pixels, so a few thin strips never trigger it.
MIN_BLEND_PIXELS = 16


def blend_pixels(labels: npt.NDArray[np.integer]) -> tuple[int, int]:
    """Pixels strictly between two opposite neighbours, and pixels on a region boundary."""
    if labels.ndim != 2 or min(labels.shape) < 3:
        return 0, 0
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
    return int(blends.sum()), int(edge.sum())
