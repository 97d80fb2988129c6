"""Geometry over a dataset: sums of the images, statistics files (merge byte-identical to
one scan, every impossible file refused), per-image files, and the class rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mfb_cli import ReadOptions, count_masks, geometry_of, load_colormap, load_remap
from mfb_cli.count.connectivity import Connectivity
from mfb_cli.count.counts import ClassCounts
from mfb_cli.count.geometry_counts import GeometryAccumulator, GeometryCounts
from mfb_cli.count.stats import load_stats
from mfb_cli.errors import MfbError
from tests.conftest import run, save_mask

pytest.importorskip("cc3d")

A = np.array([[0, 0, 1, 1], [0, 2, 1, 1], [2, 2, 0, 0]])
B = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [3, 3, 3, 3]])
C = np.array([[0, 0, 0], [0, 0, 0]])


def _write(folder: Path, arrays: list[np.ndarray]) -> list[Path]:
    return [save_mask(folder / f"{i}.png", a) for i, a in enumerate(arrays)]


def test_dataset_geometry_is_the_sum_of_the_images(tmp_path):
    files = _write(tmp_path / "m", [A, B, C])
    counts = count_masks(files, geometry=4)
    geometry = counts.geometry
    assert geometry is not None and geometry.connectivity == Connectivity(4, 6)
    assert geometry.ids.tolist() == counts.ids.tolist() == [0, 1, 2, 3]
    # By hand, 4-connected. A: 0 {(0,0),(0,1),(1,0)} and {(2,2),(2,3)}; 1 one block of 4;
    # 2 {(1,1),(2,0),(2,1)}. B: 0 and 1 each 4 single pixels (a checkerboard); 3 one row.
    # C: one component of 0.
    assert geometry.components.tolist() == [2 + 4 + 1, 1 + 4, 1, 1]
    assert geometry.max_components.tolist() == [4, 4, 1, 1]
    # Sizes: 0: 3, 2 (A), 1 x4 (B), 6 (C); 1: 4 (A), 1 x4 (B); 2: 3; 3: 4.
    assert geometry.size_bins[:, :3].tolist() == [[4, 2, 1], [4, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert geometry.size_pixels[:, :3].tolist() == [[4, 5, 6], [4, 0, 4], [0, 3, 0], [0, 0, 4]]
    # Images by their pixels of the id: 0 has 5 (A), 4 (B), 6 (C); 1: 4, 4; 2: 3; 3: 4.
    assert geometry.image_pixel_bins.tolist() == [[0, 0, 3], [0, 0, 2], [0, 1, 0], [0, 0, 1]]
    assert geometry.volumes == 0 and not geometry.extent_bins[2].any()
    one_by_one = GeometryAccumulator(Connectivity.of(4))
    for array in (A, B, C):
        one_by_one.add(geometry_of(array.astype(np.uint8), 4))
    assert one_by_one.result(counts.ids) == geometry


def test_added_counts_add_their_geometry_exactly(tmp_path):
    files = _write(tmp_path / "m", [A, B, C, B.T.copy(), A[::-1].copy()])
    whole = count_masks(files, geometry=8)
    assert count_masks(files[:2], geometry=8) + count_masks(files[2:], geometry=8) == whole
    assert ClassCounts.empty() + whole == whole  # a part of no image adds nothing
    with pytest.raises(MfbError, match="other does not; scan both with it, or neither"):
        _ = count_masks(files[:2]) + count_masks(files[2:], geometry=8)
    with pytest.raises(MfbError, match=r"connectivity 4 \(2D\) / 6 \(3D\) and 8 \(2D\)"):
        _ = count_masks(files[:2], geometry=4) + count_masks(files[2:], geometry=8)


def test_merge_of_two_shards_is_byte_identical_to_a_scan_of_both(tmp_path):
    rng = np.random.default_rng(3)
    for shard in ("a", "b"):
        for i in range(6):
            labels = rng.integers(0, 4, (9, 11))
            labels[rng.random((9, 11)) < 0.1] = 255
            save_mask(tmp_path / shard / f"{i}.png", labels)
    out = {name: tmp_path / f"{name}.json" for name in ("a", "b", "both", "merged")}
    for name, paths in (("a", ["a"]), ("b", ["b"]), ("both", ["a", "b"])):
        folders = [tmp_path / p for p in paths]
        result = run("scan", *folders, "--geometry", "-q", "-o", out[name])
        assert result.exit_code == 0, result.stderr
    result = run("merge", out["a"], out["b"], "-o", out["merged"])
    assert result.exit_code == 0, result.stderr
    assert out["merged"].read_bytes() == out["both"].read_bytes()
    assert "geometry" in json.loads(out["both"].read_text())
    # --from gives what a scan gives.
    scanned = run("histogram", tmp_path / "a", tmp_path / "b", "--geometry", "-f", "json")
    loaded = run("histogram", "--from", out["merged"], "-f", "json")
    assert scanned.exit_code == loaded.exit_code == 0
    assert json.loads(scanned.stdout)["classes"] == json.loads(loaded.stdout)["classes"]
    assert json.loads(loaded.stdout)["geometry"] == json.loads(scanned.stdout)["geometry"]


def test_merge_refuses_a_shard_without_geometry(tmp_path):
    save_mask(tmp_path / "a" / "0.png", A)
    save_mask(tmp_path / "b" / "0.png", B)
    assert run("scan", tmp_path / "a", "--geometry", "-q", "-o", tmp_path / "a.json").exit_code == 0
    assert run("scan", tmp_path / "b", "-q", "-o", tmp_path / "b.json").exit_code == 0
    result = run("merge", tmp_path / "a.json", tmp_path / "b.json")
    assert result.exit_code == 1
    assert "(scanned with 'mfb scan --geometry') and the other does not" in result.stderr


def _stats(tmp_path: Path) -> dict:
    save_mask(tmp_path / "m" / "0.png", A)
    save_mask(tmp_path / "m" / "1.png", B)
    result = run("scan", tmp_path / "m", "--geometry", "-q")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda g: g["components"].__setitem__(0, 1), "1 components in 2 images holding it"),
        (lambda g: g.__setitem__("components", [1]), "'components' has 1 entries for 4 ids"),
        (lambda g: g["size_bins"][0].__setitem__(1, 1), "'size_bins' add up to 2"),
        (lambda g: g["size_bin_pixels"].__setitem__(1, [0, 2, 6]), "2 pixels in 0 components"),
        (lambda g: g["max_components"].__setitem__(1, 0), "'max_components' 0 does not fit"),
        (lambda g: g["boundary_pixels"].__setitem__(3, 99), "99 boundary pixels of 4 pixels"),
        (lambda g: g["image_pixel_bins"].__setitem__(2, []), "'image_pixel_bins' add up to 0"),
        (lambda g: g["height_bins"].__setitem__(3, [0, 2]), "'height_bins' add up to 2"),
        (lambda g: g["depth_bins"].__setitem__(0, [1]), "'depth_bins' hold components"),
        (lambda g: g.__setitem__("connectivity", {"2d": 6, "3d": 26}), "'connectivity' must be"),
        (lambda g: g.__setitem__("volumes", 5), "'volumes' 5 is more than the 2 images"),
        (lambda g: g["size_bins"].__setitem__(0, [0] * 64 + [1]), "more than 63"),
        (lambda g: g["components"].__setitem__(0, True), "must be a list of counts"),
    ],
)
def test_an_impossible_geometry_is_refused_naming_the_file(tmp_path, edit, message):
    record = _stats(tmp_path)
    edit(record["geometry"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record))
    with pytest.raises(MfbError, match=r"bad\.json: ") as caught:
        load_stats(path)
    assert message in str(caught.value)


def test_the_statistics_round_trip(tmp_path):
    record = _stats(tmp_path)
    path = tmp_path / "s.json"
    path.write_text(json.dumps(record))
    loaded = load_stats(path)
    assert loaded.counts.geometry is not None
    assert loaded.counts == count_masks(sorted((tmp_path / "m").glob("*.png")), geometry=8)


def test_per_image_lines_carry_the_components_and_concatenate(tmp_path):
    folder = tmp_path / "m"
    _write(folder, [A, B])
    images = tmp_path / "i.jsonl"
    result = run("scan", folder, "--geometry", "--connectivity", "4", "-q", "--per-image", images)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in images.read_text().splitlines()[1:]]
    assert [line["components"] for line in lines] == [[2, 1, 1], [4, 4, 1]]
    merged = run("merge", images, images)
    assert merged.exit_code == 0
    assert merged.stdout.count('"components":[4,4,1]') == 2
    broken = tmp_path / "broken.jsonl"
    broken.write_text(images.read_text().replace('"components":[2,1,1]', '"components":[2,0,1]'))
    sampling = run("sampling", "--from", broken)
    assert sampling.exit_code == 1
    assert "an id has no component, or more than its pixels" in sampling.stderr


def test_components_are_of_class_ids_after_the_colour_map_and_the_remap(tmp_path):
    # Two colours of one class side by side make one component; a remap merging two ids
    # joins their regions too.
    red, green, blue = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    rgb = np.array([[red, green, blue], [red, green, blue]], dtype=np.uint8)
    save_mask(tmp_path / "c.png", rgb, mode="RGB")
    table = tmp_path / "colours.json"
    table.write_text(json.dumps({"0": [255, 0, 0], "1": [0, 255, 0], "2": [0, 0, 255]}))
    colormap = load_colormap(table)
    counts = count_masks([tmp_path / "c.png"], read=ReadOptions(colormap=colormap), geometry=4)
    assert counts.geometry is not None
    assert counts.geometry.components.tolist() == [1, 1, 1]
    remap = tmp_path / "remap.json"
    remap.write_text(json.dumps({"0": 5, "1": 5, "2": 6}))
    read = ReadOptions(colormap=colormap, remap=load_remap(remap))
    counts = count_masks([tmp_path / "c.png"], read=read, geometry=4)
    assert counts.ids.tolist() == [5, 6]
    assert counts.geometry is not None
    assert counts.geometry.components.tolist() == [1, 1]
    assert counts.geometry.size_pixels.sum(axis=1).tolist() == [4, 2]
    assert counts.geometry.boundary.tolist() == [2, 2]


def test_palette_and_16_bit_masks_count_like_their_ids(tmp_path):
    for mode in ("P", "I;16", "1"):
        labels = A if mode != "1" else (A > 0).astype(int)
        path = save_mask(tmp_path / f"{mode.replace(';', '')}.png", labels, mode=mode)
        counts = count_masks([path], geometry=4)
        assert counts.geometry == geometry_counts_of(labels, counts.ids)


def geometry_counts_of(labels: np.ndarray, ids: np.ndarray) -> GeometryCounts:
    accumulator = GeometryAccumulator(Connectivity.of(4))
    accumulator.add(geometry_of(labels.astype(np.int64), 4))
    return accumulator.result(ids)
