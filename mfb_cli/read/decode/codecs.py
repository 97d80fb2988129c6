"""Which containers and codecs keep every sample exactly; lossy ones are refused by header."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ...errors import BadMaskError
from .tiff import tiff_tag

if TYPE_CHECKING:
    from PIL import Image

#: Containers whose every codec keeps each sample exactly. TIFF and WebP are checked codec
#: by codec (check_codec); any other format is refused, since it cannot be proved lossless.
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


def check_codec(name: str, image: Image.Image) -> None:
    """Refuse a container whose codec may be lossy, judged from its header, never pixels."""
    kind = image.format or "unknown"
    if kind == "TIFF":
        code = tiff_tag(image, _TIFF_COMPRESSION, 1)
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
        if top == 65535 and image.mode not in ("I", "I;16", "I;16B"):
            # 16-bit PPM colours are scaled to 8 bits: distinct colours can merge.
            raise BadMaskError(
                name,
                f"is a 16-bit PPM (mode {image.mode}): Pillow scales its samples to 0-255, "
                "which can merge distinct colours; save it as PNG",
            )
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
