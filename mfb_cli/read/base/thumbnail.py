"""A raster's class map, small: every B-th pixel of every B-th row, taken as it is decoded.

A decimation, not a resampling: thumbnail pixel (i, j) is the raster's pixel (i*B, j*B),
its exact value (no blending, so a class id stays a class id), with
B = ceil(max(height, width) / THUMBNAIL_SIDE). Each decoded block (tile, strip, band)
gives the pixels of the grid that fall inside it, so the thumbnail costs no second decode,
and it takes at most THUMBNAIL_SIDE x THUMBNAIL_SIDE values whatever the raster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

#: The longest side of a thumbnail, in pixels.
THUMBNAIL_SIDE = 512


class Thumbnail:
    """Every ``step``-th pixel of every ``step``-th row of a 2D raster.

    While the raster is read, ``values`` holds its stored values; once it is counted
    (count/one_file.py) its class ids, and ``nodata`` marks the nodata pixels. ``complete``
    is set when every block has been read: a read stopped early leaves no thumbnail.
    """

    def __init__(
        self, shape: tuple[int, int], dtype: Any = np.uint8, side: int = THUMBNAIL_SIDE
    ) -> None:
        height, width = shape
        self.step = max(1, -(-max(height, width) // side))
        self.source_shape = (height, width)
        self.values: npt.NDArray[Any] = np.zeros(
            (-(-height // self.step), -(-width // self.step)), dtype
        )
        self.nodata: npt.NDArray[np.bool_] | None = None
        self.complete = False

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    def take(self, block: npt.NDArray[Any], top: int, left: int) -> None:
        """Keep the grid's pixels of ``block``, whose first pixel is the raster's
        (``top``, ``left``). Blocks never overlap, so threads may take blocks at once
        (as long as the dtype needs no widening: see ``widen``)."""
        step = self.step
        first_row, first_col = -top % step, -left % step
        part = block[first_row::step, first_col::step]
        if part.size == 0:
            return
        if not np.can_cast(part.dtype, self.values.dtype, "safe"):
            self.widen(part.dtype)
        i, j = (top + first_row) // step, (left + first_col) // step
        self.values[i : i + part.shape[0], j : j + part.shape[1]] = part

    def widen(self, dtype: Any) -> None:
        """Hold values of ``dtype`` too (a float raster's labels become integers)."""
        self.values = self.values.astype(np.result_type(self.values.dtype, dtype))
