"""open_image is Image.open, without registering five formats first for a PNG."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from mfb_cli.read.decode.pillow import open_image


def png_bytes(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def with_chunk_field(data: bytes, offset: int, value: bytes, fix_crc: bool = True) -> bytes:
    """``data`` with IHDR bytes changed at ``offset`` (from the file start), CRC redone."""
    changed = bytearray(data)
    changed[offset : offset + len(value)] = value
    if fix_crc:
        changed[29:33] = struct.pack(">I", zlib.crc32(bytes(changed[12:29])))
    return bytes(changed)


def samples() -> dict[str, bytes]:
    labels = (np.arange(48 * 40) % 13).astype(np.uint8).reshape(40, 48)
    palette = Image.fromarray(labels, mode="L").convert("P")
    palette.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    good = {
        "L": png_bytes(Image.fromarray(labels)),
        "1": png_bytes(Image.fromarray(labels % 2 == 1)),
        "P": png_bytes(palette),
        "P-tRNS": png_bytes(palette, transparency=3),
        "I;16": png_bytes(Image.fromarray(labels.astype(np.uint16) * 300)),
        "RGB": png_bytes(Image.fromarray(np.dstack([labels] * 3))),
        "LA": png_bytes(Image.fromarray(np.dstack([labels, labels]), mode="LA")),
        "interlaced": png_bytes(Image.fromarray(labels), interlace=1),
    }
    base = good["L"]
    damaged = {
        "IHDR renamed": with_chunk_field(base, 12, b"IHDX", fix_crc=False),
        "colour type 9": with_chunk_field(base, 25, b"\x09"),
        "bit depth 3": with_chunk_field(base, 24, b"\x03"),
        "IHDR too long": with_chunk_field(base, 8, struct.pack(">I", 0x7FFFFFFF), False),
        "signature only": base[:8],
        "signature and 5 bytes": base[:13],
        "no signature": base[8:],
        "JPEG": _jpeg(),
    }
    return {**good, **damaged}


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 3).save(buffer, format="JPEG")
    return buffer.getvalue()


def outcome(opener: object, data: bytes) -> tuple[object, ...]:
    try:
        with opener(io.BytesIO(data)) as image:  # type: ignore[operator]
            image.load()
            return (image.format, image.mode, image.size, image.info, image.tobytes())
    except Exception as error:  # the same refusal, in the same words
        return (type(error), str(error).split(" object at ")[0])


@pytest.mark.parametrize(("name", "data"), samples().items())
def test_open_image_gives_what_image_open_gives(name, data):
    assert outcome(open_image, data) == outcome(Image.open, data)


def test_pillows_own_pixel_limit_still_applies(monkeypatch):
    data = png_bytes(Image.new("L", (64, 64)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(Image.DecompressionBombError):
        open_image(io.BytesIO(data))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open_image(io.BytesIO(data)).close()
    assert [w.category for w in caught] == [Image.DecompressionBombWarning]
