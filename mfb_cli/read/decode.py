"""Read one label file into a validated, fully decoded Pillow image.

Only formats that keep every pixel's value exactly are accepted: a JPEG changes labels
at every edge, and a colour rendering is not a label map until a colour map says so.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import stat
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from ..errors import BadMaskError, LabelRangeError, MfbError, OptionError
from .colormaps import TRANSPARENT, ColorMap, colour_name, pack_rgb
from .remap import Remap

Int64Array = npt.NDArray[np.int64]

#: Pillow's own guard against decompression bombs (about 89.5 million pixels).
DEFAULT_MAX_PIXELS: int = int(Image.MAX_IMAGE_PIXELS or 89_478_485)

#: Pillow modes that hold integer labels, one per pixel.
LABEL_MODES = frozenset(
    {"1", "L", "P", "I;16", "I;16L", "I;16B", "I;16N", "I", "I;16S", "I;16BS", "I;16LS", "F"}
)
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV"})
_COLOUR_MAPPED_MODES = frozenset({"RGB", "RGBA"})
_LOSSY_FORMATS = frozenset({"JPEG", "MPO"})
#: Containers whose every codec keeps each sample exactly. TIFF and WebP are checked codec
#: by codec (_check_codec); any other format is refused, since it cannot be proved lossless.
_LOSSLESS_FORMATS = frozenset({"PNG", "BMP", "DIB", "GIF", "PPM", "TGA", "PCX", "QOI"})
#: TIFF Compression tag values that are lossless: none, CCITT RLE/fax 3/fax 4, LZW,
#: deflate (two codes), PackBits, LZMA, zstd.
TIFF_LOSSLESS_COMPRESSION: dict[int, str] = {
    1: "none",
    2: "CCITT RLE",
    3: "CCITT fax 3",
    4: "CCITT fax 4",
    5: "LZW",
    8: "deflate",
    32946: "deflate",
    32773: "PackBits",
    34925: "LZMA",
    50000: "zstd",
}
_TIFF_COMPRESSION = 259
_TIFF_LOSSLESS_NAMES = frozenset(TIFF_LOSSLESS_COMPRESSION.values())
# TIFF tags: Pillow reads 8-bit signed and 32-bit unsigned rasters with the wrong sign.
_SAMPLES_PER_PIXEL, _BITS_PER_SAMPLE, _SAMPLE_FORMAT = 277, 258, 339
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)

#: More distinct values than this in one mask and it is not a class map: semantic datasets
#: have at most a few hundred classes in any one image (ADE20K's 150, COCO-Stuff's 182),
#: while instance-id images and 16-bit depth maps have thousands.
MAX_IDS_PER_FILE = 1000

#: ``--decoder auto`` takes the fast decoder from this many files on; for fewer, importing
#: imagecodecs costs about what it saves.
AUTO_FAST_MIN_FILES = 8

#: How label files are decoded: the registry behind ``--decoder``.
DECODERS: dict[str, str] = {
    "auto": f"the fast decoder when installed and there are {AUTO_FAST_MIN_FILES} files or "
    "more, else Pillow",
    "pillow": "Pillow (and NumPy) only",
    "fast": "imagecodecs (libpng) for 8/16-bit greyscale PNGs, Pillow for the rest "
    "(palettes, 1-bit, interlaced, other formats); "
    "needs the 'fast' extra",
}
FAST_EXTRA_HINT = "pip install 'mfb-cli[fast]' (imagecodecs, and OpenCV for 16-bit counts)"


@dataclass(frozen=True)
class ReadOptions:
    """How label files become label ids; one object shared by every scanning command."""

    max_pixels: int | None = DEFAULT_MAX_PIXELS
    #: Colour -> id for RGB(A) and palette masks (palette indices only with ``palette_index``).
    colormap: ColorMap | None = None
    #: With a colour map, read palette ('P') images by index instead of by colour.
    palette_index: bool = False
    #: Id given to colours missing from the colour map; None: such a file is an error.
    unknown_color: int | None = None
    #: Id given to fully transparent RGBA pixels; None: any transparency is an error.
    transparent: int | None = None
    #: Old -> new ids, applied after the colour map.
    remap: Remap | None = None
    #: Id given to values the remap does not list; None: such a value is an error.
    unmapped: int | None = None
    #: Which decoder reads greyscale PNGs (DECODERS); the counts never depend on it.
    decoder: str = "auto"

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise OptionError(
                f"unknown decoder {self.decoder!r} (choose from {', '.join(DECODERS)})"
            )
        if self.decoder == "fast" and fast_modules() is None:
            raise OptionError(f"--decoder fast needs the 'fast' extra: {FAST_EXTRA_HINT}")
        if self.colormap is None:
            for name, value in (
                ("--palette-index", self.palette_index or None),
                ("--unknown-color", self.unknown_color),
                ("--transparent", self.transparent),
            ):
                if value is not None:
                    raise OptionError(f"{name} needs --colormap")
        if self.remap is None and self.unmapped is not None:
            raise OptionError("--unmapped needs --map")

    @property
    def use_fast(self) -> bool:
        """Whether greyscale PNGs go through the fast decoder."""
        return self.decoder != "pillow" and fast_modules() is not None

    def label_mapping(self) -> dict[str, Any]:
        """What the ids mean after reading (colour maps, remaps): empty when ids are as stored.

        Statistics files record it, so counts whose ids mean different things never merge.
        """
        mapping: dict[str, Any] = {}
        if self.colormap is not None:
            mapping["colormap"] = self.colormap.describe()
            mapping["palette_index"] = self.palette_index
            mapping["unknown_color"] = self.unknown_color
            mapping["transparent"] = self.transparent
        if self.remap is not None:
            mapping["remap"] = self.remap.describe()
            mapping["unmapped"] = self.unmapped
        return mapping

    def class_names(self) -> dict[int, str]:
        """Names the colour table gives its class ids; none once --map renumbers them."""
        if self.colormap is None or self.remap is not None:
            return {}
        return dict(self.colormap.names)


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
            Image.open(source) as image,
        ):
            _check_header(name, image, max_pixels, colour)
            rawmode = _tile_rawmode(image)
            _check_not_narrowed(name, image.mode, rawmode)
            prefilled = _prefill(image)
            image.load()
            if image.format == "PNG":
                _check_png_complete(name, source, image, prefilled)
            return _stored_samples(image, rawmode)
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
        raise BadMaskError(name, _unreadable_reason(size)) from error
    except MemoryError as error:
        # Not a bad file: the machine ran short, so --skip-bad must not drop it silently.
        raise MfbError(
            f"{name}: out of memory while decoding; lower --jobs or --max-pixels"
        ) from error
    except _DECODE_ERRORS as error:
        raise BadMaskError(
            name, f"cannot decode ({error}); the file is damaged or truncated"
        ) from error


def open_regular(name: str) -> io.BufferedReader:
    """Open a file for reading, or raise BadMaskError if it is not a regular file.

    O_NONBLOCK keeps a FIFO swapped in for a mask from blocking the open; fstat on the open
    descriptor (not the name) decides, so a file replaced between listing and reading is
    judged as what is actually read. A device or FIFO could be read forever.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(name, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a folder"
                if stat.S_ISDIR(mode)
                else "a FIFO (named pipe)"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "not a regular file"
            )
            raise BadMaskError(name, f"is {kind}, not a regular file; mfb reads label files only")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def mask_array(image: Image.Image) -> npt.NDArray[np.integer]:
    """The image's labels as a 2-D integer array (palette indices for 'P', 0/1 for '1')."""
    array = np.asarray(image)
    if array.dtype == np.bool_:
        return array.view(np.uint8)
    return array


