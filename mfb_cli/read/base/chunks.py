"""The chunk protocol every decoder follows: a header first, then label chunks, lazily.

A decoder reads what a file is (its shape, spacing, orientation) before any value, so
sizes are checked against limits before anything is decoded; it then yields the labels
as chunks, each an integer array (or a Pillow image) and the index of its first element
in the whole array. A 2D mask is one chunk; a volume is read in slabs along its slowest
axis, so the memory a file takes is bounded by one chunk, never by the file. The counter
adds the chunks' histograms. Positions and extents let a consumer place each chunk (the
patches of a raster, the slices of a volume).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ...errors import BadMaskError, MfbError, Param

if TYPE_CHECKING:
    from collections.abc import Iterator
    from fractions import Fraction

    from .thumbnail import Thumbnail

#: The most pixels (or voxels) one file may hold when it is read chunk by chunk: a header
#: beyond it is refused before any value is read (``--max-pixels`` guards one chunk). About
#: 17 billion: a 40,000 x 40,000 raster (1.6 G) or a 512 x 512 x 2000 CT (0.5 G) are far
#: below it, a crafted 2^31 x 2^31 header is far above.
DEFAULT_MAX_TOTAL_PIXELS: int = 1 << 34

#: Decoded bytes a volume slab holds at most (at least one slice is always read): with the
#: decompressor's and the counter's buffers, a file takes a few times this, whatever its size.
SLAB_BYTES = 16 << 20


@dataclass(frozen=True)
class LabelHeader:
    """What a label file is, read before any of its values."""

    #: The label array's shape, axes as the file stores them: (rows, columns) for an image,
    #: (i, j, k) for a volume (NIfTI, NRRD and MetaImage order, the fastest axis first).
    shape: tuple[int, ...]
    #: The file's format, as told to people ("PNG", "NIfTI-1", "NRRD", "MetaImage").
    format: str = ""
    #: Millimetres per step along each spatial axis, where the file says (volumes).
    spacing: tuple[float, ...] | None = None
    #: The volume of one voxel in mm^3, exactly (a float spacing is an exact binary
    #: fraction); None where the file gives no spacing (2D images).
    voxel_volume: Fraction | None = None
    #: Voxel index -> world (mm) as a 4x4 row-major matrix, where the file says.
    affine: tuple[tuple[float, ...], ...] | None = None
    #: How the stored values are typed ("uint8", "float32 holding integers", ...).
    stored: str = ""
    #: Anything else a check may compare (kept small: it travels with every result).
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    #: A raster's class map, decimated (base/thumbnail.py), when the reading asked for one
    #: (``ReadOptions.thumbnail``): filled as the raster is read, complete once it is.
    thumbnail: Thumbnail | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        """Pixels (or voxels) in the file."""
        return math.prod(self.shape)

    @property
    def is_volume(self) -> bool:
        return len(self.shape) >= 3


class LabelChunk(NamedTuple):
    """Part of a file's labels: an integer array (or image) and where it sits."""

    values: Any  # an integer NumPy array, or a Pillow image for a 2D mask read whole
    #: Index of values' first element along each axis of the file's array.
    start: tuple[int, ...]

    @property
    def extent(self) -> tuple[int, ...]:
        """The chunk's shape, axes as in the header."""
        values = self.values
        if hasattr(values, "shape"):
            return tuple(int(n) for n in values.shape)
        width, height = values.size  # a Pillow image
        return (height, width)


def one_chunk(values: Any) -> Iterator[LabelChunk]:
    """The chunks of a file read whole: one, at the origin."""
    yield LabelChunk(values, (0, 0))


def check_total(name: str, shape: tuple[int, ...], max_total: int | None) -> None:
    """Refuse a header whose whole array is beyond ``max_total``, before any value is read."""
    total = math.prod(shape)
    if max_total is not None and total > max_total:
        raise BadMaskError(
            name,
            f"{'x'.join(map(str, shape))} = {total} pixels exceeds the limit of {max_total} "
            "for one file (a crafted header?); raise ",
            Param("max_total_pixels"),
            " if the file is genuine",
        )


def out_of_memory(name: str, *also: Param) -> MfbError:
    """The error for a decoder that ran out of memory: not a bad file (``--skip-bad`` must
    not drop it silently) but too many files decoded at once; names ``jobs`` and ``also``."""
    parts: list[str | Param] = [f"{name}: out of memory while decoding; lower ", Param("jobs")]
    for param in also:
        parts += [" or ", param]
    return MfbError(*parts)


def slab_depth(slice_bytes: int, depth: int) -> int:
    """How many slices along the slowest axis one slab holds (at least one)."""
    return max(1, min(depth, SLAB_BYTES // max(slice_bytes, 1)))
