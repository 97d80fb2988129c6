"""Mutated PNG bytes through decode + count: exact counts or a clean MfbError, nothing else."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mfb_cli.count.one_file import count_file
from mfb_cli.errors import MfbError

from ..pngbytes import chunk


def encode(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    if mode == "P":
        image = image.convert("P")
        image.putpalette(list(range(256)) * 3)
    elif mode == "1":
        image = Image.fromarray(array.astype(bool))
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    # An ancillary text chunk right after IHDR (8 + 25 bytes): a target that must not matter.
    return data[:33] + chunk(b"tEXt", b"Comment\0mask written by the fuzz test") + data[33:]


_rng = np.random.default_rng(7)
_LABELS = (np.arange(96).reshape(8, 12) // 7 + _rng.integers(0, 2, (8, 12))).astype(np.uint8)
SEEDS = [
    encode(_LABELS, "L"),
    encode(_LABELS, "P"),
    encode((_LABELS.astype(np.uint16) * 300), "I;16"),
    encode(_LABELS % 2, "1"),
]
TEXT_START, TEXT_END = 33 + 8, 33 + 8 + len(b"Comment\0mask written by the fuzz test")


def reference(data: bytes) -> dict[int, int]:
    """Pillow's decode of the same bytes, counted naively."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        array = np.asarray(image).astype(np.int64)
    values, counts = np.unique(array, return_counts=True)
    return dict(zip(values.tolist(), counts.tolist(), strict=True))


def original(seed: int) -> dict[int, int]:
    return reference(SEEDS[seed])


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("splice"), st.integers(0, 10_000), st.integers(0, 3)),
    st.tuples(st.just("text"), st.integers(TEXT_START, TEXT_END - 1), st.integers(0, 7)),
)


def mutate(data: bytes, kind: str, where: int, extra: int) -> tuple[bytes, bool]:
    """The mutated bytes, and whether only the ancillary text payload changed."""
    if not data:
        return data, False
    where %= len(data)
    if kind in ("flip", "text"):
        mutated = bytearray(data)
        mutated[where] ^= 1 << extra
        return bytes(mutated), TEXT_START <= where < TEXT_END
    if kind == "truncate":
        return data[:where], False
    # splice: the tail of another seed (its chunks) after a prefix of this one
    other = SEEDS[extra]
    return data[:where] + other[where % len(other) :], False


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, len(SEEDS) - 1), mutations=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_png_gives_exact_counts_or_a_clean_error(seed, mutations):
    data, ancillary_only = SEEDS[seed], True
    for kind, where, extra in mutations:
        data, only_text = mutate(data, kind, where, extra)
        ancillary_only = ancillary_only and only_text
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "m.png")
        path.write_bytes(data)
        try:
            ids, counts = count_file(path)
        except MfbError as error:
            assert str(error).startswith(f"{path}: ")
            return
    got = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    assert got == reference(data)
    if ancillary_only:
        assert got == original(seed)
