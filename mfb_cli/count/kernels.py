"""Count the values of one image by the cheapest exact route."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from ..read.decode.pillow import mask_array

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._types import Int64Array
    from ..read.decode.raw import RawLabels
    from ..read.options import ReadOptions

# Spans up to this size are counted with one bincount; wider ones with np.unique.
_BINCOUNT_SPAN = 1 << 20
# From this many pixels on, uint8 labels are counted in pairs (see bincount_uint8_pairs).
_PAIR_BINCOUNT_MIN = 1 << 16
# Arrays are counted this many pixels at a time (see histogram_of_array).
_CHUNK = 1 << 20
# OpenCV returns float32 bins: exact while every count is below 2**24.
_CALCHIST_MAX_PIXELS = 1 << 24


def histogram_of_array(labels: npt.NDArray[np.integer]) -> tuple[Int64Array, Int64Array]:
    """Present ids and their pixel counts in an integer array, with one vectorised pass.

    Counted in chunks of _CHUNK pixels: np.bincount and np.unique first copy their input
    (bincount widens it to 8 bytes a pixel), which for a 9000x9000 16-bit mask would be
    650 MB per image in flight; a chunk takes 8 MB whatever the image.
    """
    flat = labels.ravel(order="K")  # memory order: no copy for C- or Fortran-ordered arrays
    if flat.size <= _CHUNK:
        return _histogram_of_flat(flat)
    starts = range(0, flat.size, _CHUNK)
    return summed([_histogram_of_flat(flat[start : start + _CHUNK]) for start in starts])


def summed(parts: list[tuple[Int64Array, Int64Array]]) -> tuple[Int64Array, Int64Array]:
    """The histograms of the parts of one image, added up."""
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ids = np.concatenate([one[0] for one in parts])
    counts = np.concatenate([one[1] for one in parts])
    present, where = np.unique(ids, return_inverse=True)
    totals = np.zeros(len(present), dtype=np.int64)
    np.add.at(totals, where, counts)
    return present.astype(np.int64), totals


def _histogram_of_flat(flat: npt.NDArray[np.integer]) -> tuple[Int64Array, Int64Array]:
    if flat.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if flat.dtype == np.uint8 and flat.size >= _PAIR_BINCOUNT_MIN:
        counts = bincount_uint8_pairs(flat)
        offset = 0
    elif flat.dtype.kind == "u" and flat.dtype.itemsize <= 2:
        counts = np.bincount(flat)
        offset = 0
    else:
        low, high = int(flat.min()), int(flat.max())
        if high - low >= _BINCOUNT_SPAN:
            ids, counts = np.unique(flat, return_counts=True)
            return ids.astype(np.int64), counts.astype(np.int64)
        counts = np.bincount((flat.astype(np.int64) - low) if low else flat)
        offset = low
    present = np.flatnonzero(counts)
    return (present + offset).astype(np.int64), counts[present].astype(np.int64)


def bincount_uint8_pairs(flat: npt.NDArray[np.integer]) -> Int64Array:
    """np.bincount of a 1-D uint8 array, reading two pixels per element.

    np.bincount first casts its input to intp (8 bytes a pixel); viewing the bytes as
    uint16 halves that work, and the 256x256 table of pairs folds back into 256 bins.
    """
    even = flat.size - flat.size % 2
    pairs = np.bincount(flat[:even].view(np.uint16), minlength=1 << 16).reshape(256, 256)
    counts: Int64Array = (pairs.sum(axis=0) + pairs.sum(axis=1)).astype(np.int64)
    if even < flat.size:
        counts[flat[-1]] += 1
    return counts


@functools.cache
def _opencv() -> Any | None:
    """OpenCV, if installed: its calcHist counts 16-bit images without widening them."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def histogram_fast(labels: npt.NDArray[np.integer]) -> tuple[Int64Array, Int64Array]:
    """Like histogram_of_array for the uint8/uint16 arrays of the fast decoder, counted in C.

    8-bit: Pillow's histogram over the array's own memory (histogram_uint8). 16-bit:
    OpenCV's calcHist when installed, whose float32 bins are exact below 2**24 pixels.
    Anything else (or a 16-bit image without OpenCV) is counted by NumPy.
    """
    if type(labels) is not np.ndarray or labels.ndim != 2 or not labels.flags.c_contiguous:
        return histogram_of_array(labels)  # e.g. a memory-mapped .npy
    if labels.dtype == np.uint8:
        counts = histogram_uint8(labels)
        present = np.flatnonzero(counts)
        return present.astype(np.int64), counts[present]
    cv2 = _opencv()
    if cv2 is None or labels.dtype != np.uint16 or labels.size > _CALCHIST_MAX_PIXELS:
        return histogram_of_array(labels)
    floats: npt.NDArray[np.float32] = cv2.calcHist([labels], [0], None, [1 << 16], [0, 1 << 16])
    present = np.flatnonzero(floats.ravel())
    return present.astype(np.int64), floats.ravel()[present].astype(np.int64)


