"""Components from the runs of a 2D mask (count/plane_runs.py) against the other route:
the stored values' histogram counted pixel by pixel, the classes partitioned and labelled by
connected-components-3d. Masks here are small, so each test chooses the route itself
(PIXELS_PER_RUN: 1 sends every 2D mask by its runs, 10**12 none)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mfb_cli.count.plane_runs as plane_runs
from mfb_cli import ReadOptions, count_masks, load_colormap, load_remap
from mfb_cli.count.kernels import histogram_of_array
from tests.conftest import save_mask

pytest.importorskip("cc3d")

BY_RUNS, BY_PIXELS = 1, 10**12

dtypes = st.sampled_from([np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64])


@settings(max_examples=200, deadline=None)
@given(
    dtypes.flatmap(
        lambda dtype: arrays(
            dtype,
            st.tuples(st.integers(1, 9), st.integers(1, 9)),
            elements=st.sampled_from(
                sorted({0, 1, 7, int(np.iinfo(dtype).max), int(np.iinfo(dtype).min)})
            ),
        )
    )
)
def test_the_histogram_of_the_runs_is_the_histogram_of_the_pixels(labels):
    saved = plane_runs.PIXELS_PER_RUN
    try:
        plane_runs.PIXELS_PER_RUN = BY_RUNS
        runs = plane_runs.runs_of(labels)
    finally:
        plane_runs.PIXELS_PER_RUN = saved
    assert runs is not None
    ids, pixels = plane_runs.run_histogram(labels, runs)
    expected_ids, expected_pixels = histogram_of_array(labels)
    assert ids.dtype == pixels.dtype == np.int64
    assert ids.tolist() == expected_ids.tolist()
    assert pixels.tolist() == expected_pixels.tolist()


def test_few_runs_and_many_runs_are_told_apart():
    blocks = np.kron(np.arange(6).reshape(2, 3), np.ones((8, 20), dtype=np.int64))
    assert plane_runs.runs_of(blocks.astype(np.uint8)) is not None  # 3 runs a row of 60
    noise = (np.arange(64).reshape(8, 8) % 2).astype(np.uint8)
    assert plane_runs.runs_of(noise) is None  # a run a pixel
    assert plane_runs.runs_of(np.zeros((2, 2, 2), dtype=np.uint8)) is None  # a volume
    assert plane_runs.runs_of(np.zeros((3, 3), dtype=np.float32)) is None


def _both_routes(monkeypatch, paths, **options):
    monkeypatch.setattr(plane_runs, "PIXELS_PER_RUN", BY_RUNS)
    by_runs = count_masks(paths, jobs=1, **options)
    monkeypatch.setattr(plane_runs, "PIXELS_PER_RUN", BY_PIXELS)
    by_pixels = count_masks(paths, jobs=1, **options)
    assert by_runs.geometry is not None
    return by_runs, by_pixels


@pytest.mark.parametrize("connectivity", [4, 8])
def test_a_scan_by_runs_equals_the_scan_by_pixels(tmp_path, monkeypatch, connectivity):
    rng = np.random.default_rng(11)
    paths = []
    for index in range(4):
        blocks = rng.integers(0, 5, size=(6, 7))
        mask = np.kron(blocks, np.ones((3, 4), dtype=np.int64))
        mask[rng.integers(0, 18), rng.integers(0, 28)] = 9  # a speck
        paths.append(save_mask(tmp_path / f"{index}.png", mask))
    signed = np.kron(rng.integers(-3, 3, size=(5, 5)), np.ones((2, 3), dtype=np.int64))
    np.save(tmp_path / "signed.npy", signed.astype(np.int8))
    paths.append(tmp_path / "signed.npy")
    wide = np.kron(rng.integers(0, 3, size=(4, 4)), np.ones((2, 2), dtype=np.int64)) * 40000
    np.save(tmp_path / "wide.npy", wide.astype(np.int32))
    paths.append(tmp_path / "wide.npy")
    by_runs, by_pixels = _both_routes(monkeypatch, paths, geometry=connectivity)
    assert by_runs == by_pixels
    assert by_runs.ids.tolist() == count_masks(paths, jobs=1).ids.tolist()


def test_colours_and_a_remap_merging_values_go_the_right_way(tmp_path, monkeypatch):
    # Colours map one to one (labelled from the stored codes); the remap then merges two
    # classes, whose regions must join (labelled from the partition).
    red, green, blue = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    rgb = np.array([[red, red, green, blue]] * 3 + [[blue, blue, green, red]], dtype=np.uint8)
    path = save_mask(tmp_path / "c.png", rgb, mode="RGB")
    table = tmp_path / "colours.json"
    table.write_text(json.dumps({"0": [255, 0, 0], "1": [0, 255, 0], "2": [0, 0, 255]}))
    colours = ReadOptions(colormap=load_colormap(table))
    by_runs, by_pixels = _both_routes(monkeypatch, [path], read=colours, geometry=4)
    assert by_runs == by_pixels
    assert by_runs.geometry.components.tolist() == [2, 1, 2]
    remap = tmp_path / "remap.json"
    remap.write_text(json.dumps({"0": 5, "1": 5, "2": 6}))
    merged = ReadOptions(colormap=load_colormap(table), remap=load_remap(remap))
    by_runs, by_pixels = _both_routes(monkeypatch, [path], read=merged, geometry=4)
    assert by_runs == by_pixels
    assert by_runs.ids.tolist() == [5, 6]
    # Class 5: the red and green of rows 0-2 and the green and red of row 3, one region.
    assert by_runs.geometry.components.tolist() == [1, 2]
