"""Stored sample values: undo Pillow's scaling of low bit depths and min-is-white inversion."""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image

from ...errors import BadMaskError


def tile_rawmode(image: Image.Image) -> str | None:
    """How Pillow will unpack the stored samples (e.g. 'L;2' scales 2-bit values by 85)."""
    tiles = getattr(image, "tile", None)
    if not tiles:
        return None
    args = tiles[0].args
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return None


def tile_codec(image: Image.Image) -> str | None:
    """Which Pillow decoder will read the image ('raw', 'libtiff', 'zip', ...)."""
    tiles = getattr(image, "tile", None)
    return str(tiles[0][0]) if tiles else None


#: Big-endian raw modes that Pillow applies to what libtiff already turned into native
#: (little-endian) order, swapping every sample a second time: compressed big-endian TIFFs
#: of signed 16/32-bit and float32 samples came out as other values (2 read as 512).
_LIBTIFF_SWAPPED: dict[str, tuple[str, str]] = {
    "I;16BS": ("<u2", "<i2"),
    "I;32BS": ("<u4", "<i4"),
    "F;32BF": ("<u4", "<f4"),
}


def undo_double_swap(image: Image.Image, codec: str | None, rawmode: str | None) -> Image.Image:
    """The stored samples of a compressed big-endian TIFF Pillow byte-swapped twice."""
    if codec != "libtiff" or rawmode not in _LIBTIFF_SWAPPED or sys.byteorder != "little":
        return image
    unsigned, stored = _LIBTIFF_SWAPPED[rawmode]
    decoded = np.asarray(image)
    swapped = decoded.astype(np.int64).astype(unsigned) if decoded.dtype.kind == "i" else decoded
    values = swapped.view(unsigned).byteswap().view(stored)
    return Image.fromarray(values.astype(np.int32 if stored[1] == "i" else np.float32))


def check_not_narrowed(name: str, mode: str, rawmode: str | None) -> None:
    """Refuse a file Pillow would narrow: 16-bit samples read into 8 bits (SGI), floats
    into integers, or float64 into float32; each merges or rounds distinct labels."""
    if rawmode is None:
        return
    wide = any(f";{bits}" in rawmode for bits in (16, 32, 64))
    narrowed = (
        (mode in ("L", "P", "1", "LA", "PA") and wide)
        or (mode.startswith("I") and "F" in rawmode.split(";", 1)[-1])
        or (mode == "F" and ";64" in rawmode)
    )
    if mode in ("RGB", "RGBA") and wide:
        # A 16-bit colour mask keeps only the high byte of each channel in Pillow: two
        # colours that differ in the low byte would be counted as one class.
        raise BadMaskError(
            name,
            f"stores 16-bit colour samples (raw mode {rawmode}) that Pillow narrows to 8 bits, "
            "which can merge distinct colours; save the colour masks with 8 bits per channel",
        )
    if narrowed:
        raise BadMaskError(
            name,
            f"stores samples Pillow would narrow to mode {mode} (raw mode {rawmode}), "
            "merging or rounding values; save it as a 16-bit PNG or an integer TIFF",
        )


#: Pillow raw modes that do not hand over the stored sample: low bit depths scaled to
#: 0-255, and 'min-is-white' TIFFs inverted. Each maps back exactly: the decoded value is
#: divided by the scale, then (if inverted) subtracted from the largest stored value.
_SCALED_RAWMODES: dict[str, tuple[int, int | None]] = {
    "L;2": (85, None),
    "L;2R": (85, None),
    "L;4": (17, None),
    "L;4R": (17, None),
    "L;2I": (85, 3),
    "L;4I": (17, 15),
    "L;I": (1, 255),
    "1;I": (1, 1),  # mode '1' arrays are 0/1
    "1;IR": (1, 1),
}


def stored_samples(image: Image.Image, rawmode: str | None) -> Image.Image:
    """The image with the values stored in the file, undoing Pillow's scaling or inversion.

    A 2-bit greyscale PNG's ids 0-3 come out of Pillow as 0/85/170/255; the stored samples
    are the labels, as they are for 1-bit and palette files.
    """
    if image.mode not in ("L", "1") or rawmode not in _SCALED_RAWMODES:
        return image
    scale, top = _SCALED_RAWMODES[rawmode]
    values = np.asarray(image, dtype=np.uint8) // np.uint8(scale)
    if top is not None:
        values = np.uint8(top) - values
    return Image.fromarray(values)