@functools.cache
def fast_modules() -> Any | None:
    """imagecodecs when the 'fast' extra is installed, imported once and only if asked."""
    try:
        import imagecodecs
    except ImportError:
        return None
    if not getattr(imagecodecs, "PNG", None) or not imagecodecs.PNG.available:
        return None
    logging.getLogger("imagecodecs").addFilter(_LIBPNG_WARNINGS)
    return imagecodecs


class _LibpngWarnings(logging.Filter):
    """Notes the libpng warnings imagecodecs logs while read_png_fast runs in a thread.

    libpng warns and goes on where Pillow refuses (a truncated pHYs chunk, for one): a
    warned file is handed to Pillow, which decides, and the warning is not printed.
    Records from threads outside read_png_fast pass through untouched.
    """

    def __init__(self) -> None:
        super().__init__()
        self.warned: dict[int, bool] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread in self.warned:
            self.warned[record.thread] = True
            return False
        return True


_LIBPNG_WARNINGS = _LibpngWarnings()


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
    if not _chunks_well_formed(data):
        return None
    thread = threading.get_ident()
    _LIBPNG_WARNINGS.warned[thread] = False
    try:
        labels: npt.NDArray[np.integer] = codecs.png_decode(data)
    except Exception:  # any libpng error: Pillow reads the file again and reports it
        return None
    finally:
        warned = _LIBPNG_WARNINGS.warned.pop(thread)
    if warned:
        return None
    if labels.shape != (height, width) or labels.dtype != _FAST_BIT_DEPTHS[bit_depth]:
        return None
    return labels


