"""Hand-built PNG files: headers that lie, missing chunks, for the bad-input tests."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(
    width: int,
    height: int,
    *,
    color_type: int = 0,
    rows: bytes | None = None,
    plte: bytes | None = None,
) -> bytes:
    """An 8-bit PNG; ``rows`` are the raw scanlines (filter byte + pixels), zeros if None."""
    if rows is None:
        rows = b"".join(b"\0" + bytes(width) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + (chunk(b"PLTE", plte) if plte is not None else b"")
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pack_rows(values: list[list[int]], bits: int) -> bytes:
    """Raw scanlines (filter byte 0) of greyscale or palette samples at ``bits`` per sample."""
    out = bytearray()
    for row in values:
        out.append(0)
        if bits >= 8:
            for value in row:
                out += value.to_bytes(bits // 8, "big")
            continue
        per_byte = 8 // bits
        padded = list(row) + [0] * (-len(row) % per_byte)
        for start in range(0, len(padded), per_byte):
            byte = 0
            for value in padded[start : start + per_byte]:
                byte = (byte << bits) | value
            out.append(byte)
    return bytes(out)


def grey_png(
    values: list[list[int]],
    bits: int = 8,
    *,
    color_type: int = 0,
    keep: int | None = None,
    trns: bytes | None = None,
    plte: bytes | None = None,
) -> bytes:
    """A greyscale (or palette) PNG of any bit depth holding ``values`` exactly.

    ``keep`` cuts the raw scanlines to that many bytes before compressing them: a complete,
    well-formed zlib stream that simply ends early (the "short image data" case).
    """
    height, width = len(values), len(values[0])
    rows = pack_rows(values, bits)
    if keep is not None:
        rows = rows[:keep]
    header = struct.pack(">IIBBBBB", width, height, bits, color_type, 0, 0, 0)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + (chunk(b"PLTE", plte) if plte is not None else b"")
        + (chunk(b"tRNS", trns) if trns is not None else b"")
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
