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