def _chunks_well_formed(data: bytes) -> bool:
    """Whether every chunk up to IEND is complete and matches its CRC.

    Pillow refuses a file with a bad CRC before the image data or a chunk cut short after
    it, where libpng may only warn and decode; files that are not spotless go to Pillow,
    so every decoder refuses the same files.
    """
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        end = position + 8 + length
        if end + 4 > len(data):
            return False
        if zlib.crc32(data[position + 4 : end]) != int.from_bytes(data[end : end + 4], "big"):
            return False
        if data[position + 4 : position + 8] == b"IEND":
            return True
        position = end + 4
    return False


def _check_header(name: str, image: Image.Image, max_pixels: int | None, colour: bool) -> None:
    if image.format in _LOSSY_FORMATS:
        raise BadMaskError(
            name,
            f"is a {image.format} file: lossy compression changes label values at every edge; "
            "export the masks as PNG",
        )
    _check_codec(name, image)
    _check_size(name, image.size, max_pixels)
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise BadMaskError(name, f"holds {frames} images (pages or frames); mfb reads one")
    samples = _tiff_tag(image, _SAMPLES_PER_PIXEL, 1)
    if image.mode in LABEL_MODES and samples == 1:
        return
    if colour and image.mode in _COLOUR_MAPPED_MODES:
        return
    if image.mode in _COLOUR_MODES:
        raise BadMaskError(
            name,
            f"is a colour image (mode {image.mode}): it looks colour-coded; pass --colormap "
            "(a colour table or a built-in map) to turn its colours into class ids",
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


def _check_codec(name: str, image: Image.Image) -> None:
    """Refuse a container whose codec may be lossy, judged from its header, never pixels."""
    kind = image.format or "unknown"
    if kind == "TIFF":
        code = _tiff_tag(image, _TIFF_COMPRESSION, 1)
        if code not in TIFF_LOSSLESS_COMPRESSION:
            label = {6: "old-style JPEG", 7: "JPEG", 34712: "JPEG 2000", 34892: "lossy JPEG"}
            what = label.get(code, f"code {code}, not known to be lossless")
            raise BadMaskError(
                name,
                f"is a TIFF with {what} compression, which may change label values; save it "
                f"with a lossless one ({', '.join(sorted(set(_TIFF_LOSSLESS_NAMES)))})",
            )
        return
    if kind == "WEBP":
        codec = _webp_codec(getattr(image, "fp", None))
        if codec != "VP8L":
            raise BadMaskError(
                name,
                f"is a lossy WebP ({codec or 'no VP8L'} bitstream): lossy compression changes "
                "label values at every edge; save it as lossless WebP or PNG",
            )
        return
    if kind in ("JPEG2000", "AVIF", "HEIF", "JXL"):
        raise BadMaskError(
            name,
            f"is a {kind} file, whose codec can be lossy (even a reversible JPEG 2000 "
            "wavelet loses values when its layers are truncated); export the masks as PNG",
        )
    if kind not in _LOSSLESS_FORMATS:
        raise BadMaskError(
            name,
            f"is a {kind} file, which mfb cannot prove keeps every label value; read: "
            f"{', '.join(sorted(_LOSSLESS_FORMATS | {'TIFF', 'WEBP'}))} and .npy",
        )
    if kind == "PPM":
        top = _ppm_maxval(image)
        if top not in (None, 255, 65535):
            raise BadMaskError(
                name,
                f"is a PGM/PPM with maxval {top}: Pillow rescales such samples to 0-255; "
                "save it as PNG",
            )


def _webp_codec(file: Any) -> str | None:
    """The image bitstream of a WebP file: 'VP8L' (lossless) or 'VP8 ' (lossy)."""
    if file is None:
        return None
    position = file.tell()
    try:
        file.seek(12)
        found: str | None = None
        while True:
            header = file.read(8)
            if len(header) < 8:
                return found
            kind = header[:4].decode("latin-1")
            if kind == "VP8 " or (kind == "VP8L" and found is None):
                found = kind
            size = int.from_bytes(header[4:], "little")
            file.seek(size + (size & 1), io.SEEK_CUR)
    finally:
        file.seek(position)


def _ppm_maxval(image: Image.Image) -> int | None:
    for tile in getattr(image, "tile", ()):
        args = tile.args
        if isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], int):
            return args[1]
    return None


