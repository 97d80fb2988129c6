"""Read one label file into a validated, fully decoded Pillow image.

Only formats that keep every pixel's value exactly are accepted: a JPEG changes labels
at every edge, and a colour rendering is not a label map until a colour map says so.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from .errors import BadMaskError, MfbError

#: Pillow's own guard against decompression bombs (about 89.5 million pixels).
DEFAULT_MAX_PIXELS: int = int(Image.MAX_IMAGE_PIXELS or 89_478_485)

#: Pillow modes that hold integer labels, one per pixel.
LABEL_MODES = frozenset({"1", "L", "P", "I;16", "I;16L", "I;16B", "I;16N", "I"})
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV"})
_LOSSY_FORMATS = frozenset({"JPEG", "MPO"})
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)


@dataclass(frozen=True)
class ReadOptions:
    """How label files become label ids; one object shared by every scanning command."""

    max_pixels: int | None = DEFAULT_MAX_PIXELS

    def label_mapping(self) -> dict[str, Any]:
        """What the ids mean after reading (colour maps, remaps): empty when ids are as stored.

        Statistics files record it, so counts whose ids mean different things never merge.
        """
        return {}


def open_mask(path: Path | str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open and fully decode a label image, or raise BadMaskError naming the file."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            _check_header(path, image, max_pixels)
            image.load()
            return image
    except BadMaskError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow's own process-wide limit, below max_pixels: the mfb command lifts it (and
        # checks max_pixels itself); a library caller has to raise it for the process.
        raise BadMaskError(
            path,
            f"{error} (Pillow's limit PIL.Image.MAX_IMAGE_PIXELS; set it to None to rely on "
            "max_pixels alone)",
        ) from error
    except FileNotFoundError as error:
        raise BadMaskError(path, "file disappeared while scanning") from error
    except PermissionError as error:
        raise BadMaskError(path, "permission denied") from error
    except IsADirectoryError as error:
        raise BadMaskError(path, "is a folder, not a file") from error
    except UnidentifiedImageError as error:
        raise BadMaskError(path, _unreadable_reason(path)) from error
    except MemoryError as error:
        # Not a bad file: the machine ran short, so --skip-bad must not drop it silently.
        raise MfbError(
            f"{path}: out of memory while decoding; lower --jobs or --max-pixels"
        ) from error
    except _DECODE_ERRORS as error:
        raise BadMaskError(
            path, f"cannot decode ({error}); the file is damaged or truncated"
        ) from error


def mask_array(image: Image.Image) -> npt.NDArray[np.integer]:
    """The image's labels as a 2-D integer array (palette indices for 'P', 0/1 for '1')."""
    array = np.asarray(image)
    if array.dtype == np.bool_:
        return array.view(np.uint8)
    return array


def _check_header(path: Path, image: Image.Image, max_pixels: int | None) -> None:
    if image.format in _LOSSY_FORMATS:
        raise BadMaskError(
            path,
            f"is a {image.format} file: lossy compression changes label values at every edge; "
            "export the masks as PNG",
        )
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        raise BadMaskError(
            path,
            f"{width}x{height} = {width * height} pixels exceeds the limit of {max_pixels} "
            "(a decompression bomb?); raise --max-pixels if the file is genuine",
        )
    if image.mode in LABEL_MODES:
        return
    if image.mode in _COLOUR_MODES:
        raise BadMaskError(
            path,
            f"is a colour image (mode {image.mode}): it looks colour-coded; "
            "mfb reads label ids from 8/16-bit single-channel or palette masks",
        )
    raise BadMaskError(
        path,
        f"has image mode {image.mode}, which does not hold integer labels "
        f"(supported: {', '.join(sorted(LABEL_MODES))})",
    )


def _unreadable_reason(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    if size == 0:
        return "empty file (0 bytes)"
    return "not an image file Pillow can read (wrong extension, or damaged header)"
