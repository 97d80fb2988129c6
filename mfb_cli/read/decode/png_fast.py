"""8/16-bit greyscale PNGs decoded by libpng; anything unusual goes to Pillow."""

from __future__ import annotations

import io
import threading
import zlib
from typing import TYPE_CHECKING

import numpy as np

from ...errors import BadMaskError
from ..base.files import open_regular
from .fast import LIBPNG_WARNINGS, fast_modules

if TYPE_CHECKING:
    from pathlib import Path

    import numpy.typing as npt

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_GREY = 0
_FAST_BIT_DEPTHS = {8: np.uint8, 16: np.uint16}


def read_png_fast(
    path: Path | str, max_pixels: int | None, data: bytes | None = None
) -> npt.NDArray[np.integer] | None:
    """Labels of an 8/16-bit greyscale PNG decoded by libpng (imagecodecs), else None.

    None means "let Pillow read it": palette files (libpng would return colours, not
    indices), 1/2/4-bit files (libpng scales them to 0-255), interlaced files (rare in
    label sets; libpng warns about each), greyscale with a tRNS chunk (decoded with an
    alpha channel), anything over ``max_pixels``, and any file libpng refuses or warns
    about, so Pillow names the problem the same way for every decoder. ``data`` holds
    the file's bytes when it does not live on disk (an archive member).
    """
    codecs = fast_modules()
    if codecs is None:
        return None
    try:
        with io.BytesIO(data) if data is not None else open_regular(str(path)) as file:
            # IHDR is always the first chunk: size, bit depth and colour type at fixed offsets.
            head = file.read(33)
            if len(head) < 33 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
                return None
            width = int.from_bytes(head[16:20], "big")
            height = int.from_bytes(head[20:24], "big")
            bit_depth, colour_type, interlace = head[24], head[25], head[28]
            if colour_type != _PNG_GREY or bit_depth not in _FAST_BIT_DEPTHS or interlace:
                return None
            if max_pixels is not None and width * height > max_pixels:
                return None
            data = head + file.read()
    except (OSError, BadMaskError):
        return None  # Pillow's route names the problem
    image_data = _image_data_bytes(data)
    if image_data is None or image_data > _deflate_bound(height * (1 + -(-width * bit_depth // 8))):
        # Not spotless, or more compressed data than any deflate stream of the image needs:
        # libpng would inflate all of it (4 MB can hold 4 GB of surplus) before warning;
        # Pillow stops once the rows are complete.
        return None
    thread = threading.get_ident()
    LIBPNG_WARNINGS.warned[thread] = False
    try:
        labels: npt.NDArray[np.integer] = codecs.png_decode(data)
    except Exception:  # any libpng error: Pillow reads the file again and reports it
        return None
    finally:
        warned = LIBPNG_WARNINGS.warned.pop(thread)
    if warned:
        return None
    if labels.shape != (height, width) or labels.dtype != _FAST_BIT_DEPTHS[bit_depth]:
        return None
    return labels


def _deflate_bound(size: int) -> int:
    """The most bytes zlib's deflate needs for ``size`` bytes of input (zlib's compressBound:
    stored blocks, 5 bytes of header per 16 KiB, plus the stream's header and checksum)."""
    return size + (size >> 12) + (size >> 14) + (size >> 25) + 13


def _image_data_bytes(data: bytes) -> int | None:
    """The bytes of all IDAT chunks, or None unless every chunk up to IEND is complete and
    matches its CRC, and none is acTL.

    Pillow refuses a file with a bad CRC before the image data or a chunk cut short after
    it, where libpng may only warn and decode; files that are not spotless go to Pillow,
    so every decoder refuses the same files. An animated PNG (acTL) goes to Pillow too:
    libpng decodes only its default image, silently leaving out every other frame.
    """
    position = len(_PNG_SIGNATURE)
    image_data = 0
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        end = position + 8 + length
        if end + 4 > len(data):
            return None
        if zlib.crc32(data[position + 4 : end]) != int.from_bytes(data[end : end + 4], "big"):
            return None
        kind = data[position + 4 : position + 8]
        if kind == b"IEND":
            return image_data
        if kind == b"acTL":
            return None
        if kind == b"IDAT":
            image_data += length
        position = end + 4
    return None