def _tile_rawmode(image: Image.Image) -> str | None:
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


def _check_not_narrowed(name: str, mode: str, rawmode: str | None) -> None:
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


def _stored_samples(image: Image.Image, rawmode: str | None) -> Image.Image:
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


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def png_data_size(width: int, height: int, bits: int, colour_type: int, interlaced: bool) -> int:
    """Bytes of filtered scanlines a PNG's header promises (filter byte + packed samples)."""
    per_pixel = bits * _PNG_CHANNELS.get(colour_type, 1)
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns = (width - x0 + dx - 1) // dx
        rows = (height - y0 + dy - 1) // dy
        if columns > 0 and rows > 0:
            total += rows * (1 + (columns * per_pixel + 7) // 8)
    return total


#: Filled into a PNG's image memory before Pillow decodes into it: a last row that no
#: longer holds only this value was written by the decoder (values labels rarely take).
_SENTINELS = {"L": 0xA7, "P": 0xA7, "I;16": 0xA7C3}


def _prefill(image: Image.Image) -> Any | None:
    """Give a PNG's decoder image memory filled with a sentinel, so unwritten rows show."""
    if image.format != "PNG" or image.mode not in _SENTINELS:
        return None
    memory = Image.core.fill(image.mode, image.size, _SENTINELS[image.mode])  # type: ignore[attr-defined]
    image.im = memory
    return memory


def _check_png_complete(
    name: str, file: IO[bytes], image: Image.Image, prefilled: Any | None = None
) -> None:
    """Refuse a PNG whose image data ends before its last row.

    Pillow stops without an error when a short (but well-terminated) zlib stream ends,
    leaving the rows it never reached as they were: zeros, phantom pixels of id 0. A last
    row that differs from what was there before decoding (the sentinel of _prefill, else
    0) proves the data reached it; otherwise the scanlines are inflated again and
    measured, without keeping them.
    """
    width, height = image.size
    file.seek(0)
    head = file.read(33)
    if len(head) < 33 or head[12:16] != b"IHDR":
        return
    bits, colour_type, interlaced = head[24], head[25], bool(head[28])
    if not interlaced:
        last = image.crop((0, height - 1, width, height))
        extrema = last.getextrema()
        bands = extrema if len(last.getbands()) > 1 else (extrema,)
        before = _SENTINELS[image.mode] if prefilled is not None and image.im is prefilled else 0
        if any(band != (before, before) for band in bands):
            return
    expected = png_data_size(width, height, bits, colour_type, interlaced)
    got = _inflated_idat_size(file, expected)
    if got < expected:
        row = 1 + (width * bits * _PNG_CHANNELS.get(colour_type, 1) + 7) // 8
        where = f"after {got // row} of {height} rows" if not interlaced else "early"
        raise BadMaskError(
            name,
            f"image data ends {where} ({got} of {expected} bytes): the file is truncated "
            "(Pillow would fill the rest in)",
        )


def _inflated_idat_size(file: IO[bytes], enough: int) -> int:
    """How many bytes the IDAT chunks inflate to, stopping once ``enough`` is reached."""
    inflater = zlib.decompressobj()
    total = 0
    file.seek(8)
    while total < enough:
        header = file.read(8)
        if len(header) < 8:
            break
        length = int.from_bytes(header[:4], "big")
        kind = header[4:]
        if kind == b"IEND":
            break
        if kind != b"IDAT":
            file.seek(length + 4, io.SEEK_CUR)
            continue
        left = length
        while left > 0 and total < enough:
            piece = file.read(min(left, 1 << 20))
            if not piece:
                return total
            left -= len(piece)
            try:
                total += len(inflater.decompress(piece, 1 << 20))
                while inflater.unconsumed_tail and total < enough:
                    total += len(inflater.decompress(inflater.unconsumed_tail, 1 << 20))
            except zlib.error:
                return total
            if inflater.eof:
                return total
        file.seek(left + 4, io.SEEK_CUR)
    return total


def _check_size(name: str, size: tuple[int, int], max_pixels: int | None) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise BadMaskError(
            name,
            f"{width}x{height} = {width * height} pixels exceeds the limit of {max_pixels} "
            "(a decompression bomb?); raise --max-pixels if the file is genuine",
        )


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _unreadable_reason(size: int) -> str:
    if size == 0:
        return "empty file (0 bytes)"
    return "not an image file Pillow can read (wrong extension, or damaged header)"


def _tiff_tag(image: Image.Image, tag: int, default: int) -> int:
    if image.format != "TIFF":
        return default
    value = image.tag_v2.get(tag, default)  # type: ignore[attr-defined]
    return int(value[0] if isinstance(value, tuple) else value)


@dataclass(frozen=True)
class RawLabels:
    """A file's values before any mapping: label ids, packed colours or palette indices."""

    values: Image.Image | npt.NDArray[np.integer]
    kind: Literal["ids", "colours", "palette"] = "ids"
    #: For 'palette': the packed colour of each index (-1 where the palette has none).
    palette: Int64Array | None = None
    #: The image mode the values were decoded from ('RGB' for colour codes), if an image.
    mode: str | None = None
    #: How the file was read when that deserves a warning (see READ_NOTES), else None.
    note: str | None = None


#: Ways of reading a file worth a warning, counted over a scan (the key is RawLabels.note).
READ_NOTES = {
    "ids-despite-colormap": "{files} of {total} files are single-channel ({modes}) and were "
    "read as label ids: --colormap applies only to RGB/RGBA and palette images",
    "grey-rgb": "{files} of {total} files are RGB with r = g = b in every pixel and were read as "
    "grey label ids ({modes})",
}

#: An RGB image with more distinct colours than this is a photograph, not a label mask.
PHOTO_COLOURS = 1024


def read_raw(source: object, read: ReadOptions, data: bytes | None = None) -> RawLabels:
    """Decode one label file (a path or archive member, its bytes in ``data`` if given)."""
    name = str(source)
    # With a colour map, a file read as ids is worth a warning: the map does not apply to it.
    ids_note = None if read.colormap is None else "ids-despite-colormap"
    if name.lower().endswith(".npy"):
        array = load_npy(name, read.max_pixels, data)
        return RawLabels(array, note=ids_note)
    if read.use_fast and name.lower().endswith(".png"):
        labels = read_png_fast(name, read.max_pixels, data)
        if labels is not None:
            return RawLabels(labels, note=ids_note)
    image = open_mask(name, read.max_pixels, data=data, colour=True)
    if image.mode in _COLOUR_MAPPED_MODES:
        if read.colormap is None:
            return _uncoded_colour(name, image)
        codes = _colour_codes(name, image, read.transparent is not None)
        return RawLabels(codes, "colours", mode=image.mode)
    if image.mode == "P" and read.colormap is not None:
        # Each palette file may order its colours differently: by colour unless asked.
        if not read.palette_index:
            return RawLabels(image, "palette", _palette_codes(image), mode="P")
        ids_note = None
    return RawLabels(_label_values(name, image), note=ids_note)


def _uncoded_colour(name: str, image: Image.Image) -> RawLabels:
    """An RGB(A) file without a colour map: grey ids stored as RGB, or refused with the reason."""
    array = np.asarray(image)
    rgb = array[..., :3]
    opaque = image.mode != "RGBA" or int(array[..., 3].min()) == 255
    if opaque and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return RawLabels(np.ascontiguousarray(rgb[..., 0]), note="grey-rgb", mode=image.mode)
    colours = len(np.unique(pack_rgb(rgb)))
    if colours > PHOTO_COLOURS:
        raise BadMaskError(
            name,
            f"is an {image.mode} image with {colours} distinct colours: it looks like a "
            "photograph, not a label mask (is an image folder given instead of the labels?)",
        )
    raise BadMaskError(
        name,
        f"is a colour image (mode {image.mode}): it looks colour-coded; pass --colormap "
        "(a colour table or a built-in map) to turn its colours into class ids",
    )


def load_npy(name: str, max_pixels: int | None, data: bytes | None = None) -> npt.NDArray[Any]:
    """A 2-D integer array from a .npy file, memory-mapped when it is on disk."""
    try:
        if data is not None:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        else:
            with open_regular(name) as file:
                array = _map_npy(file)
    except FileNotFoundError as error:
        raise BadMaskError(name, "file disappeared while scanning") from error
    except PermissionError as error:
        raise BadMaskError(name, "permission denied") from error
    except (OSError, ValueError, EOFError) as error:
        raise BadMaskError(name, f"cannot read as a .npy array ({error})") from error
    if not isinstance(array, np.ndarray):
        raise BadMaskError(name, "is not a single .npy array")
    if array.ndim != 2:
        raise BadMaskError(
            name,
            f"is a {array.ndim}-D array of shape {array.shape}; "
            "mfb reads 2-D arrays with one class id per pixel",
        )
    if array.dtype.kind not in "iu":
        raise BadMaskError(name, f"holds {array.dtype} values; label arrays hold integers")
    _check_size(name, (array.shape[1], array.shape[0]), max_pixels)
    if array.dtype.kind == "u" and array.dtype.itemsize == 8 and array.size:
        top = int(array.max())
        if top > _INT64_MAX:
            # Label ids are int64 everywhere after decoding: this one would turn negative.
            raise LabelRangeError(
                f"{name}: value {top} does not fit a signed 64-bit label id (largest "
                f"{_INT64_MAX}); it is not a class id"
            )
    return array


_INT64_MAX = (1 << 63) - 1


def _map_npy(file: IO[bytes]) -> npt.NDArray[Any]:
    """A .npy file's array memory-mapped through the open (regular) file, not its name."""
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
    else:
        file.seek(0)
        return np.load(file, allow_pickle=False)  # type: ignore[no-any-return]
    if dtype.hasobject:
        raise ValueError("it holds Python objects")
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype=dtype)
    return np.memmap(
        file, dtype=dtype, mode="r", offset=file.tell(), shape=shape, order="F" if fortran else "C"
    )


