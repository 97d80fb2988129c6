"""mfb check --geometry: classes made of specks, with the files holding most of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mfb_cli import check_masks
from mfb_cli.count.check import Speckled
from tests.conftest import run, save_mask

pytest.importorskip("cc3d")

#: Isolated pixels (two apart in both directions: no two touch, even by a corner).
SPOTS = [(r, c) for r in (4, 6, 8) for c in (0, 2, 4, 6, 8)]
#: Places for the ignored value's specks, between the spots (also two apart).
BETWEEN = [(r, c) for r in (5, 7) for c in (1, 3, 5, 7, 9)]


def speckled_masks(folder):
    """Three 10x10 masks: a 3x3 block of class 1, then 8, 6 and 3 one-pixel specks of class
    5 (17 in all) and 10 specks of 255 in each."""
    paths = []
    for index, specks in enumerate((8, 6, 3)):
        labels = np.zeros((10, 10), dtype=np.uint8)
        labels[0:3, 0:3] = 1
        for r, c in SPOTS[:specks]:
            labels[r, c] = 5
        for r, c in BETWEEN:
            labels[r, c] = 255
        paths.append(save_mask(folder / f"{index}.png", labels))
    return paths


def test_a_class_of_specks_is_found_with_its_worst_files(tmp_path):
    paths = speckled_masks(tmp_path)
    report = check_masks(paths, ignore=frozenset({255}), geometry=8)
    names = [str(p) for p in paths]
    # 17 specks >= 16, all of class 5's components; 255 is ignored: never reported.
    assert report.speckled_classes == [
        Speckled(5, 17, 17, 3, [(names[0], 8), (names[1], 6), (names[2], 3)])
    ]
    assert report.problems == ["speckled_classes"] and not report.clean
    assert report.settings["geometry"] == {"2d": 8, "3d": 26}
    # Without --ignore 255, its 30 specks are a speckled class too.
    labels = [one.label for one in check_masks(paths, geometry=8).speckled_classes or []]
    assert labels == [5, 255]
    # Fewer than 16 specks: no finding.
    assert check_masks(paths[1:], ignore=frozenset({255}), geometry=8).speckled_classes == []
    # Without geometry the report is as before: no such key at all.
    plain = check_masks(paths, ignore=frozenset({255}))
    assert plain.speckled_classes is None and "speckled_classes" not in plain.record()


def test_the_command_names_the_class_and_exits_1(tmp_path):
    speckled_masks(tmp_path / "m")
    result = run("check", tmp_path / "m", "--ignore", "255", "--geometry", "-f", "json")
    assert result.exit_code == 1, result.stderr
    record = json.loads(result.stdout)
    assert record["problems"] == ["speckled_classes"]
    assert record["speckled_classes"][0]["label"] == 5
    assert record["speckled_classes"][0]["worst_files"][0]["specks"] == 8
    assert "speckled_classes" in record["definitions"]
    table = run("check", tmp_path / "m", "--ignore", "255", "--geometry")
    assert "Classes made mostly of specks" in table.stdout
    assert "100% of 17" in table.stdout


def test_the_report_lists_the_finding_under_problems(tmp_path):
    speckled_masks(tmp_path / "m")
    page = run("report", tmp_path / "m", "--ignore", "255", "--geometry", "--check")
    assert page.exit_code == 0, page.stderr
    assert "problems: speckled_classes" in page.stdout
    assert f"class 5 is mostly specks: 17 of its 17 components; most in {tmp_path}" in page.stdout


@pytest.mark.parametrize("suffix", [".nii.gz", ".tif"])
def test_a_file_read_in_chunks_has_its_specks_found(tmp_path, suffix):
    """A NIfTI volume (read in slabs) and a GeoTIFF (read in bands): class 1 is 125 (3D) or
    25 (2D) isolated voxels two apart, every one a speck; class 0 is one component."""
    if suffix == ".tif":
        tifffile = pytest.importorskip("tifffile")
        labels = np.zeros((10, 10), dtype=np.uint8)
        labels[::2, ::2] = 1
        path = tmp_path / "map.tif"
        tifffile.imwrite(path, labels, tile=(16, 16), extratags=[(33550, "d", 3, (1, 1, 0))])
        spots = 25
    else:
        nibabel = pytest.importorskip("nibabel")
        labels = np.zeros((10, 10, 10), dtype=np.uint8)
        labels[::2, ::2, ::2] = 1
        path = tmp_path / "case.nii.gz"
        nibabel.save(nibabel.Nifti1Image(labels, np.eye(4)), path)
        spots = 125
    report = check_masks([path], geometry=26)
    assert report.speckled_classes == [Speckled(1, spots, spots, 1, [(str(path), spots)])]
    assert report.problems == ["speckled_classes"]
