"""Class ids per pixel: a file's decoded values mapped exactly, in bounded memory.

The counts map a file's histogram (labels/mapping.py): a mapping is a function of the
value, so the counts of the mapped image follow from those of the stored one. Connected
components need more: which pixels share a class. A ``Partition`` gives every pixel a
value shared exactly by the pixels of its class (after the colour map and the remap), so
two values merged by a remap make one region, and keeps the class id of each value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from ..decode.pillow import mask_array

if TYPE_CHECKING:
    import numpy.typing as npt

    from ..._types import Int64Array
    from ..decode.raw import RawLabels

#: Pixels looked up at once: the look-up's temporaries (8 bytes a pixel) stay near 8 MiB.
CHUNK = 1 << 20


@dataclass(frozen=True, eq=False)
class Partition:
    """An image relabelled so that two pixels share a value exactly when they share a class.

    ``values`` is C-contiguous, unsigned and never 0 (connected-component libraries read 0
    as background); ``keys`` are its distinct values, sorted, and ``classes[i]`` the class
    id of the pixels holding ``keys[i]`` (distinct ids: one value per class).
    """

    values: npt.NDArray[np.unsignedinteger[Any]]
    keys: Int64Array
    classes: Int64Array

    def class_ids(self) -> Int64Array:
        """The class id of every pixel (8 bytes a pixel), looked up CHUNK pixels at a time."""
        flat = self.values.reshape(-1)
        out = np.empty(flat.size, dtype=np.int64)
        for start in range(0, flat.size, CHUNK):
            part = flat[start : start + CHUNK]
            out[start : start + CHUNK] = self.classes[np.searchsorted(self.keys, part)]
        return out.reshape(self.values.shape)


def stored_values(raw: RawLabels) -> npt.NDArray[np.integer[Any]]:
    """A file's stored values as an array: label ids, colour codes or palette indices."""
    values = raw.values
    if values is None:  # a volume, read slab by slab: never held whole
        raise ValueError("a file read in chunks has no whole array of stored values")
    return mask_array(values) if isinstance(values, Image.Image) else values


def partition_of(
    values: npt.NDArray[np.integer[Any]], raw_ids: Int64Array, classes: Int64Array
) -> Partition:
    """The partition of ``values`` into classes: ``raw_ids`` are the distinct values present
    (sorted, a histogram's ids) and ``classes[i]`` the class id of ``raw_ids[i]``.

    Exact, one vectorised pass. Where each class has one stored value and the values fit
    16 bits (the usual mask), every value is XORed with one that is absent: a bijection,
    so the regions are the stored ones, and no value becomes 0 (no copy at all when 0 is
    absent). Otherwise (a remap merging values, colour codes, wide rasters) each pixel gets
    1 + the rank of its class among those present, as uint8 or uint16, looked up CHUNK
    pixels at a time.
    """
    raw_ids = np.asarray(raw_ids, dtype=np.int64)
    classes = np.asarray(classes, dtype=np.int64)
    present, rank = np.unique(classes, return_inverse=True)
    small = values.dtype.kind in "ui" and values.dtype.itemsize <= 2
    # Every value of the type present (a uint8 image of all 256): none is free to XOR with.
    if small and len(present) == len(raw_ids) < 1 << (8 * values.dtype.itemsize):
        return _exclusive_or(values, raw_ids, classes)
    slot_dtype = _slot_dtype(len(present))
    slots = (rank.reshape(-1) + 1).astype(slot_dtype)
    out = np.empty(values.shape, dtype=slot_dtype)
    flat_in, flat_out = values.reshape(-1), out.reshape(-1)
    if small:  # a table indexed by the stored value's bits
        table = np.zeros(1 << (8 * values.dtype.itemsize), dtype=slot_dtype)
        table[_unsigned(raw_ids, values.dtype.itemsize)] = slots
        unsigned = _native_unsigned(values).reshape(-1)
        for start in range(0, flat_in.size, CHUNK):
            np.take(table, unsigned[start : start + CHUNK], out=flat_out[start : start + CHUNK])
    else:
        for start in range(0, flat_in.size, CHUNK):
            where = np.searchsorted(raw_ids, flat_in[start : start + CHUNK])
            flat_out[start : start + CHUNK] = slots[where]
    keys = np.arange(1, len(present) + 1, dtype=np.int64)
    return Partition(out, keys, present.astype(np.int64))


def _exclusive_or(
    values: npt.NDArray[np.integer[Any]], raw_ids: Int64Array, classes: Int64Array
) -> Partition:
    bits = 8 * values.dtype.itemsize
    stored = _unsigned(raw_ids, values.dtype.itemsize)
    taken = np.zeros(1 << bits, dtype=bool)
    taken[stored] = True
    absent = int(np.argmin(taken))  # a free value: fewer values present than the type holds
    unsigned = _native_unsigned(values)
    if absent:
        unsigned = unsigned ^ unsigned.dtype.type(absent)
    elif not unsigned.flags.writeable:
        # A decoder's read-only buffer (Pillow's): cc3d needs to flag it writable, so a copy.
        unsigned = unsigned.copy()
    keys = stored ^ absent
    order = np.argsort(keys)
    return Partition(np.ascontiguousarray(unsigned), keys[order], classes[order])


def _unsigned(ids: Int64Array, itemsize: int) -> Int64Array:
    """Stored values as the unsigned integers of their bits (-1 in int16 is 65535)."""
    return ids & ((1 << (8 * itemsize)) - 1)


def _native_unsigned(values: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.unsignedinteger[Any]]:
    unsigned = np.dtype(f"u{values.dtype.itemsize}")
    native = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("="))
    return native.view(unsigned)


def _slot_dtype(count: int) -> np.dtype[Any]:
    if count < 1 << 8:
        return np.dtype(np.uint8)
    if count < 1 << 16:
        return np.dtype(np.uint16)
    return np.dtype(np.uint32)