def _label_values(name: str, image: Image.Image) -> Image.Image | npt.NDArray[np.integer]:
    if image.mode == "F":
        return _integral(name, np.asarray(image))
    signed = _tiff_tag(image, _SAMPLE_FORMAT, 1) == 2
    bits = _tiff_tag(image, _BITS_PER_SAMPLE, 0)
    if image.mode == "L" and signed:  # int8: Pillow hands over the bytes as unsigned
        return np.asarray(image).view(np.int8)
    if image.mode == "I" and bits == 32 and not signed:  # uint32: Pillow reads int32
        return np.asarray(image).view(np.uint32)
    return image


_FLOAT32_EXACT = float(1 << 24)


def _integral(name: str, array: npt.NDArray[np.floating]) -> npt.NDArray[np.int64]:
    # GIS tools often write class rasters as float32 (QGIS' rasterize default); exact
    # integers up to 2**24 survive that, anything else is not a class id.
    finite = np.isfinite(array)
    if not finite.all():
        raise BadMaskError(
            name,
            f"has {int(array.size - np.count_nonzero(finite))} NaN or infinite pixels; write "
            "no-data as an integer (e.g. -1) and pass --ignore for it",
        )
    beyond = np.abs(array) > _FLOAT32_EXACT
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


def _colour_codes(name: str, image: Image.Image, allow_transparent: bool) -> npt.NDArray[Any]:
    array = np.asarray(image)
    codes = pack_rgb(array[..., :3])
    if image.mode != "RGBA":
        return codes
    alpha = array[..., 3]
    if int(alpha.min()) == 255:
        return codes  # all opaque: the alpha channel says nothing
    clear = alpha == 0
    partial = int(np.count_nonzero(alpha != 255)) - int(np.count_nonzero(clear))
    if partial:
        raise BadMaskError(
            name,
            f"has {partial} partly transparent pixels (0 < alpha < 255), typical of "
            "anti-aliased or resized masks; such a pixel has no single class",
        )
    if not allow_transparent:
        raise BadMaskError(
            name,
            f"has {int(np.count_nonzero(clear))} fully transparent pixels; pass "
            "--transparent ID to give them an id (and --ignore ID to leave them out)",
        )
    codes[clear] = TRANSPARENT
    return codes


