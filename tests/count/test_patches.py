"""Patch statistics (count/patches.py) against a naive crop loop written here: every patch
cut out with numpy slicing and counted with np.unique, for 2D masks read in any chunking
and for volumes read slab by slab."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mfb_cli.count.patches import PatchGrid, patch_counts, patches_in
from mfb_cli.count.scan import count_masks
from mfb_cli.read.base.chunks import LabelChunk
from mfb_cli.read.options import ReadOptions

from ..conftest import save_mask


def naive_patches(plane: np.ndarray, size: int, stride: int, index=None):
    """Crop loop: per axis the starts 0, stride, ... while a patch that starts there is
    the first to reach the edge or before; each crop clipped to the plane."""
    height, width = plane.shape

    def starts(length):
        if length < size:
            return []
        found, start = [], 0
        while start < length:
            found.append(start)
            if start + size >= length:
                break
            start += stride
        return found

    out = []
    for row in starts(height):
        for col in starts(width):
            crop = plane[row : row + size, col : col + size]
            ids, counts = np.unique(crop, return_counts=True)
            window = (index, row, col, crop.shape[0], crop.shape[1])
            out.append((window, ids.tolist(), counts.tolist()))
    return out


def as_lists(found):
    return [
        ((w.slice, w.row, w.col, w.height, w.width), ids.tolist(), n.tolist())
        for w, ids, n in found
    ]


def tiles(array: np.ndarray, rows: int, cols: int):
    """The array as chunks of rows x cols (edge tiles smaller), row-major."""
    return [
        LabelChunk(array[r : r + rows, c : c + cols], (r, c))
        for r in range(0, array.shape[0], rows)
        for c in range(0, array.shape[1], cols)
    ]


def test_a_grid_worked_by_hand():
    # 5 x 7, patches of 3 every 2: rows start 0, 2 (ceil(2 / 2) + 1 = 2), cols 0, 2, 4.
    labels = np.zeros((5, 7), dtype=np.uint8)
    labels[0:2, 0:3] = 1
    labels[4, 6] = 2
    found = as_lists(patch_counts("a", PatchGrid(3, 2), labels.shape, [LabelChunk(labels, (0, 0))]))
    assert found == [
        ((None, 0, 0, 3, 3), [0, 1], [3, 6]),
        ((None, 0, 2, 3, 3), [0, 1], [7, 2]),
        ((None, 0, 4, 3, 3), [0], [9]),
        ((None, 2, 0, 3, 3), [0], [9]),
        ((None, 2, 2, 3, 3), [0], [9]),
        ((None, 2, 4, 3, 3), [0, 2], [8, 1]),
    ]


@pytest.mark.parametrize(
    ("size", "stride"),
    [
        (4, 2),  # stride < size: overlapping patches
        (3, 5),  # stride > size: gaps between patches
        (5, 5),  # size not dividing 13 x 17: a clipped last row and column
        (4, 3),
        (1, 1),
        (13, 4),  # as tall as the image
        (20, 20),  # bigger than the image: no patch at all
        (6, 100),
    ],
)
@pytest.mark.parametrize("chunking", ["whole", "bands", "tiles", "shuffled"])
def test_2d_patches_equal_a_naive_crop_loop(size, stride, chunking):
    rng = np.random.default_rng(size * 100 + stride)
    labels = rng.integers(0, 6, size=(13, 17)).astype(np.uint8)
    if chunking == "whole":
        chunks = [LabelChunk(labels, (0, 0))]
    elif chunking == "bands":
        chunks = tiles(labels, 3, 17)
    else:
        chunks = tiles(labels, 4, 5)
        if chunking == "shuffled":
            rng.shuffle(chunks)
    found = as_lists(patch_counts("a", PatchGrid(size, stride), labels.shape, chunks))
    assert found == naive_patches(labels, size, stride)
    assert len(found) == patches_in(labels.shape, PatchGrid(size, stride))


def test_patch_count_per_axis_is_torchgeo_tile_to_chips():
    # torchgeo.samplers.utils.tile_to_chips: ceil((length - size) / stride) + 1.
    for length in range(1, 40):
        for size in range(1, 12):
            for stride in range(1, 12):
                starts = PatchGrid(size, stride).starts(length).tolist()
                if length < size:
                    assert starts == []
                    continue
                chips = math.ceil((length - size) / stride) + 1
                # The same count, but for a chip that would begin past the edge.
                assert starts == [i * stride for i in range(chips) if i * stride < length]


def test_wide_and_negative_values_are_counted_exactly():
    rng = np.random.default_rng(7)
    labels = rng.choice(np.array([-5, 0, 1 << 40, 7]), size=(9, 11)).astype(np.int64)
    found = as_lists(patch_counts("a", PatchGrid(4, 3), labels.shape, tiles(labels, 2, 4)))
    assert found == naive_patches(labels, 4, 3)


def test_a_missing_chunk_is_an_error_not_a_silent_gap():
    from mfb_cli.errors import MfbError

    labels = np.zeros((6, 6), dtype=np.uint8)
    with pytest.raises(MfbError, match="did not cover"):
        patch_counts("a.png", PatchGrid(2, 2), labels.shape, tiles(labels, 2, 6)[:-1])


@pytest.mark.parametrize("text", ["0", "3,0", "a", "3,2,1", "-1", "", "2.5", "3,"])
def test_parse_refuses_anything_but_positive_integers(text):
    with pytest.raises(ValueError, match="SIZE"):
        PatchGrid.parse(text)


def test_parse():
    assert PatchGrid.parse("256") == PatchGrid(256, 256)
    assert PatchGrid.parse("256,192") == PatchGrid(256, 192)


def _scan_patches(paths, grid, read=ReadOptions()):
    found = {}
    count_masks(
        paths,
        jobs=1,
        read=read,
        patches=grid,
        on_patches=lambda path, patches: found.setdefault(str(path), as_lists(patches)),
    )
    return found


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "1"])
def test_files_read_whole_give_the_crops_counts(tmp_path, mode):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2 if mode == "1" else 5, size=(11, 9))
    path = save_mask(tmp_path / "a.png", labels, mode)
    found = _scan_patches([path], PatchGrid(4, 3))
    assert found == {str(path): naive_patches(labels, 4, 3)}


def test_a_remap_applies_to_every_patch(tmp_path):
    from mfb_cli.read.labels.remap import load_remap

    labels = np.array([[0, 1, 2, 3], [3, 2, 1, 0], [1, 1, 1, 1]])
    path = save_mask(tmp_path / "a.png", labels)
    table = tmp_path / "map.csv"
    table.write_text("old,new\n0,9\n1,9\n2,4\n3,4\n")
    read = ReadOptions(remap=load_remap(str(table)))
    found = _scan_patches([path], PatchGrid(2, 2), read)
    mapped = np.where(labels < 2, 9, 4)
    assert found == {str(path): naive_patches(mapped, 2, 2)}


nibabel = pytest.importorskip("nibabel", reason="volumes extra not installed")


@pytest.mark.parametrize(("size", "stride"), [(4, 3), (3, 5), (7, 7)])
def test_volume_patches_are_windows_of_each_slice_read_slab_by_slab(
    tmp_path, monkeypatch, size, stride
):
    from mfb_cli.read.base import chunks

    rng = np.random.default_rng(11)
    labels = rng.integers(0, 4, size=(9, 6, 5)).astype(np.uint8)  # (i, j, k)
    path = tmp_path / "case.nii.gz"
    nibabel.save(nibabel.Nifti1Image(labels, np.eye(4)), path)
    # Slabs of two slices (9 x 6 bytes each): k = 0-1, 2-3, 4.
    monkeypatch.setattr(chunks, "SLAB_BYTES", 2 * 9 * 6)
    found = _scan_patches([path], PatchGrid(size, stride))
    expected = [
        one for k in range(5) for one in naive_patches(labels[:, :, k], size, stride, index=k)
    ]
    assert found == {str(path): expected}


def test_a_grid_of_too_many_patches_is_refused_before_reading(monkeypatch):
    from mfb_cli.count import patches
    from mfb_cli.errors import BadMaskError

    monkeypatch.setattr(patches, "MAX_PATCHES_PER_FILE", 11)
    labels = np.zeros((4, 6), dtype=np.uint8)  # 2 x 3 patches of 2, 3 x 5 of 2,1
    assert len(patch_counts("a", PatchGrid(2, 2), labels.shape, tiles(labels, 4, 6))) == 6

    def never():
        raise AssertionError("a chunk was read")
        yield

    with pytest.raises(BadMaskError, match="would make 15 patches of 2,1"):
        patch_counts("a.png", PatchGrid(2, 1), labels.shape, never())
