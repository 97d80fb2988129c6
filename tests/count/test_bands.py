"""Counting and artefact checks in bands of rows give what the whole image gives.

Large images are looked at a band of rows (or a chunk of pixels) at a time so that no
copy of the whole image is made; the results must not depend on where the bands fall.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mfb_cli.count import artefacts, kernels


def naive_blends(labels: np.ndarray) -> tuple[int, int]:
    """The definition, pixel by pixel: a blend lies strictly between its two horizontal or
    two vertical neighbours; an edge pixel differs from one of its four neighbours."""
    height, width = labels.shape
    if min(height, width) < 3:
        return 0, 0
    values = labels.astype(np.int64).tolist()
    blends = edges = 0
    for r in range(height):
        for c in range(width):
            v = values[r][c]
            near = [
                values[r + dr][c + dc]
                for dr, dc in ((0, -1), (0, 1), (-1, 0), (1, 0))
                if 0 <= r + dr < height and 0 <= c + dc < width
            ]
            edges += any(n != v for n in near)
            if 0 < r < height - 1 and 0 < c < width - 1:
                pairs = ((values[r][c - 1], values[r][c + 1]), (values[r - 1][c], values[r + 1][c]))
                blends += any(min(a, b) < v < max(a, b) for a, b in pairs)
    return blends, edges


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 24),
    st.integers(1, 24),
    st.integers(0, 2**32 - 1),
    st.sampled_from([1, 2, 3, 5, 17, 1 << 20]),
)
def test_blend_pixels_in_any_bands_equal_the_definition(height, width, seed, band):
    labels = np.random.default_rng(seed).integers(0, 4, (height, width)).astype(np.uint8)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(artefacts, "BAND_PIXELS", band)
        assert artefacts.blend_pixels(labels) == naive_blends(labels)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(0, 2**32 - 1),
    st.sampled_from([1, 3, 64, 1 << 20]),
    st.sampled_from(["uint8", "uint16", "int16", "int32", "int64"]),
)
def test_histograms_in_any_chunks_equal_np_unique(height, width, seed, chunk, dtype):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    values = rng.choice([info.min, -3, 0, 1, 2, 300, info.max], size=(height, width))
    labels = values.clip(info.min, info.max).astype(dtype)
    expected = np.unique(labels, return_counts=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "_CHUNK", chunk)
        ids, counts = kernels.histogram_of_array(labels)
        assert ids.tolist() == expected[0].tolist() and counts.tolist() == expected[1].tolist()
        fortran = np.asfortranarray(labels)
        assert [x.tolist() for x in kernels.histogram_of_array(fortran)] == [
            ids.tolist(),
            counts.tolist(),
        ]
        if dtype == "uint16":  # a 16-bit image is counted in bands of rows
            image = Image.fromarray(labels)  # mode I;16
            banded = kernels.histogram_of_image(image)
            assert [x.tolist() for x in banded] == [ids.tolist(), counts.tolist()]


@pytest.mark.parametrize("mode", ["L", "I;16"])
def test_check_looks_at_an_image_in_bands_as_at_the_whole(tmp_path, mode):
    from mfb_cli.count.check import inspect_file

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, (23, 11)).astype(np.uint8 if mode == "L" else np.uint16)
    labels[5:9] = 2  # some flat rows among the noise
    path = tmp_path / "m.png"
    Image.fromarray(labels).save(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(artefacts, "BAND_PIXELS", 7)  # bands of one row
        found = inspect_file(path)
    assert (found.blend_pixels, found.boundary_pixels) == naive_blends(labels)