def histogram_uint8(labels: npt.NDArray[np.integer]) -> Int64Array:
    """The 256 bins of a C-contiguous 2-D uint8 array, counted by Pillow without the GIL.

    A label map holds long runs of one class, and a plain histogram then adds to the same
    bin pixel after pixel, each add waiting for the last (about 3x slower than on varied
    values). Viewed as an RGBA image (no copy), four neighbouring pixels go to four
    separate tables, which are added up; the columns past a multiple of four are counted
    on their own.
    """
    height, width = labels.shape
    quads = width // 4
    counts = np.zeros(256, dtype=np.int64)
    if quads:
        image = Image.frombuffer("RGBA", (quads, height), labels, "raw", "RGBA", width, 1)
        counts += np.asarray(image.histogram(), dtype=np.int64).reshape(4, 256).sum(axis=0)
    if width % 4:
        rest = np.ascontiguousarray(labels[:, quads * 4 :])
        image = Image.frombuffer("L", (width % 4, height), rest, "raw", "L", 0, 1)
        counts += np.asarray(image.histogram(), dtype=np.int64)
    return counts


def histogram_of_image(image: Image.Image) -> tuple[Int64Array, Int64Array]:
    """Present ids and pixel counts of a decoded label image, by the cheapest exact route."""
    if image.mode in ("L", "P", "1"):
        # Pillow counts 8-bit images in C without building an array; for 'P' the bins are
        # palette indices (the labels), and for '1' the set value is stored as 255.
        counts = np.asarray(image.histogram(), dtype=np.int64)[:256]
        present = np.flatnonzero(counts)
        ids = present if image.mode != "1" else (present > 0).astype(np.int64)
        return ids.astype(np.int64), counts[present]
    # Pillow's histogram folds 16/32-bit values into 256 bins, so count the array instead:
    # in bands of rows, each copied out on its own (an array of the whole image would be
    # one more copy of it).
    width, height = image.size
    rows = max(1, _CHUNK // max(width, 1))
    if rows >= height:
        return histogram_of_array(mask_array(image))
    return summed(
        [
            histogram_of_array(mask_array(image.crop((0, top, width, min(top + rows, height)))))
            for top in range(0, height, rows)
        ]
    )


def histogram_of_raw(raw: RawLabels, read: ReadOptions) -> tuple[Int64Array, Int64Array]:
    """Present raw values (ids, colour codes or palette indices) and their pixel counts:
    each chunk's histogram, added up (a file read whole is one chunk), or where the
    decoder can, its blocks counted as they are decoded (a uint8 raster's tiles)."""
    if raw.count_bytes is not None:
        counts = raw.count_bytes(histogram_uint8)
        present = np.flatnonzero(counts)
        return without_nodata(present.astype(np.int64), counts[present], raw.nodata)
    parts = []
    for chunk in raw.chunks():
        parts.append(histogram_of_chunk(chunk.values, read))
        del chunk  # the next chunk is read while only the decoder holds one
        if len(parts) > 64:  # a raster of many bands: keep the partial sums few
            parts = [summed(parts)]
    ids, counts = parts[0] if len(parts) == 1 else summed(parts)
    return without_nodata(ids, counts, raw.nodata)


def without_nodata(
    ids: Int64Array, counts: Int64Array, nodata: int | None
) -> tuple[Int64Array, Int64Array]:
    """A histogram without a raster's nodata value (left out of the counts, as GDAL masks
    it); unchanged when the file has none."""
    if nodata is None:
        return ids, counts
    kept = ids != nodata
    return ids[kept], counts[kept]


def histogram_of_chunk(values: Any, read: ReadOptions) -> tuple[Int64Array, Int64Array]:
    """Present values and their pixel counts in one chunk (an image or an array)."""
    if isinstance(values, Image.Image):
        return histogram_of_image(values)
    if read.use_fast or getattr(values, "dtype", None) == np.uint8:
        return histogram_fast(values)  # 8-bit: Pillow's histogram, the GIL released
    return histogram_of_array(values)
