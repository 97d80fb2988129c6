"""Property tests: every PNG mfb accepts is counted exactly as a naive decoder reads it.

The reference below decodes PNG scanlines with zlib and pure Python (no Pillow, no
libpng): chunks, CRCs, the five row filters and sample packing at 1-16 bits. Generated
files cover every greyscale and palette bit depth, every filter type and tRNS; damaged
ones (short image data, cut files, flipped bytes) must give a one-line error, or, if
accepted, exactly the reference's counts.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfb_cli.count.one_file import count_file
from mfb_cli.errors import BadMaskError, MfbError
from mfb_cli.read.decode.fast import fast_modules
from mfb_cli.read.options import ReadOptions

from ..pngbytes import SIGNATURE, chunk

DECODERS = ["pillow", "fast"] if fast_modules() is not None else ["pillow"]
_DEPTHS = {0: (1, 2, 4, 8, 16), 3: (1, 2, 4, 8)}


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _predict(kind: int, a: int, b: int, c: int) -> int:
    return (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]


def reference_counts(data: bytes) -> Counter[int] | None:
    """Counts of every sample a PNG's bytes hold, or None if they do not hold every row.

    Lenient on purpose: CRCs and chunks after the image data do not change a pixel, so a
    decoder may accept a file with a bad CRC or no IEND; it must then count these values.
    """
    if data[:8] != SIGNATURE:
        return None
    position, header, idat = 8, None, b""
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR" and header is None and len(body) == 13:
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND" or idat:
            break  # nothing after the image data changes a pixel
        position += 12 + length
    if header is None:
        return None
    width, height, bits, colour_type, _, _, interlace = header
    if colour_type not in _DEPTHS or bits not in _DEPTHS[colour_type] or interlace:
        return None
    try:
        raw = zlib.decompressobj().decompress(idat)
    except zlib.error:
        return None
    stride = (width * bits + 7) // 8
    step = max(1, bits // 8)
    if len(raw) < height * (1 + stride):
        return None
    found: Counter[int] = Counter()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (1 + stride)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind > 4:
            return None
        for x in range(stride):
            a = line[x - step] if x >= step else 0
            c = previous[x - step] if x >= step else 0
            line[x] = (line[x] + _predict(kind, a, previous[x], c)) & 0xFF
        found.update(_samples(bytes(line), width, bits))
        previous = line
    return found


def _samples(line: bytes, width: int, bits: int) -> list[int]:
    if bits == 16:
        return [int.from_bytes(line[2 * i : 2 * i + 2], "big") for i in range(width)]
    if bits == 8:
        return list(line[:width])
    per_byte, mask = 8 // bits, (1 << bits) - 1
    return [(line[i // per_byte] >> (8 - bits * (1 + i % per_byte))) & mask for i in range(width)]


def encode(
    values: np.ndarray, bits: int, colour_type: int, filters: list[int], trns: bool
) -> bytes:
    """A PNG of ``values`` whose rows use the given filter types (cycled)."""
    height, width = values.shape
    stride, step = (width * bits + 7) // 8, max(1, bits // 8)
    packed = []
    for row in values.tolist():
        if bits >= 8:
            packed.append(b"".join(v.to_bytes(bits // 8, "big") for v in row))
        else:
            per_byte = 8 // bits
            padded = row + [0] * (-len(row) % per_byte)
            packed.append(
                bytes(
                    sum(v << (8 - bits * (1 + k)) for k, v in enumerate(padded[i : i + per_byte]))
                    for i in range(0, len(padded), per_byte)
                )
            )
    rows, previous = b"", bytes(stride)
    for y, line in enumerate(packed):
        kind = filters[y % len(filters)]
        out = bytearray(stride)
        for x in range(stride):
            a = line[x - step] if x >= step else 0
            c = previous[x - step] if x >= step else 0
            out[x] = (line[x] - _predict(kind, a, previous[x], c)) & 0xFF
        rows += bytes([kind]) + bytes(out)
        previous = line
    extra = b""
    if colour_type == 3:
        extra += chunk(
            b"PLTE", bytes(range(3 * (1 << bits)))[: 3 * (1 << bits)] if bits < 8 else bytes(768)
        )
    if trns:
        extra += chunk(b"tRNS", b"\0\1" if colour_type == 0 else b"\0")
    header = struct.pack(">IIBBBBB", width, height, bits, colour_type, 0, 0, 0)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@st.composite
def pngs(draw: st.DrawFn) -> tuple[bytes, np.ndarray, int]:
    colour_type = draw(st.sampled_from([0, 3]))
    bits = draw(st.sampled_from(_DEPTHS[colour_type]))
    height, width = draw(st.integers(1, 9)), draw(st.integers(1, 13))
    top = (1 << bits) - 1
    values = np.array(
        draw(st.lists(st.integers(0, top), min_size=height * width, max_size=height * width)),
        dtype=np.int64,
    ).reshape(height, width)
    filters = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
    data = encode(values, bits, colour_type, filters, draw(st.booleans()))
    return data, values, bits


def mfb_counts(tmp_path, data: bytes, decoder: str) -> Counter[int]:
    path = tmp_path / "f.png"
    path.write_bytes(data)
    ids, pixels = count_file(path, ReadOptions(max_pixels=None, decoder=decoder))
    return Counter(dict(zip(ids.tolist(), pixels.tolist(), strict=True)))


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(case=pngs(), decoder=st.sampled_from(DECODERS))
def test_every_generated_png_counts_as_the_reference_decodes_it(tmp_path, case, decoder):
    data, values, _ = case
    expected = reference_counts(data)
    assert expected == Counter(values.ravel().tolist())  # the reference is right on its own
    assert mfb_counts(tmp_path, data, decoder) == expected


@FUZZ
@given(case=pngs(), decoder=st.sampled_from(DECODERS), cut=st.integers(0, 10_000))
def test_short_image_data_is_always_refused(tmp_path, case, decoder, cut):
    data = case[0]
    # rebuild the IDAT with its inflated scanlines cut short, in a complete zlib stream
    start = data.index(b"IDAT") - 4
    length = int.from_bytes(data[start : start + 4], "big")
    rows = zlib.decompress(data[start + 8 : start + 8 + length])
    short = rows[: cut % len(rows)]
    mutated = data[:start] + chunk(b"IDAT", zlib.compress(short)) + data[start + 12 + length :]
    assert reference_counts(mutated) is None
    try:
        mfb_counts(tmp_path, mutated, decoder)
    except BadMaskError as error:
        assert "\n" not in str(error)
        return
    raise AssertionError(f"{len(short)} of {len(rows)} scanline bytes accepted")


@FUZZ
@given(
    case=pngs(),
    decoder=st.sampled_from(DECODERS),
    where=st.integers(0, 10_000),
    how=st.sampled_from(["cut", "flip"]),
    bit=st.integers(0, 7),
)
def test_damaged_pngs_are_refused_in_one_line_or_counted_exactly(
    tmp_path, case, decoder, where, how, bit
):
    data = case[0]
    where %= len(data)
    if how == "cut":
        mutated = data[:where]
    else:
        flipped = bytearray(data)
        flipped[where] ^= 1 << bit
        mutated = bytes(flipped)
    try:
        got = mfb_counts(tmp_path, mutated, decoder)
    except MfbError as error:
        assert "\n" not in str(error)
        return
    expected = reference_counts(mutated)
    assert expected is not None, "mfb counted a file the reference cannot read in full"
    assert got == expected
