"""Hostile inputs found after the merge of issues 10 and 11: each counted exactly or refused.

Every expected count comes from an independent reader (tifffile for TIFFs, the bytes
written for PNGs), never from mfb.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mfb_cli.count.one_file import count_file
from mfb_cli.errors import BadMaskError
from mfb_cli.read.fast import fast_modules
from mfb_cli.read.options import ReadOptions

from .pngbytes import SIGNATURE, chunk, pack_rows

DECODERS = ["pillow", "fast"] if fast_modules() is not None else ["pillow"]


def _counts(path: Path | str, decoder: str = "pillow", data: bytes | None = None) -> dict[int, int]:
    ids, counts = count_file(str(path), ReadOptions(decoder=decoder), data=data)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


@pytest.mark.parametrize("dtype", [">i2", ">i4", ">f4", "<i2", "<i4", ">u2"])
@pytest.mark.parametrize("compression", [None, "zlib", "lzw", "packbits"])
def test_compressed_big_endian_tiffs_are_counted_as_stored(
    tmp_path: Path, dtype: str, compression: str | None
) -> None:
    # Pillow applied its big-endian raw mode to what libtiff had already made native, so
    # a compressed big-endian int16 TIFF's 2 was counted as 512, silently.
    tifffile = pytest.importorskip("tifffile")
    values = np.array([[2, -7, 0, 300], [300, 1, 2, 2], [-32768 if "i2" in dtype else -9, 5, 5, 5]])
    if dtype == ">u2":
        values = np.abs(values)
    array = values.astype(dtype)
    path = tmp_path / "mask.tif"
    tifffile.imwrite(path, array, byteorder=dtype[0], compression=compression)
    expected = Counter(tifffile.imread(path).astype(np.int64).ravel().tolist())
    assert expected == Counter(values.ravel().tolist())
    assert _counts(path) == dict(expected)


def _ihdr(width: int, height: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))


def _fctl(sequence: int, width: int, height: int) -> bytes:
    return chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, 1, 1, 0, 0))


@pytest.mark.parametrize("decoder", DECODERS)
def test_animated_pngs_are_refused_by_every_decoder(decoder: str) -> None:
    # libpng decodes only an APNG's default image: the fast decoder counted frame 1 and
    # silently left out the others, where Pillow refuses the file.
    first = pack_rows([[0, 1, 2, 3], [3, 3, 1, 0]], 8)
    second = pack_rows([[5, 5, 5, 5], [5, 5, 5, 5]], 8)
    apng = (
        SIGNATURE
        + _ihdr(4, 2)
        + chunk(b"acTL", struct.pack(">II", 2, 0))
        + _fctl(0, 4, 2)
        + chunk(b"IDAT", zlib.compress(first))
        + _fctl(1, 4, 2)
        + chunk(b"fdAT", struct.pack(">I", 2) + zlib.compress(second))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(BadMaskError, match="holds 2 images"):
        _counts("anim.png", decoder, apng)
    # One frame only: the default image is the whole file, counted by both decoders.
    still = (
        SIGNATURE
        + _ihdr(4, 2)
        + chunk(b"acTL", struct.pack(">II", 1, 0))
        + _fctl(0, 4, 2)
        + chunk(b"IDAT", zlib.compress(first))
        + chunk(b"IEND", b"")
    )
    assert _counts("still.png", decoder, still) == {0: 2, 1: 2, 2: 1, 3: 3}
