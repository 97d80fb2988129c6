"""Open a label image with Pillow, refusing what does not hold exact labels."""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
from PIL import Image, UnidentifiedImageError

from ...errors import BadMaskError, Param
from ..base.budget import DEFAULT_MAX_PIXELS
from ..base.chunks import out_of_memory
from ..base.files import open_regular
from .codecs import check_codec
from .png_complete import check_png_complete, prefill
from .samples import check_not_narrowed, stored_samples, tile_codec, tile_rawmode, undo_double_swap
from .tiff import SAMPLES_PER_PIXEL, check_strips, tiff_tag

if TYPE_CHECKING:
    import numpy.typing as npt

# Pillow's TIFF reader warns through Python's warnings about tags it cannot parse ("Corrupt
# EXIF data"): two lines on stderr from a library that never prints, and about metadata
# only; the file is then decoded, or refused with a reason, like any other.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")

#: Pillow modes that hold integer labels, one per pixel.
LABEL_MODES = frozenset(
    {"1", "L", "P", "I;16", "I;16L", "I;16B", "I;16N", "I", "I;16S", "I;16BS", "I;16LS", "F"}
)
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV"})
COLOUR_MAPPED_MODES = frozenset({"RGB", "RGBA"})
_LOSSY_FORMATS = frozenset({"JPEG", "MPO"})
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)


def open_mask(
    path: Path | str | object,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    data: bytes | None = None,
    colour: bool = False,
) -> Image.Image:
    """Open and fully decode a label image, or raise BadMaskError naming the file.

    ``data`` holds the file's bytes when it does not live on disk (an archive member);
    ``colour`` accepts RGB/RGBA images, for when a colour map will turn them into ids.
    """
    name = str(path)
    try:
        with (
            io.BytesIO(data) if data is not None else open_regular(name) as source,
            open_image(source) as image,
        ):
            _check_header(name, image, max_pixels, colour)
            check_strips(name, image, _size_of(source))
            rawmode, codec = tile_rawmode(image), tile_codec(image)
            check_not_narrowed(name, image.mode, rawmode)
            prefilled = prefill(image)
            image.load()
            if image.format == "PNG":
                check_png_complete(name, source, image, prefilled)
            return stored_samples(undo_double_swap(image, codec, rawmode), rawmode)
    except BadMaskError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow's own process-wide limit, below max_pixels: the mfb command lifts it (and
        # checks max_pixels itself); a library caller has to raise it for the process.
        raise BadMaskError(
            name,
            f"{error} (Pillow's limit PIL.Image.MAX_IMAGE_PIXELS; set it to None to rely on "
            "max_pixels alone)",
        ) from error
    except FileNotFoundError as error:
        raise BadMaskError(name, "file disappeared while scanning") from error
    except PermissionError as error:
        raise BadMaskError(name, "permission denied") from error
    except IsADirectoryError as error:
        raise BadMaskError(name, "is a folder, not a file") from error
    except UnidentifiedImageError as error:
        size = len(data) if data is not None else _file_size(Path(name))
        head = data[:4] if data is not None else _file_head(name)
        raise BadMaskError(name, _unreadable_reason(size, head)) from error
    except MemoryError as error:
        raise out_of_memory(name, Param("max_pixels")) from error
    except _DECODE_ERRORS as error:
        raise BadMaskError(
            name, f"cannot decode ({error}); the file is damaged or truncated"
        ) from error


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: What Image.open takes a format reader's refusal for ("not this format, try the next").
_NOT_THIS_FORMAT = (SyntaxError, IndexError, TypeError, struct.error)


def open_image(source: IO[bytes]) -> Image.Image:
    """``Image.open(source)``, going straight to Pillow's PNG reader for a PNG.

    Image.open first imports the readers of five common formats (about 13 ms, a tenth of
    the start-up of a run on a few masks), since it cannot tell the format from a name.
    A PNG signature is accepted by Pillow's PNG reader alone, so the result is the same;
    a file the PNG reader refuses goes through Image.open, which identifies it (or not)
    exactly as before, and so does every other file.
    """
    bomb_check = getattr(Image, "_decompression_bomb_check", None)  # what Image.open runs
    if source.read(8) != _PNG_SIGNATURE or bomb_check is None:
        source.seek(0)
        return Image.open(source)
    from PIL import PngImagePlugin

    source.seek(0)
    try:
        image = PngImagePlugin.PngImageFile(source)
    except _NOT_THIS_FORMAT:
        source.seek(0)
        return Image.open(source)
    try:
        bomb_check(image.size)
    except BaseException:
        image.close()
        raise
    return image


def mask_array(image: Image.Image) -> npt.NDArray[np.integer]:
    """The image's labels as a 2-D integer array (palette indices for 'P', 0/1 for '1')."""
    array = np.asarray(image)
    if array.dtype == np.bool_:
        # Pillow's '1' buffer holds 0 and 255 under a bool dtype: cast, do not view.
        return array.astype(np.uint8)
    return array


def _check_header(name: str, image: Image.Image, max_pixels: int | None, colour: bool) -> None:
    if image.format in _LOSSY_FORMATS:
        raise BadMaskError(
            name,
            f"is a {image.format} file: lossy compression changes label values at every edge; "
            "export the masks as PNG",
        )
    check_codec(name, image)
    check_size(name, image.size, max_pixels)
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise BadMaskError(name, f"holds {frames} images (pages or frames); mfb reads one")
    samples = tiff_tag(image, SAMPLES_PER_PIXEL, 1)
    if image.mode in LABEL_MODES and samples == 1:
        return
    if colour and image.mode in COLOUR_MAPPED_MODES:
        return
    if image.mode in _COLOUR_MODES:
        raise BadMaskError(
            name,
            f"is a colour image (mode {image.mode}): it looks colour-coded; pass ",
            Param("colormap"),
            " (a colour table or a built-in map) to turn its colours into class ids",
        )
    if samples != 1:
        raise BadMaskError(
            name, f"has {samples} samples per pixel; mfb reads single-band label rasters"
        )
    raise BadMaskError(
        name,
        f"has image mode {image.mode}, which does not hold integer labels "
        f"(supported: {', '.join(sorted(LABEL_MODES))})",
    )


def check_size(name: str, size: tuple[int, int], max_pixels: int | None) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise BadMaskError(
            name,
            f"{width}x{height} = {width * height} pixels exceeds the limit of {max_pixels} "
            "(a decompression bomb?); raise ",
            Param("max_pixels"),
            " if the file is genuine",
        )


def _size_of(source: IO[bytes]) -> int:
    """The size of an open file or of bytes in memory."""
    if isinstance(source, io.BytesIO):
        return len(source.getbuffer())
    return os.fstat(source.fileno()).st_size


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _file_head(name: str) -> bytes:
    try:
        with open_regular(name) as file:
            return file.read(4)
    except (OSError, BadMaskError):
        return b""


#: The first bytes of a TIFF (classic or BigTIFF, either byte order).
_TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


def _unreadable_reason(size: int, head: bytes = b"") -> str:
    if size == 0:
        return "empty file (0 bytes)"
    if head in _TIFF_MAGIC:
        # Valid TIFFs Pillow has no reader for: big-endian BigTIFF, 16/32-bit min-is-white,
        # 6/10/12-bit samples, 64-bit integers, float16/float64...
        return (
            "a TIFF Pillow cannot decode (damaged, or a layout it does not read: sample "
            "size, byte order, photometric); save it as a PNG or an 8/16/32-bit integer TIFF"
        )
    return "not an image file Pillow can read (wrong extension, or damaged header)"
