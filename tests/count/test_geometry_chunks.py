"""--geometry on files read in chunks (count/geometry_chunks.py): a volume's slabs and a
raster's bands give exactly the geometry of the whole array, which test_geometry.py
checks by hand and against scipy per class.

The chunked result is checked against geometry_of on the whole array for random arrays
split at random places along each axis, for every connectivity and with complete
components binned in batches as small as one; the hand-worked 4x4x3 volume is read from a
NIfTI file written by nibabel, one slice a slab; a GeoTIFF's nodata pixels are no class.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mfb_cli.count.geometry_chunks as geometry_chunks
import mfb_cli.read.base.chunks as base_chunks
from mfb_cli.count.connectivity import Connectivity
from mfb_cli.count.geometry import ImageGeometry, geometry_of
from mfb_cli.count.geometry_chunks import chunked_geometry
from mfb_cli.count.one_file import count_file_noted
from mfb_cli.read.base.chunks import LabelChunk
from mfb_cli.read.decode.raw import read_raw
from mfb_cli.read.options import ReadOptions
from tests.conftest import run

from .test_geometry import VOLUME, VOLUME_BOUNDARY, VOLUME_COMPONENTS, _expected_bins, _found

pytest.importorskip("cc3d")


def chunks_of(values: np.ndarray, axis: int, cuts: list[int]) -> list[LabelChunk]:
    """``values`` cut along ``axis`` before each index in ``cuts``, as a decoder gives it."""
    edges = [0, *sorted(set(cuts) - {0, values.shape[axis]}), values.shape[axis]]
    found = []
    for first, last in itertools.pairwise(edges):
        where = [slice(None)] * values.ndim
        where[axis] = slice(first, last)
        start = [0] * values.ndim
        start[axis] = first
        found.append(LabelChunk(values[tuple(where)], tuple(start)))
    return found


def whole_ids(values: np.ndarray) -> np.ndarray:
    return np.unique(values).astype(np.int64)


@st.composite
def split_arrays(draw: st.DrawFn) -> tuple[np.ndarray, int, list[int], int, int]:
    ndim = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    values = draw(arrays(np.uint8, shape, elements=st.integers(0, 3)))
    axis = draw(st.integers(0, ndim - 1))
    cuts = draw(st.lists(st.integers(0, shape[axis]), max_size=4))
    connectivity = draw(st.sampled_from([4, 8] if ndim == 2 else [6, 18, 26]))
    batch = draw(st.sampled_from([1, 2, 1 << 18]))
    return values, axis, cuts, connectivity, batch


@settings(max_examples=400, deadline=None)
@given(split_arrays())
def test_chunks_give_the_geometry_of_the_whole(
    case: tuple[np.ndarray, int, list[int], int, int],
) -> None:
    values, axis, cuts, connectivity, batch = case
    saved = geometry_chunks.COMPONENTS_AT_ONCE
    geometry_chunks.COMPONENTS_AT_ONCE = batch  # complete components binned in batches
    try:
        ids = whole_ids(values)
        found = chunked_geometry(
            chunks_of(values, axis, cuts), values.shape, ids, ids, connectivity
        )
    finally:
        geometry_chunks.COMPONENTS_AT_ONCE = saved
    assert found == geometry_of(values, connectivity)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_a_u_joined_only_in_the_last_chunk_is_one_component(connectivity: int) -> None:
    """Two uprights in every chunk, joined only by the bottom row of the last one: one
    component (two open ones joined at the end), its box spanning every chunk."""
    values = np.zeros((9, 7), dtype=np.uint8)
    values[:, 1] = values[:, 5] = 1
    values[8, 1:6] = 1
    values[0:3, 3] = 2
    ids = whole_ids(values)
    chunks = chunks_of(values, 0, [1, 2, 4, 8])
    found = chunked_geometry(chunks, values.shape, ids, ids, connectivity)
    one = int(np.searchsorted(found.ids, 1))
    assert int(found.components[one]) == 1
    assert int(found.pixels[one]) == 9 + 9 + 3
    assert found.extent_bins[0, one].tolist()[-1] == 1 and found.extent_bins.shape[2] == 10
    assert found == geometry_of(values, connectivity)


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_the_hand_worked_volume_read_one_slice_a_slab(
    connectivity: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nibabel = pytest.importorskip("nibabel")
    path = tmp_path / "volume.nii.gz"
    nibabel.save(nibabel.Nifti1Image(VOLUME, np.eye(4)), path)
    monkeypatch.setattr(base_chunks, "SLAB_BYTES", 1)  # one slice a slab: three chunks
    assert len(list(read_raw(path, ReadOptions()).chunks())) == 3
    ids, pixels, _, shape, _ = count_file_noted(
        path, ReadOptions(), geometry=Connectivity.of(connectivity)
    )
    assert shape is not None
    hand = VOLUME_COMPONENTS[connectivity]
    assert ids.tolist() == [0, 1, 2, 3] and pixels.tolist() == [35, 4, 3, 6]
    assert shape.components.tolist() == [len(hand[c]) for c in range(4)]
    assert shape.boundary.tolist() == [VOLUME_BOUNDARY[c] for c in range(4)]
    for row, label in enumerate(shape.ids.tolist()):
        assert _found(shape, row) == _expected_bins(hand[label], 3), label


def test_a_volume_scan_with_geometry_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nibabel = pytest.importorskip("nibabel")
    rng = np.random.default_rng(7)
    volume = (rng.random((12, 10, 9)) < 0.3).astype(np.uint8) * rng.integers(1, 4, (12, 10, 9))
    volume = volume.astype(np.uint8)
    nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), tmp_path / "case.nii.gz")
    monkeypatch.setattr(base_chunks, "SLAB_BYTES", 2 * 12 * 10)  # two slices a slab
    result = run("scan", tmp_path / "case.nii.gz", "--geometry", "--connectivity", "6")
    assert result.exit_code == 0, result.stderr
    import json

    record = json.loads(result.stdout)["geometry"]
    whole = geometry_of(volume, 6)
    assert record["components"] == whole.components.tolist()
    assert record["boundary_pixels"] == whole.boundary.tolist()
    assert record["volumes"] == 1


def test_raster_nodata_is_no_class_but_borders_one(tmp_path: Path) -> None:
    """A GeoTIFF read in bands: nodata's components are not reported, and a class pixel
    beside nodata is on a boundary. By hand on a 6 x 8 raster: nodata (0) fills rows 0-1;
    class 1 the rest but a 2 x 2 block of class 2 at rows 3-4, columns 2-3."""
    values = np.ones((6, 8), dtype=np.uint8)
    values[:2] = 0
    values[3:5, 2:4] = 2
    ids, pixels, shape = _geotiff_geometry(tmp_path, values, 4)
    assert ids.tolist() == [1, 2] and pixels.tolist() == [28, 4]
    assert shape.components.tolist() == [1, 1]
    # Class 1: row 2 (8 pixels, beside nodata) + the 8 pixels around the block's faces
    # (rows 3-4 columns 1 and 4; row 5 columns 2-3; row 2 columns 2-3 already counted).
    assert shape.boundary.tolist() == [8 + 4 + 2, 4]
    assert shape == geometry_of(values, 4).without(0)


def test_raster_mostly_nodata_trims_the_bins_nodata_alone_used(tmp_path: Path) -> None:
    """Nodata's components are the largest: without them the tables are narrower."""
    values = np.zeros((6, 8), dtype=np.uint8)
    values[2:4, 3:5] = 1  # 4 pixels: size bin 2; nodata's 44: bin 5
    ids, pixels, shape = _geotiff_geometry(tmp_path, values, 8)
    assert ids.tolist() == [1] and pixels.tolist() == [4]
    assert shape.size_bins.tolist() == [[0, 0, 1]]
    assert shape.size_pixels.tolist() == [[0, 0, 4]]
    assert shape.extent_bins.tolist() == [[[0, 0, 1]], [[0, 0, 1]]]
    assert shape.boundary.tolist() == [4] and shape.components.tolist() == [1]


