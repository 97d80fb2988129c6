"""The -f torchgeo snippet against the real torchgeo (the optional ``frameworks`` group).

pip install torch torchgeo && python -m pytest -m frameworks tests/test_frameworks_torchgeo.py

A label GeoTIFF written by rasterio is scanned into patches (each line carries the
geotransform mfb's GeoTIFF reader found), the snippet's sampler is built over a real
torchgeo RasterDataset, and every chip torchgeo reads for a drawn window holds exactly
the pixels mfb counted for that window. Skips, with the reason, without torchgeo.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from .conftest import run

pytestmark = pytest.mark.frameworks

SIZE, STRIDE = 4, 3
LABELS = np.array(
    [
        [0, 0, 1, 1, 0, 0, 2, 2, 0],
        [0, 1, 1, 1, 0, 0, 2, 2, 0],
        [0, 0, 0, 0, 0, 3, 0, 0, 0],
        [4, 4, 0, 0, 0, 3, 0, 0, 0],
        [4, 4, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 5, 5, 0, 0, 0, 1],
        [0, 0, 0, 5, 5, 0, 0, 0, 0],
    ],
    dtype=np.uint8,
)


def _geotiff(folder: Path) -> tuple[Path, list[float]]:
    rasterio = pytest.importorskip("rasterio", reason="rasterio is not installed")
    from rasterio.transform import from_origin

    folder.mkdir()
    path = folder / "landcover.tif"
    transform = from_origin(500000.0, 4200000.0, 10.0, 10.0)
    profile = {
        "driver": "GTiff",
        "height": LABELS.shape[0],
        "width": LABELS.shape[1],
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:32633",
        "transform": transform,
    }
    with rasterio.open(path, "w", **profile) as raster:
        raster.write(LABELS, 1)
    return path, list(transform.to_gdal())


def test_the_snippet_draws_the_chips_mfb_counted(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("torchgeo", reason="torchgeo is not installed")
    from torchgeo.datasets import RasterDataset

    path, geotransform = _geotiff(tmp_path / "maps")
    images = tmp_path / "patches.jsonl"
    result = run("scan", path, "--per-image", images, "--patch", f"{SIZE},{STRIDE}")
    assert result.exit_code == 0, result.stderr
    # mfb's GeoTIFF reader records where the raster lies on every patch line.
    lines = [json.loads(line) for line in images.read_text().splitlines()]
    assert {tuple(line["geotransform"]) for line in lines[1:]} == {tuple(geotransform)}

    result = run("sampling", "--from", images, "--threshold", 0.5, "-f", "torchgeo")
    assert result.exit_code == 0, result.stderr
    namespace: dict[str, object] = {}
    exec(compile(result.stdout, "<torchgeo>", "exec"), namespace)

    class Labels(RasterDataset):
        filename_glob = "*.tif"
        is_image = False

    dataset = Labels(paths=str(tmp_path / "maps"))
    sampler = namespace["WeightedPatchSampler"](dataset, namespace["BOUNDS"], namespace["REPEATS"])
    # Each window by its top-left corner in the CRS (minx, maxy).
    corners = [(bounds[0], bounds[3]) for bounds in namespace["BOUNDS"]]
    by_corner = dict(zip(corners, lines[1:], strict=True))
    seen: Counter[tuple[float, float]] = Counter()
    for query in sampler:
        xs, ys = query
        chip = dataset[query]["mask"].squeeze().numpy()
        assert chip.shape == (SIZE, SIZE)  # every chip full size, the edge ones filled past it
        line = by_corner[(xs.start, ys.stop)]
        window = line["window"]
        inside = chip[: window["height"], : window["width"]]
        ids, pixels = np.unique(inside, return_counts=True)
        assert (ids.tolist(), pixels.tolist()) == (line["ids"], line["pixels"])
        crop = LABELS[window["row"] :, window["col"] :][:SIZE, :SIZE]
        assert np.array_equal(inside, crop)
        seen[(xs.start, ys.stop)] += 1
    assert seen == Counter(dict(zip(corners, namespace["REPEATS"], strict=True)))
    assert max(namespace["REPEATS"]) > 1  # the rare classes' windows are drawn more often
    assert torch.__version__


def test_the_pixel_snippet_under_real_pytorch(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not installed")
    from .conftest import save_mask

    path = save_mask(tmp_path / "a.png", LABELS)
    for scheme, extra in (("repeat-factor", ["--threshold", 0.5]), ("weighted", [])):
        result = run("sampling", path, "--patch", f"{SIZE},{STRIDE}", "--scheme", scheme,
                     *extra, "-f", "torchgeo")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        namespace: dict[str, object] = {}
        exec(compile(result.stdout, "<torchgeo>", "exec"), namespace)
        make = namespace["WeightedPatchSampler"]
        windows = namespace["WINDOWS"]
        if scheme == "repeat-factor":
            sampler = make(windows, namespace["REPEATS"])
            drawn = Counter((rows.start, cols.start) for _, rows, cols in sampler)
            expected = {(w[1], w[2]): r for w, r in zip(windows, namespace["REPEATS"], strict=True)}
            assert drawn == Counter(expected)
        else:
            sampler = make(windows, namespace["WEIGHTS"], num_samples=40)
            drawn = [(name, rows.start, cols.start) for name, rows, cols in sampler]
            assert len(drawn) == len(sampler) == 40
            assert {(str(path), w[1], w[2]) for w in windows} >= set(drawn)
