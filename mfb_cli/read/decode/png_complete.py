"""Every row a PNG header declares must be decoded: short image data is refused, not zero-filled."""

from __future__ import annotations

import io
import zlib
from typing import IO, Any

from PIL import Image

from ...errors import BadMaskError

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


def prefill(image: Image.Image) -> Any | None:
    """Give a PNG's decoder image memory filled with a sentinel, so unwritten rows show."""
    if image.format != "PNG" or image.mode not in _SENTINELS:
        return None
    memory = Image.core.fill(image.mode, image.size, _SENTINELS[image.mode])  # type: ignore[attr-defined]
    image.im = memory
    return memory


def check_png_complete(
    name: str, file: IO[bytes], image: Image.Image, prefilled: Any | None = None
) -> None:
    """Refuse a PNG whose image data ends before its last row.

    Pillow stops without an error when a short (but well-terminated) zlib stream ends,
    leaving the rows it never reached as they were: zeros, phantom pixels of id 0. A last
    row that differs from what was there before decoding (the sentinel of prefill, else
    0) proves the data reached it; otherwise the scanlines are inflated again and
    measured, without keeping them.
    """
    check_png_chunks(name, file)
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


def check_png_chunks(name: str, file: IO[bytes]) -> None:
    """Refuse a PNG any of whose chunks fails its CRC or is cut short, up to IEND.

    Pillow checks the CRCs of the chunks it parses, but streams IDAT data to zlib without
    checking them: a damaged byte in the image data decodes to silently different labels
    whenever zlib does not notice. CRC-32 catches every single-bit and short-burst error,
    so the whole file is checked, in 1 MiB pieces (memory stays flat).
    """
    file.seek(8)
    while True:
        header = file.read(8)
        if len(header) < 8:
            raise BadMaskError(name, "the PNG ends before its IEND chunk: the file is truncated")
        length = int.from_bytes(header[:4], "big")
        kind = header[4:]
        crc = zlib.crc32(kind)
        left = length
        while left > 0:
            piece = file.read(min(left, 1 << 20))
            if not piece:
                raise BadMaskError(
                    name, f"the PNG's {_chunk_name(kind)} chunk is cut short: the file is truncated"
                )
            crc = zlib.crc32(piece, crc)
            left -= len(piece)
        stored = file.read(4)
        if len(stored) < 4:
            raise BadMaskError(name, "the PNG ends inside a chunk: the file is truncated")
        if int.from_bytes(stored, "big") != crc:
            raise BadMaskError(
                name,
                f"the PNG's {_chunk_name(kind)} chunk fails its CRC check: the file is damaged",
            )
        if kind == b"IEND":
            return


def _chunk_name(kind: bytes) -> str:
    # Chunk types are four ASCII letters in a valid file; a damaged one is shown escaped.
    return kind.decode("ascii") if kind.isalpha() else repr(kind)[2:-1]