@pytest.mark.parametrize(
    ("shape", "cuts", "bound"),
    [((64, 128, 128), [16, 32, 48], 64), ((4, 256, 256), [1, 2, 3], 200)],
    ids=["deep slabs", "one slice a slab"],
)
def test_a_noise_volume_takes_tens_of_bytes_a_voxel_of_one_slab(
    shape: tuple[int, int, int], cuts: list[int], bound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A volume of noise (a component nearly every voxel: 6-connected, 256 values) read in
    4 slabs: the memory NumPy allocates at its peak stays within 64 bytes a voxel of one
    slab of 16 slices (labelling it whole takes under 30), not hundreds per component of
    the slab (368 before); within 200 for slabs of one slice, every component of which
    stays open (587 before). Bands and batches are made small so that their fixed
    temporaries do not hide the cost per voxel."""
    import tracemalloc

    import mfb_cli.count.geometry as geometry

    for module in (geometry, geometry_chunks):
        monkeypatch.setattr(module, "BAND_PIXELS", 4096)
        monkeypatch.setattr(module, "COMPONENTS_AT_ONCE", 16384)
    values = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    ids = whole_ids(values)
    chunks = chunks_of(values, 0, cuts)
    slab = values.size // 4
    tracemalloc.start()
    try:
        found = chunked_geometry(chunks, values.shape, ids, ids, 6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == geometry_of(values, 6)
    assert int(found.components.sum()) > values.size * 0.9  # nearly a component a voxel
    assert peak < bound * slab, peak / slab


def _geotiff_geometry(
    tmp_path: Path, values: np.ndarray, connectivity: int
) -> tuple[np.ndarray, np.ndarray, ImageGeometry]:
    """Counts and geometry of ``values`` written as a GeoTIFF with nodata 0, in strips of
    two rows read as bands of two rows: several chunks."""
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "map.tif"
    nodata = [(42113, "s", 0, "0", True)]
    tifffile.imwrite(path, values, rowsperstrip=2, photometric="minisblack", extratags=nodata)
    read = ReadOptions(max_pixels=2 * values.shape[1])
    assert len(list(read_raw(path, read).chunks())) == values.shape[0] // 2
    ids, pixels, _, shape, _ = count_file_noted(path, read, geometry=Connectivity.of(connectivity))
    assert shape is not None
    return ids, pixels, shape