def _palette_codes(image: Image.Image) -> Int64Array:
    palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)[:256]
    codes = np.full(256, -1, dtype=np.int64)
    codes[: len(palette)] = pack_rgb(palette)
    return codes


def map_histogram(
    name: str, raw: RawLabels, ids: Int64Array, counts: Int64Array, read: ReadOptions
) -> tuple[Int64Array, Int64Array]:
    """Turn the histogram of a file's raw values into one of class ids.

    Order: colour map (colour-coded files only), then the remap; a mapping is a function
    of the value, so mapping the histogram gives exactly the counts of the mapped image.
    """
    mapped = raw.kind != "ids" or read.remap is not None
    if raw.kind != "ids":
        codes = ids if raw.kind == "colours" else raw.palette[ids]  # type: ignore[index]
        ids = _apply_colormap(name, codes, counts, read)
    if read.remap is not None:
        ids = _apply_remap(name, ids, counts, read.remap, read.unmapped)
    ids, counts = _merge(ids, counts) if mapped else (ids, counts)
    if len(ids) > MAX_IDS_PER_FILE:
        # Options cannot fix this and the file is not broken: a LabelRangeError, which
        # --skip-bad never skips (dropping such files silently would change the weights).
        raise LabelRangeError(
            f"{name}: {len(ids)} distinct values ({ids[0]}..{ids[-1]}) in one mask, more than "
            f"the {MAX_IDS_PER_FILE} a semantic label map holds: this looks like instance ids "
            "or a depth map, not class ids"
        )
    return ids, counts


