"""TIFF fix-ups: signed and unsigned rasters Pillow misreads, float class rasters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import BadMaskError, Param

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt
    from PIL import Image

# TIFF tags: Pillow reads 8-bit signed and 32-bit unsigned rasters with the wrong sign.
SAMPLES_PER_PIXEL, BITS_PER_SAMPLE, SAMPLE_FORMAT = 277, 258, 339
# Where the pixels are: strips (offsets, rows each, byte counts) or tiles.
COMPRESSION, PLANAR_CONFIG = 259, 284
STRIP_OFFSETS, ROWS_PER_STRIP, STRIP_BYTE_COUNTS = 273, 278, 279
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_BYTE_COUNTS = 322, 323, 324, 325


def tiff_tag(image: Image.Image, tag: int, default: int) -> int:
    if image.format != "TIFF":
        return default
    value = image.tag_v2.get(tag, default)  # type: ignore[attr-defined]
    return int(value[0] if isinstance(value, tuple) else value)


def _tag_ints(image: Image.Image, tag: int) -> tuple[int, ...]:
    value = image.tag_v2.get(tag, ())  # type: ignore[attr-defined]
    return tuple(int(v) for v in (value if isinstance(value, tuple) else (value,)))


def check_strips(name: str, image: Image.Image, file_size: int) -> None:
    """Refuse a TIFF whose strips (or tiles) do not hold the whole image.

    Pillow decodes what the directory lists and leaves the rest: rows of a strip that is
    not listed stay 0, and an uncompressed strip shorter than its rows is read on into the
    bytes after it (the directory, another strip), which would be counted as labels.
    """
    if image.format != "TIFF":
        return
    width, height = image.size
    samples = tiff_tag(image, SAMPLES_PER_PIXEL, 1)
    planes = samples if tiff_tag(image, PLANAR_CONFIG, 1) == 2 else 1
    bits = (_tag_ints(image, BITS_PER_SAMPLE) or (1,))[0]
    row_bits = (samples // planes) * bits
    if TILE_WIDTH in image.tag_v2:  # type: ignore[attr-defined]
        kind, offsets_tag, counts_tag = "tile", TILE_OFFSETS, TILE_BYTE_COUNTS
        tile_width, tile_length = tiff_tag(image, TILE_WIDTH, 0), tiff_tag(image, TILE_LENGTH, 0)
        if tile_width <= 0 or tile_length <= 0:
            raise BadMaskError(name, "is a TIFF with tiles of no size (a damaged file)")
        across, down = -(-width // tile_width), -(-height // tile_length)
        needs = [tile_length * -(-tile_width * row_bits // 8)] * (across * down * planes)
    else:
        kind, offsets_tag, counts_tag = "strip", STRIP_OFFSETS, STRIP_BYTE_COUNTS
        rows = min(tiff_tag(image, ROWS_PER_STRIP, height), height)
        if rows <= 0:
            raise BadMaskError(name, "is a TIFF with strips of no rows (a damaged file)")
        per_plane = -(-height // rows)
        row_bytes = -(-width * row_bits // 8)
        needs = [
            min(rows, height - (i % per_plane) * rows) * row_bytes
            for i in range(per_plane * planes)
        ]
    offsets, counts = _tag_ints(image, offsets_tag), _tag_ints(image, counts_tag)
    listed = min(len(offsets), len(counts))
    if listed < len(needs):
        raise BadMaskError(
            name,
            f"is a TIFF listing {listed} {kind}s where its size needs {len(needs)}: the "
            "pixels without data would be read as 0 (a damaged file)",
        )
    uncompressed = tiff_tag(image, COMPRESSION, 1) == 1
    for index, (offset, count, need) in enumerate(zip(offsets, counts, needs, strict=False)):
        if offset + count > file_size:
            raise BadMaskError(
                name,
                f"is a TIFF whose {kind} {index} ends at byte {offset + count}, past the end "
                f"of the file ({file_size} bytes): truncated",
            )
        if uncompressed and count < need:
            raise BadMaskError(
                name,
                f"is an uncompressed TIFF whose {kind} {index} holds {count} bytes where its "
                f"pixels need {need}: the bytes after it would be read as pixels (a damaged "
                "file)",
            )
    ifd = image.tag_v2  # type: ignore[attr-defined]
    bigtiff = bool(getattr(ifd, "_bigtiff", False))
    at = int(getattr(ifd, "offset", 0) or 0)  # 0: where the directory lies is not known
    places = directory(bigtiff, at, len(ifd) if at else 0)
    check_block_places(name, kind, offsets[: len(needs)], counts[: len(needs)], places)


def directory(bigtiff: bool, offset: int, entries: int) -> tuple[int, int, int]:
    """Where a TIFF's header and one directory (``entries`` tags at ``offset``) lie, as
    (header end, directory start, directory end) for check_block_places; no entries: no
    directory to check."""
    if not entries:
        return (16 if bigtiff else 8), 0, 0
    if bigtiff:
        return 16, offset, offset + 8 + 20 * entries + 8
    return 8, offset, offset + 2 + 12 * entries + 4


def check_block_places(
    name: str,
    kind: str,
    offsets: Sequence[int] | npt.NDArray[np.int64],
    counts: Sequence[int] | npt.NDArray[np.int64],
    places: tuple[int, int, int],
) -> None:
    """Refuse blocks (strips, tiles) whose bytes lie in the file's header or directory, or
    partly over another block: a reader would decode those bytes as pixels.

    Two blocks at the very same place with the same size are allowed (a writer may store
    identical blocks once); a block that starts inside another one is damage.
    """
    header_end, ifd_start, ifd_end = places
    starts = np.asarray(offsets, dtype=np.int64).ravel()
    ends = starts + np.asarray(counts, dtype=np.int64).ravel()
    filled = np.flatnonzero(ends > starts)
    for i in filled:
        start, end = int(starts[i]), int(ends[i])
        if start < header_end:
            where = "header"
        elif ifd_end > ifd_start and start < ifd_end and end > ifd_start:
            where = "directory (its tags)"
        else:
            continue
        raise BadMaskError(
            name,
            f"is a TIFF whose {kind} {int(i)} lies at bytes {start}..{end}, over the file's "
            f"{where}: those bytes would be read as pixels (a damaged file)",
        )
    order = filled[np.lexsort((ends[filled], starts[filled]))]
    if order.size < 2:
        return
    s, e = starts[order], ends[order]
    reach = np.maximum.accumulate(e)[:-1]  # the furthest end of the blocks before each
    same = (s[1:] == s[:-1]) & (e[1:] == e[:-1])
    bad = np.flatnonzero((s[1:] < reach) & ~same)
    if bad.size:
        j = int(order[int(bad[0]) + 1])
        raise BadMaskError(
            name,
            f"is a TIFF whose {kind} {j} starts at byte {int(starts[j])}, inside another "
            f"{kind}: overlapping {kind}s (a damaged file)",
        )


def label_values(name: str, image: Image.Image) -> Image.Image | npt.NDArray[np.integer]:
    if image.mode == "F":
        return _integral(name, np.asarray(image))
    signed = tiff_tag(image, SAMPLE_FORMAT, 1) == 2
    bits = tiff_tag(image, BITS_PER_SAMPLE, 0)
    if image.mode == "L" and signed:  # int8: Pillow hands over the bytes as unsigned
        return np.asarray(image).view(np.int8)
    if image.mode == "I" and bits == 32 and not signed:  # uint32: Pillow reads int32
        return np.asarray(image).view(np.uint32)
    return image


def _integral(name: str, array: npt.NDArray[np.floating]) -> npt.NDArray[np.int64]:
    # GIS tools often write class rasters as float32 (QGIS' rasterize default); exact
    # integers up to 2**24 survive that, anything else is not a class id.
    finite = np.isfinite(array)
    if not finite.all():
        raise BadMaskError(
            name,
            f"has {int(array.size - np.count_nonzero(finite))} NaN or infinite pixels; write "
            "no-data as an integer (e.g. -1) and pass ",
            Param("ignore"),
            " for it",
        )
    beyond = np.abs(array) > FLOAT32_EXACT
    if beyond.any():
        example = float(array[beyond][0])
        raise BadMaskError(
            name,
            f"holds {example}, beyond 2**24, where float32 no longer keeps every integer "
            "(the value may have been rounded); write class ids as integers",
        )
    fractional = array != np.floor(array)
    if fractional.any():
        example = float(array[fractional][0])
        raise BadMaskError(
            name,
            f"holds non-integer values (e.g. {example}): a probability map or a resampled "
            "raster, not class ids",
        )
    return array.astype(np.int64)


FLOAT32_EXACT = float(1 << 24)
