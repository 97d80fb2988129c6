"""A raster's class map (read/base/thumbnail.py), taken as its blocks are decoded: by
construction, on GeoTIFFs written by tifffile in tmp_path, it equals ``whole[::B, ::B]``.

The raster is 1100 x 700, so B = ceil(1100 / 512) = 3 and the map is 367 x 234; tiles of
64 x 48 leave partial tiles on both edges (1100 = 17 x 64 + 12, 700 = 14 x 48 + 28),
strips of 50 rows a shorter last strip (1100 = 22 x 50). Rows 0..99 are nodata (0).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mfb_cli.count.kernels import histogram_of_raw
from mfb_cli.count.one_file import count_file_noted
from mfb_cli.read.base.thumbnail import THUMBNAIL_SIDE, Thumbnail
from mfb_cli.read.decode import rasters
from mfb_cli.read.decode.raw import read_raw
from mfb_cli.read.options import ReadOptions

tifffile = pytest.importorskip("tifffile")

HEIGHT, WIDTH = 1100, 700
STEP = 3
NODATA_ROWS = 100
READ = ReadOptions(thumbnail=True)


def whole(dtype: Any = np.uint8) -> np.ndarray:
    """Classes 1..6 in blocks of 10 x 7 pixels, shuffled, so no grid line sees one class."""
    rng = np.random.default_rng(7)
    coarse = rng.integers(1, 7, size=(HEIGHT // 10 + 1, WIDTH // 7 + 1))
    labels = np.repeat(np.repeat(coarse, 10, axis=0), 7, axis=1)[:HEIGHT, :WIDTH]
    labels[NODATA_ROWS:, ::5] = 9  # a thin rare class on every fifth column
    labels[:NODATA_ROWS] = 0
    return labels.astype(dtype)


def write(path: Path, data: np.ndarray, nodata: str = "0", **layout: Any) -> Path:
    tags = [(33550, "d", 3, (10.0, 10.0, 0.0), True), (42113, "s", 0, nodata, True)]
    tifffile.imwrite(path, data, extratags=tags, photometric="minisblack", **layout)
    return path


LAYOUTS = {
    "tiles-deflate": {"tile": (64, 48), "compression": "zlib"},
    "tiles-raw": {"tile": (64, 48)},
    "tiles-predictor": {"tile": (64, 48), "compression": "zlib", "predictor": True},
    "strips-deflate": {"rowsperstrip": 50, "compression": "zlib"},
    "strips-raw": {"rowsperstrip": 50},
}


def expected_classes() -> tuple[np.ndarray, np.ndarray]:
    """Class ids and nodata of the map, by slicing the whole raster."""
    grid = whole()[::STEP, ::STEP].astype(np.int64)
    nodata = grid == 0
    return np.where(nodata, 0, grid), nodata


def test_grid_by_hand() -> None:
    thumbnail = Thumbnail((HEIGHT, WIDTH))
    assert thumbnail.step == STEP == math.ceil(HEIGHT / 512)
    assert thumbnail.shape == (367, 234)  # ceil(1100 / 3), ceil(700 / 3)
    # Pixel (1, 2) of a block at (4, 5) is the raster's (5, 7); none is on the grid
    # (rows 3, 6 and columns 6, 9 are): a block of rows 4..5 and columns 5..7 gives (2, 2).
    block = np.arange(6).reshape(2, 3) + 10
    thumbnail.take(block, 4, 5)
    assert np.flatnonzero(thumbnail.values).tolist() == []
    thumbnail.take(block, 5, 5)  # rows 5..6, columns 5..7: row 6, column 6 -> (2, 2)
    assert thumbnail.values[2, 2] == block[1, 1] == 14
    assert int(np.count_nonzero(thumbnail.values)) == 1


@pytest.mark.parametrize(
    "shape", [(1, 1), (512, 512), (513, 3), (40_000, 40_000), (2**31, 2**31), (7, 10**9)]
)
def test_bounded_whatever_the_raster(shape: tuple[int, int]) -> None:
    thumbnail = Thumbnail(shape)
    assert max(thumbnail.shape) <= THUMBNAIL_SIDE
    assert thumbnail.shape == tuple(-(-n // thumbnail.step) for n in shape)
    assert thumbnail.values.nbytes <= THUMBNAIL_SIDE * THUMBNAIL_SIDE


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_map_equals_the_decimated_raster(tmp_path: Path, layout: str, threads: int) -> None:
    """Both routes (blocks counted where decoded; bands of chunks) give whole[::3, ::3]."""
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS[layout])
    with rasters.tile_threads(threads):
        # The chunks route, whatever the layout.
        raw = read_raw(path, READ)
        for _ in raw.chunks():
            pass
        assert raw.header is not None and raw.header.thumbnail is not None
        assert raw.header.thumbnail.complete
        assert np.array_equal(raw.header.thumbnail.values, whole()[::STEP, ::STEP])
        # The route the counts take (blocks counted where decoded for uint8 deflate).
        raw = read_raw(path, READ)
        direct = layout in ("tiles-deflate", "strips-deflate")
        if direct:
            pytest.importorskip("imagecodecs")
        assert (raw.count_bytes is not None) == direct
        histogram_of_raw(raw, READ)
        assert raw.header is not None and raw.header.thumbnail is not None
        assert np.array_equal(raw.header.thumbnail.values, whole()[::STEP, ::STEP])
        # Counted: class ids, nodata marked.
        _, _, _, _, header = count_file_noted(path, READ)
    assert header is not None and header.thumbnail is not None
    classes, nodata = expected_classes()
    assert header.thumbnail.values.dtype == np.uint8
    assert np.array_equal(header.thumbnail.values, classes)
    assert header.thumbnail.nodata is not None
    assert np.array_equal(header.thumbnail.nodata, nodata)
    assert int(nodata.sum()) == 34 * 234  # rows 0, 3, ..., 99 of the raster


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("dtype", "layout"),
    [
        (np.uint16, "tiles-deflate"),
        (np.uint16, "strips-deflate"),
        (np.int32, "tiles-raw"),
        (">u2", "tiles-deflate"),
    ],
)
def test_wider_rasters_read_in_bands(tmp_path: Path, dtype: Any, layout: str, threads: int) -> None:
    data = whole(np.uint16)
    data[data == 9] = 40_000  # a class id past uint8
    path = write(tmp_path / "map.tif", data.astype(dtype), **LAYOUTS[layout])
    with rasters.tile_threads(threads):
        assert read_raw(path, READ).count_bytes is None
        _, _, _, _, header = count_file_noted(path, READ)
    assert header is not None and header.thumbnail is not None
    grid = data[::STEP, ::STEP]
    assert header.thumbnail.values.dtype == np.uint16
    assert np.array_equal(header.thumbnail.values, np.where(grid == 0, 0, grid))
    assert header.thumbnail.nodata is not None
    assert np.array_equal(header.thumbnail.nodata, grid == 0)


def test_float_raster_with_nan_nodata(tmp_path: Path) -> None:
    data = whole(np.float32)
    data[:NODATA_ROWS] = np.nan
    path = write(tmp_path / "map.tif", data, nodata="nan", **LAYOUTS["tiles-deflate"])
    _, _, _, _, header = count_file_noted(path, READ)
    assert header is not None and header.thumbnail is not None
    classes, nodata = expected_classes()
    assert np.array_equal(header.thumbnail.values, classes)
    assert np.array_equal(header.thumbnail.nodata, nodata)


def test_remap_applies_to_the_map(tmp_path: Path) -> None:
    from mfb_cli.read.labels.remap import load_remap

    table = tmp_path / "remap.json"
    table.write_text(json.dumps({str(v): 1 if v < 4 else 2 for v in (1, 2, 3, 4, 5, 6, 9)}))
    read = ReadOptions(thumbnail=True, remap=load_remap(str(table)))
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS["tiles-deflate"])
    _, _, _, _, header = count_file_noted(path, read)
    assert header is not None and header.thumbnail is not None
    grid = whole()[::STEP, ::STEP]
    expected = np.where(grid == 0, 0, np.where(grid < 4, 1, 2))
    assert np.array_equal(header.thumbnail.values, expected)


def test_no_nodata_option_keeps_every_pixel(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS["tiles-deflate"])
    _, _, _, _, header = count_file_noted(path, ReadOptions(thumbnail=True, count_nodata=True))
    assert header is not None and header.thumbnail is not None
    assert header.thumbnail.nodata is None
    assert np.array_equal(header.thumbnail.values, whole()[::STEP, ::STEP])


def test_a_read_stopped_early_leaves_no_map(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS["strips-deflate"])
    raw = read_raw(path, ReadOptions(thumbnail=True, max_pixels=50 * WIDTH))
    chunks = raw.chunks()
    next(chunks)
    chunks.close()
    assert raw.header is not None and raw.header.thumbnail is not None
    assert not raw.header.thumbnail.complete


def test_only_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path / "map.tif", whole(), **LAYOUTS["tiles-deflate"])
    _, _, _, _, header = count_file_noted(path, ReadOptions())
    assert header is not None and header.thumbnail is None