def _apply_colormap(
    name: str, codes: Int64Array, counts: Int64Array, read: ReadOptions
) -> Int64Array:
    assert read.colormap is not None  # ReadOptions ensures it for colour images
    ids, known = read.colormap.lookup(codes)
    if read.transparent is not None:
        transparent = codes == TRANSPARENT
        ids[transparent] = read.transparent
        known |= transparent
    if known.all():
        return ids
    if read.unknown_color is not None:
        ids[~known] = read.unknown_color
        return ids
    missing_codes, missing_counts = codes[~known], counts[~known]
    order = np.argsort(-missing_counts, kind="stable")[:5]
    shown = ", ".join(
        f"{_describe_code(int(missing_codes[i]))} ({int(missing_counts[i])} pixels)" for i in order
    )
    more = f" and {len(missing_codes) - len(order)} more" if len(missing_codes) > len(order) else ""
    if len(missing_codes) > PHOTO_COLOURS:
        raise BadMaskError(
            name,
            f"{len(missing_codes)} colours not in the colour map (e.g. {shown}): it looks like "
            "a photograph, not a label mask (is an image folder given instead of the labels?)",
        )
    raise BadMaskError(
        name,
        f"{len(missing_codes)} colour(s) not in the colour map: {shown}{more}; a mask saved "
        "as JPEG or resized with interpolation has such colours; fix the table or pass "
        "--unknown-color ID",
    )


def _describe_code(code: int) -> str:
    return "a palette index without colour" if code < 0 else colour_name(code)


def _apply_remap(
    name: str, ids: Int64Array, counts: Int64Array, remap: Remap, unmapped: int | None
) -> Int64Array:
    new, known = remap.lookup(ids)
    if known.all():
        return new
    if unmapped is not None:
        new[~known] = unmapped
        return new
    pairs = zip(ids[~known][:5].tolist(), counts[~known][:5].tolist(), strict=True)
    shown = ", ".join(f"{value} ({count} pixels)" for value, count in pairs)
    # The table does not fit the data, the file is fine: a LabelRangeError, which
    # --skip-bad never skips (leaving such images out would change the weights silently).
    raise LabelRangeError(
        f"{name}: value(s) {shown} not in --map {remap.name}; add them to the table or pass "
        "--unmapped ID"
    )


def _merge(ids: Int64Array, counts: Int64Array) -> tuple[Int64Array, Int64Array]:
    # Several values can map to one id (all Cityscapes void labels -> 255): add them up.
    merged, inverse = np.unique(ids, return_inverse=True)
    totals = np.zeros(len(merged), dtype=np.int64)
    np.add.at(totals, inverse.ravel(), counts)
    return merged.astype(np.int64), totals
