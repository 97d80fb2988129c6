"""--patch on the command line: scan writes one line per patch, merge and --from carry
them, sampling weights patches exactly as it weights the same crops written as files, and
-f windows / -f torchgeo give each patch back as a window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ..conftest import run, save_mask

A = np.array(
    [
        [0, 0, 1, 1, 0, 0, 2],
        [0, 1, 1, 1, 0, 0, 2],
        [0, 0, 0, 0, 0, 0, 0],
        [3, 3, 0, 0, 0, 0, 0],
        [3, 3, 0, 0, 0, 0, 255],
    ]
)
B = np.array([[2, 2, 2, 0], [2, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 3]])


def _masks(tmp_path: Path) -> Path:
    folder = tmp_path / "m"
    save_mask(folder / "a.png", A)
    save_mask(folder / "b.png", B)
    return folder


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scan_writes_a_line_per_patch_and_the_grid_in_the_header(tmp_path):
    folder = _masks(tmp_path)
    images = tmp_path / "p.jsonl"
    result = run("scan", folder, "--per-image", images, "--patch", "3,2", "-o", tmp_path / "s.json")
    assert result.exit_code == 0, result.stderr
    lines = _lines(images)
    assert lines[0] == {"mfb_per_image": 1, "label_mapping": {}, "patch": {"size": 3, "stride": 2}}
    # a.png 5 x 7: rows 0, 2; cols 0, 2, 4. b.png 4 x 4: rows 0, 2; cols 0, 2 (clipped to 2).
    windows = [(line["image"][-5:], tuple(line["window"].values())) for line in lines[1:]]
    assert windows == [
        *[("a.png", (r, c, 3, 3)) for r in (0, 2) for c in (0, 2, 4)],
        *[
            ("b.png", (r, c, 3 if r == 0 else 2, 3 if c == 0 else 2))
            for r in (0, 2)
            for c in (0, 2)
        ],
    ]
    assert lines[1]["ids"] == [0, 1] and lines[1]["pixels"] == [6, 3]
    assert lines[6]["ids"] == [0, 255] and lines[6]["pixels"] == [8, 1]
    # The statistics file still counts every pixel of every file once.
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["source"]["patch"]["size"] == 3
    assert stats["total_pixels"] == A.size + B.size


@pytest.mark.parametrize("value", ["0", "3,0", "x", "3,2,1", "-2", "2.5"])
def test_a_bad_patch_is_a_usage_error(tmp_path, value):
    result = run("scan", _masks(tmp_path), "--per-image", tmp_path / "p.jsonl", "--patch", value)
    assert result.exit_code == 2
    assert "Invalid value for '--patch'" in result.stderr
    assert not (tmp_path / "p.jsonl").exists()


def test_patch_needs_per_image_on_scan_and_is_refused_with_from(tmp_path):
    folder = _masks(tmp_path)
    result = run("scan", folder, "--patch", "3")
    assert result.exit_code == 2 and "--per-image" in result.stderr
    images = tmp_path / "p.jsonl"
    assert run("scan", folder, "--per-image", images, "--patch", "3").exit_code == 0
    result = run("sampling", "--from", images, "--patch", "3")
    assert result.exit_code == 2 and "holds its own patches" in result.stderr


def test_merge_and_from_round_trip(tmp_path):
    folder = _masks(tmp_path)
    for name in ("a", "b"):
        result = run(
            "scan", folder / f"{name}.png", "--per-image", tmp_path / f"{name}.jsonl",
            "--patch", "3,2",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
    merged = run("merge", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "-o", tmp_path / "ab.jsonl")
    assert merged.exit_code == 0, merged.stderr
    run("scan", folder, "--per-image", tmp_path / "both.jsonl", "--patch", "3,2")
    assert (tmp_path / "ab.jsonl").read_text() == (tmp_path / "both.jsonl").read_text()
    scanned = run("sampling", folder, "--patch", "3,2", "--ignore", 255, "-f", "json")
    loaded = run("sampling", "--from", tmp_path / "ab.jsonl", "--ignore", 255, "-f", "json")
    assert scanned.exit_code == 0 and loaded.exit_code == 0, scanned.stderr + loaded.stderr
    one, two = json.loads(scanned.stdout), json.loads(loaded.stdout)
    assert one["images"] == two["images"] and one["effect"] == two["effect"]


def test_shards_of_other_grids_do_not_merge(tmp_path):
    folder = _masks(tmp_path)
    run("scan", folder / "a.png", "--per-image", tmp_path / "a.jsonl", "--patch", "3,2")
    run("scan", folder / "b.png", "--per-image", tmp_path / "b.jsonl", "--patch", "3")
    run("scan", folder / "b.png", "--per-image", tmp_path / "w.jsonl")
    for other in ("b", "w"):
        result = run("merge", tmp_path / "a.jsonl", tmp_path / f"{other}.jsonl")
        assert result.exit_code == 1
        assert f"{other}.jsonl: holds" in result.stderr


def crop_starts(length: int, size: int, stride: int) -> list[int]:
    """0, stride, ... up to the first crop that reaches the edge; none if size > length."""
    found: list[int] = []
    start = 0
    while length >= size and start < length:
        found.append(start)
        if start + size >= length:
            break
        start += stride
    return found


def _crops(folder: Path, out: Path, size: int, stride: int) -> list[Path]:
    """Every patch cut out with numpy and written as its own file, in scan order."""
    written = []
    for name, labels in (("a", A), ("b", B)):
        for row in crop_starts(labels.shape[0], size, stride):
            for col in crop_starts(labels.shape[1], size, stride):
                path = out / f"{name}_{row:03d}_{col:03d}.png"
                save_mask(path, labels[row : row + size, col : col + size])
                written.append(path)
    return written


@pytest.mark.parametrize("scheme", ["repeat-factor", "rare-class", "weighted"])
@pytest.mark.parametrize(("size", "stride"), [(3, 2), (2, 3), (4, 4)])
def test_sampling_patches_equals_sampling_the_crops_as_files(tmp_path, scheme, size, stride):
    folder = _masks(tmp_path)
    crops = _crops(folder, tmp_path / "crops", size, stride)
    extra = ["--min-pixels", 0] if scheme == "rare-class" else []
    patches = run(
        "sampling", folder, "--patch", f"{size},{stride}", "--ignore", 255, "--scheme", scheme,
        *extra,
    )  # fmt: skip
    files = run("sampling", tmp_path / "crops", "--ignore", 255, "--scheme", scheme, *extra)
    assert patches.exit_code == 0, patches.stderr
    assert files.exit_code == 0, files.stderr
    one, two = json.loads(patches.stdout), json.loads(files.stdout)
    assert len(one["images"]) == len(crops)
    for key in ("weight", "probability", "classes"):
        assert [row[key] for row in one["images"]] == [row[key] for row in two["images"]]
    assert one["effect"] == two["effect"]
    assert one.get("class_probabilities") == two.get("class_probabilities")


def test_csv_and_windows_list_each_patch(tmp_path):
    folder = _masks(tmp_path)
    result = run(
        "sampling", folder / "b.png", "--patch", "3,2", "--scheme", "weighted", "-f", "csv"
    )
    assert result.exit_code == 0, result.stderr
    # b.png's four patches hold {0,1,2}, {0,2}, {0,1}, {0,3}: images(c) 4, 2, 2, 1, so
    # w = 4/2, 4/2, 4/2, 4/1 and probabilities 0.2, 0.2, 0.2, 0.4.
    assert result.stdout.splitlines() == [
        "image,row,col,height,width,weight,probability",
        f"{folder / 'b.png'},0,0,3,3,2.0,0.2",
        f"{folder / 'b.png'},0,2,3,2,2.0,0.2",
        f"{folder / 'b.png'},2,0,2,3,2.0,0.2",
        f"{folder / 'b.png'},2,2,2,2,4.0,0.4",
    ]
    windows = run("sampling", folder / "b.png", "--patch", "3,2", "--scheme", "weighted", "-f",
                  "windows")  # fmt: skip
    record = json.loads(windows.stdout)
    assert record["num_windows"] == 4 and record["patch"]["stride"] == 2
    assert record["windows"][1] == {
        "file": str(folder / "b.png"), "row": 0, "col": 2, "height": 3, "width": 2,
        "weight": 2.0, "probability": 0.2,
    }  # fmt: skip


def test_a_file_smaller_than_one_patch_is_a_warning(tmp_path):
    # b.png (4 x 4) has no 5 x 5 patch, a.png (5 x 7) has two: b's pixels are counted in
    # the totals, yet it gives no line, which the warning says, on stderr and in the output.
    folder = _masks(tmp_path)
    images, out = tmp_path / "p.jsonl", tmp_path / "s.json"
    result = run("scan", folder, "--per-image", images, "--patch", "5,2", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert [line["window"]["col"] for line in _lines(images)[1:]] == [0, 2]
    warning = (
        "1 of 2 files are smaller than one patch (1 under 5 x 5 pixels): they have no "
        "patch, so no line and no window; lower the SIZE of --patch"
    )
    assert f"warning: {warning}\n" in result.stderr
    assert json.loads(out.read_text())["warnings"] == [warning]


def test_windows_need_patches(tmp_path):
    result = run("sampling", _masks(tmp_path), "-f", "windows")
    assert result.exit_code == 1
    assert "--patch" in result.stderr
    assert result.stdout == ""


def _geo_file(tmp_path: Path) -> Path:
    """A per-image file of patches of a raster whose geotransform is known: 10 m pixels,
    north-up, top-left corner at (500000, 4200000)."""
    path = tmp_path / "geo.jsonl"
    geo = {"geotransform": [500000.0, 10.0, 0.0, 4200000.0, 0.0, -10.0], "crs": "EPSG:32633"}
    lines = [
        {"mfb_per_image": 1, "label_mapping": {}, "patch": {"size": 4, "stride": 4}},
        {"image": "map.tif", "window": {"row": 0, "col": 0, "height": 4, "width": 4},
         "ids": [0, 1], "pixels": [15, 1], **geo},
        {"image": "map.tif", "window": {"row": 0, "col": 4, "height": 4, "width": 2},
         "ids": [0], "pixels": [8], **geo},
        {"image": "map.tif", "window": {"row": 4, "col": 0, "height": 1, "width": 4},
         "ids": [0, 2], "pixels": [2, 2], **geo},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_windows_give_crs_bounds_through_the_geotransform(tmp_path):
    result = run("sampling", "--from", _geo_file(tmp_path), "--scheme", "weighted", "-f", "windows")
    assert result.exit_code == 0, result.stderr
    windows = json.loads(result.stdout)["windows"]
    # The 4 x 4 window at row 4, col 0: x 500000..500040, y 4200000 - 80 .. 4200000 - 40.
    assert windows[2]["bounds"] == {
        "minx": 500000.0, "maxx": 500040.0, "miny": 4199920.0, "maxy": 4199960.0
    }  # fmt: skip
    assert windows[1]["bounds"] == {
        "minx": 500040.0, "maxx": 500080.0, "miny": 4199960.0, "maxy": 4200000.0
    }  # fmt: skip
    assert windows[0]["crs"] == "EPSG:32633"
    # weighted: images(0) = 3, images(1) = 1, images(2) = 1 -> w = 3, 1, 3.
    assert [w["weight"] for w in windows] == [3.0, 1.0, 3.0]


def test_every_pool_writes_the_same_patches(tmp_path):
    rng = np.random.default_rng(5)
    folder = tmp_path / "many"
    for index in range(12):
        save_mask(folder / f"{index:02d}.png", rng.integers(0, 4, size=(13, 11)))
    outputs = []
    for pool, jobs in (("serial", 1), ("threads", 2), ("processes", 2)):
        path = tmp_path / f"{pool}.jsonl"
        extra = [] if pool == "serial" else ["--pool", pool]
        result = run("scan", folder, "--per-image", path, "--patch", "5,4", "-j", jobs, *extra)
        assert result.exit_code == 0, result.stderr
        outputs.append(path.read_text())
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0].splitlines()) == 1 + 12 * 3 * 3


def test_patches_are_not_split_nor_written_for_daformer(tmp_path):
    images = tmp_path / "p.jsonl"
    assert run("scan", _masks(tmp_path), "--per-image", images, "--patch", "3").exit_code == 0
    result = run("split", "--from", images)
    assert result.exit_code == 2 and "holds patches" in result.stderr
    result = run("sampling", "--from", images, "--daformer", tmp_path / "d")
    assert result.exit_code == 2 and "--daformer" in result.stderr
    assert not (tmp_path / "d").exists()


def test_patches_of_a_tiled_geotiff_read_band_by_band(tmp_path):
    """A tiled GeoTIFF (32 x 16 tiles, deflate, nodata 0) read in bands of 32 rows: each
    patch's counts are the naive crop's without nodata, every line carries the raster's
    geotransform and CRS, and -f windows gives the CRS bounds of each window."""
    tifffile = pytest.importorskip("tifffile")
    from ..read.test_rasters import GEO, raster

    labels = raster()  # 70 x 50, rows 0-3 nodata (0)
    folder = tmp_path / "maps"
    folder.mkdir()
    tags = [*GEO, (42113, "s", 0, "0", True)]
    tifffile.imwrite(folder / "map.tif", labels, extratags=tags, photometric="minisblack",
                     tile=(32, 16), compression="zlib")  # fmt: skip
    images = tmp_path / "p.jsonl"
    result = run("scan", folder, "--glob", "*.tif", "--per-image", images, "--patch", "12,7",
                 "--max-pixels", 1700)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = _lines(images)[1:]
    expected = []
    for row in crop_starts(70, 12, 7):
        for col in crop_starts(50, 12, 7):
            crop = labels[row : row + 12, col : col + 12]
            ids, counts = np.unique(crop[crop != 0], return_counts=True)
            window = {"row": row, "col": col, "height": crop.shape[0], "width": crop.shape[1]}
            expected.append((window, ids.tolist(), counts.tolist()))
    assert [(line["window"], line["ids"], line["pixels"]) for line in lines] == expected
    assert {line["crs"] for line in lines} == {"EPSG:32631"}
    assert lines[0]["geotransform"] == [500000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0]
    result = run("sampling", "--from", images, "--scheme", "weighted", "-f", "windows")
    assert result.exit_code == 0, result.stderr
    windows = json.loads(result.stdout)["windows"]
    last = windows[-1]  # row 63, col 42: clipped to 7 x 8 pixels, bounds of the 12 x 12 patch
    assert (last["row"], last["col"], last["height"], last["width"]) == (63, 42, 7, 8)
    assert last["bounds"] == {
        "minx": 500420.0, "maxx": 500540.0, "miny": 4999250.0, "maxy": 4999370.0
    }  # fmt: skip
