"""-f windows and -f torchgeo: CRS bounds through GDAL's geotransform, and the sampler
snippet run against numpy stand-ins of torch and torchgeo (the ``frameworks`` group runs
it against the real torchgeo: tests/test_frameworks_torchgeo.py)."""

from __future__ import annotations

import json
from collections import Counter
from types import ModuleType

import numpy as np
import pytest

from mfb_cli.show.windows import crs_bounds

from ..cli.test_patches_cli import _geo_file
from ..conftest import run, save_mask
from ..numpy_frameworks import Tensor, torch_modules
from ..snippet_layouts import run as run_snippet


def test_crs_bounds_north_up_and_rotated():
    north_up = [100.0, 2.0, 0.0, 50.0, 0.0, -2.0]
    assert crs_bounds(north_up, 1, 3, 4) == {
        "minx": 106.0,
        "maxx": 114.0,
        "miny": 40.0,
        "maxy": 48.0,
    }
    # A rotated raster: the box around the window's four corners.
    rotated = [0.0, 1.0, 1.0, 0.0, 1.0, -1.0]  # x = col + row, y = col - row
    assert crs_bounds(rotated, 0, 0, 2) == {"minx": 0.0, "maxx": 4.0, "miny": -2.0, "maxy": 2.0}


def stand_ins() -> dict[str, ModuleType]:
    """torch (with multinomial) and torchgeo.samplers.GeoSampler, as numpy stand-ins."""
    modules = torch_modules()
    torch = modules["torch"]

    def multinomial(weights, count, replacement=True, generator=None):
        p = np.asarray(weights, dtype=np.float64)
        return generator.rng.choice(len(p), count, replace=replacement, p=p / p.sum()).view(Tensor)

    torch.multinomial = multinomial

    class GeoSampler:
        """torchgeo 0.8's GeoSampler keeps the dataset's index; nothing the snippet uses."""

        def __init__(self, dataset):
            self.dataset = dataset

    samplers = ModuleType("torchgeo.samplers")
    samplers.GeoSampler = GeoSampler
    torchgeo = ModuleType("torchgeo")
    torchgeo.samplers = samplers
    return {**modules, "torchgeo": torchgeo, "torchgeo.samplers": samplers}


def test_geo_snippet_yields_the_crs_slices_of_the_windows(tmp_path):
    result = run("sampling", "--from", _geo_file(tmp_path), "--scheme", "repeat-factor",
                 "--threshold", 0.5, "-f", "torchgeo")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "torchgeo 0.8.1" in result.stdout
    names = run_snippet(result.stdout, stand_ins())
    # Three patches: {0,1}, {0}, {0,2}; f(1) = f(2) = 1/3, r = ceil(sqrt(0.5 * 3)) = 2.
    assert names["REPEATS"] == [2, 1, 2]
    sampler = names["WeightedPatchSampler"]("dataset", names["BOUNDS"], names["REPEATS"])
    assert len(sampler) == 5
    drawn = Counter((x.start, x.stop, y.start, y.stop) for x, y in sampler)
    assert drawn == {
        (500000.0, 500040.0, 4199960.0, 4200000.0): 2,
        (500040.0, 500080.0, 4199960.0, 4200000.0): 1,
        (500000.0, 500040.0, 4199920.0, 4199960.0): 2,
    }


def test_weighted_snippet_draws_only_weighted_windows(tmp_path):
    result = run("sampling", "--from", _geo_file(tmp_path), "--scheme", "weighted",
                 "-f", "torchgeo")  # fmt: skip
    names = run_snippet(result.stdout, stand_ins())
    assert names["WEIGHTS"] == [3 / 7, 1 / 7, 3 / 7]
    sampler = names["WeightedPatchSampler"]("dataset", names["BOUNDS"], names["WEIGHTS"], 50)
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 50
    assert {(x.start, y.start) for x, y in drawn} <= {
        (500000.0, 4199960.0), (500040.0, 4199960.0), (500000.0, 4199920.0)
    }  # fmt: skip


def test_pixel_snippet_without_a_geotransform(tmp_path):
    labels = np.zeros((5, 7), dtype=np.uint8)
    labels[4, 6] = 1
    path = save_mask(tmp_path / "a.png", labels)
    result = run("sampling", path, "--patch", "3,2", "--threshold", 0.5, "-f", "torchgeo")
    assert result.exit_code == 0, result.stderr
    assert "from torchgeo" not in result.stdout  # no CRS: a plain torch Sampler
    names = run_snippet(result.stdout, stand_ins())
    assert names["WINDOWS"] == [[0, r, c] for r in (0, 2) for c in (0, 2, 4)]
    # Only the last patch holds class 1 (f = 1/6): r = ceil(sqrt(0.5 * 6)) = 2.
    assert names["REPEATS"] == [1, 1, 1, 1, 1, 2]
    sampler = names["WeightedPatchSampler"](names["WINDOWS"], names["REPEATS"])
    drawn = Counter((f, rows.start, rows.stop, cols.start, cols.stop) for f, rows, cols in sampler)
    assert drawn[(str(path), 2, 5, 4, 7)] == 2
    assert sum(drawn.values()) == 7


def test_windows_json_is_what_the_record_says(tmp_path):
    result = run("sampling", "--from", _geo_file(tmp_path), "--scheme", "weighted", "-f", "windows")
    record = json.loads(result.stdout)
    assert record["patch"] == {
        "size": 4,
        "stride": 4,
        "definition": record["patch"]["definition"],
    }
    assert set(record["definitions"]) == {"window", "weight", "probability", "bounds"}
    assert [w["probability"] for w in record["windows"]] == pytest.approx([3 / 7, 1 / 7, 3 / 7])
