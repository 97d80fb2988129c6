"""Every command on 3D volumes: physical counts, nnU-Net datasets, checks, archives, URLs, Dask.

Two cases worked out by hand:
  a.nii.gz, 1 x 1 x 1 mm (1 mm^3 a voxel), 4x3x2: 17 voxels of 0, 1 of 1, 6 of 2.
  b.nii.gz, 0.5 x 0.5 x 2 mm (1/2 mm^3), 2x2x2: 6 voxels of 0, 2 of 1.
Voxels: 0: 23, 1: 3, 2: 6. Physical: 0: 17 + 3 = 20 mm^3, 1: 1 + 1 = 2, 2: 6, in units of
1/2 mm^3: 40, 4, 12.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run

nib = pytest.importorskip("nibabel", reason="the 'volumes' extra: nibabel")


def _save(path: Path, values: np.ndarray, spacing: tuple[float, ...]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(values, np.diag([*spacing[:3], 1.0]))
    image.header.set_zooms(spacing)
    nib.save(image, path)
    return path


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    a = np.zeros((4, 3, 2), np.uint8)
    a[0, 0, 0] = 1
    a[1] = 2
    b = np.zeros((2, 2, 2), np.uint8)
    b[0, 0, :] = 1
    _save(tmp_path / "cases" / "a.nii.gz", a, (1.0, 1.0, 1.0))
    _save(tmp_path / "cases" / "b.nii.gz", b, (0.5, 0.5, 2.0))
    return tmp_path / "cases"


def _json(*args: object) -> dict:
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_voxel_and_physical_counts_by_hand(cases: Path) -> None:
    voxels = _json("weights", cases, "--glob", "*.nii.gz")
    assert voxels["pixel_counts"] == [23, 3, 6]
    assert "count" not in voxels["source"]
    physical = _json("weights", cases, "--glob", "*.nii.gz", "--count", "physical")
    assert physical["pixel_counts"] == [40, 4, 12]
    assert physical["source"]["count"] == "physical"
    assert physical["source"]["count_unit_mm3"] == "1/2"
    # median frequency: freq = 20/28, 2/28, 6/24 (class 2 only in a, 12 mm^3 labelled)
    assert physical["frequencies"] == [20 / 28, 2 / 28, 6 / 24]
    assert physical["weights"] == [0.35, 3.5, 1.0]


def test_physical_counts_survive_scan_from_and_merge(cases: Path, tmp_path: Path) -> None:
    stats, images = tmp_path / "s.json", tmp_path / "i.jsonl"
    result = run("scan", cases, "--glob", "*.nii.gz", "--count", "physical", "-o", stats,
                 "--per-image", images)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    saved = json.loads(stats.read_text())
    assert saved["count_unit_mm3"] == "1/2" and saved["pixels"] == [40, 4, 12]
    direct = _json("weights", cases, "--glob", "*.nii.gz", "--count", "physical")
    loaded = _json("weights", "--from", stats)
    assert loaded["weights"] == direct["weights"]
    assert loaded["pixel_counts"] == [40, 4, 12]
    merged = tmp_path / "m.json"
    assert run("merge", stats, stats, "-o", merged).exit_code == 0
    assert json.loads(merged.read_text())["pixels"] == [80, 8, 24]
    lines = [json.loads(line) for line in images.read_text().splitlines()[1:]]
    assert lines == [
        {"image": str(cases / "a.nii.gz"), "ids": [0, 1, 2], "pixels": [17, 1, 6],
         "shape": [4, 3, 2], "spacing": [1.0, 1.0, 1.0], "voxel_mm3": "1"},
        {"image": str(cases / "b.nii.gz"), "ids": [0, 1], "pixels": [6, 2],
         "shape": [2, 2, 2], "spacing": [0.5, 0.5, 2.0], "voxel_mm3": "1/2"},
    ]  # fmt: skip
    voxels = tmp_path / "v.json"
    assert run("scan", cases, "--glob", "*.nii.gz", "-o", voxels).exit_code == 0
    mixed = run("merge", stats, voxels)
    assert mixed.exit_code == 1
    assert "cannot add voxel counts and physical volumes" in mixed.stderr


def test_physical_counts_refuse_a_2d_mask(cases: Path) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((2, 2), np.uint8)).save(cases / "flat.png")
    result = run("weights", cases, "--glob", "*", "--count", "physical")
    assert result.exit_code == 1
    assert "flat.png: has no voxel spacing (a 2D image" in result.stderr
    assert "--count physical needs 3D volumes" in result.stderr


def test_archives_and_urls_count_as_the_files(cases: Path, tmp_path: Path) -> None:
    expected = _json("histogram", cases, "--glob", "*.nii.gz", "-f", "json")["classes"]
    with zipfile.ZipFile(tmp_path / "cases.zip", "w") as archive:
        for path in sorted(cases.iterdir()):
            archive.write(path, f"labels/{path.name}")
    zipped = _json("histogram", tmp_path / "cases.zip", "--glob", "*.nii.gz", "-f", "json")
    assert zipped["classes"] == expected
    fsspec = pytest.importorskip("fsspec", reason="URLs need the 'remote' extra")
    memory = fsspec.filesystem("memory")
    for path in sorted(cases.iterdir()):
        memory.pipe(f"/volumes-test/{path.name}", path.read_bytes())
    try:
        remote = _json("histogram", "memory://volumes-test", "--glob", "*.nii.gz", "-f", "json")
    finally:
        memory.rm("/volumes-test", recursive=True)
    assert remote["classes"] == expected


def test_a_4d_file_and_a_float_volume_in_check(cases: Path) -> None:
    _save(cases / "four.nii.gz", np.zeros((2, 2, 2, 3), np.uint8), (1.0, 1.0, 1.0, 1.0))
    half = np.zeros((2, 2, 2), np.float32)
    half[1, 0, 1] = 0.5
    _save(cases / "half.nii.gz", half, (1.0, 1.0, 1.0))
    report = run("check", cases, "--glob", "*.nii.gz", "-f", "json")
    assert report.exit_code == 1
    bad = {
        Path(item["path"]).name: item["problem"] for item in json.loads(report.stdout)["bad_files"]
    }
    assert bad["half.nii.gz"].startswith("holds non-integer values (first: 0.5 at voxel (1, 0, 1))")
    assert bad["four.nii.gz"].startswith("is 4-D (2x2x2x3: 3 volumes")
    assert "pass --volume N" in bad["four.nii.gz"]
    weights = run("weights", cases / "four.nii.gz", "--volume", "2")
    assert weights.exit_code == 0, weights.stderr
    assert json.loads(weights.stdout)["pixel_counts"] == [8]


@pytest.fixture
def nnunet(tmp_path: Path) -> Path:
    """An nnU-Net v2 dataset: background 0, liver 1, tumour 2, ignore 3, a region."""
    root = tmp_path / "Dataset001_Liver"
    one = np.zeros((4, 3, 2), np.uint8)
    one[0, 0, 0], one[1] = 1, 2  # 0: 17, 1: 1, 2: 6
    one[3, 2, 1] = 3  # ... and one ignored voxel: 0: 16
    two = np.zeros((4, 3, 2), np.uint8)
    two[0, 0, :], two[2, 2, :] = 1, 3  # 0: 20, 1: 2, 3: 2
    for case, values in (("liver_001", one), ("liver_002", two)):
        _save(root / "labelsTr" / f"{case}.nii.gz", values, (1.0, 1.0, 1.0))
        _save(root / "imagesTr" / f"{case}_0000.nii.gz", values.astype(np.float32), (1.0, 1.0, 1.0))
    labels = {"background": 0, "liver": 1, "tumour": 2, "liver and tumour": [1, 2], "ignore": 3}
    (root / "dataset.json").write_text(
        json.dumps(
            {
                "channel_names": {"0": "CT"},
                "labels": labels,
                "numTraining": 2,
                "file_ending": ".nii.gz",
            }
        )
    )
    return root


def test_an_nnunet_dataset_folder_gives_names_ignore_and_regions(nnunet: Path) -> None:
    record = _json("weights", nnunet)
    assert record["source"]["paths"] == [str(nnunet / "labelsTr")]
    assert record["source"]["glob"] == "*.nii.gz"
    assert record["names"] == ["background", "liver", "tumour"]
    assert record["ignore"] == [3]
    assert record["ignored_pixels"] == {"3": 3}
    assert record["pixel_counts"] == [36, 3, 6]
    histogram = _json("histogram", nnunet, "-f", "json")
    assert histogram["regions"] == [
        {"name": "liver and tumour", "ids": [1, 2], "pixels": 9, "share_of_labelled": 9 / 45,
         "images": 2}
    ]  # fmt: skip
    apart = _json("weights", nnunet / "labelsTr", "--glob", "*.nii.gz",
                  "--dataset-json", nnunet / "dataset.json")  # fmt: skip
    assert apart["weights"] == record["weights"] and apart["names"] == record["names"]
    nnunet_snippet = run("weights", nnunet, "-f", "nnunet")
    assert nnunet_snippet.exit_code == 1
    assert "nnU-Net trains a region-based dataset" in nnunet_snippet.stderr


def test_overlapping_regions_are_refused_for_weights(nnunet: Path) -> None:
    data = json.loads((nnunet / "dataset.json").read_text())
    data["labels"] = {"background": 0, "whole": [1, 2], "core": [2], "enhancing": [2, 1]}
    (nnunet / "dataset.json").write_text(json.dumps(data))
    result = run("weights", nnunet, "--ignore", "3")
    assert result.exit_code == 1
    assert "overlapping regions ('whole' 1-2 and 'enhancing' 1-2 share id 1)" in result.stderr
    assert run("histogram", nnunet, "--ignore", "3").exit_code == 0


def test_msd_dataset_json(nnunet: Path) -> None:
    (nnunet / "dataset.json").write_text(
        json.dumps({"labels": {"0": "background", "1": "liver", "2": "tumour"}})
    )
    record = _json("weights", nnunet, "--ignore", "3")
    assert record["names"] == ["background", "liver", "tumour"]
    assert record["pixel_counts"] == [36, 3, 6]


def test_check_compares_label_and_image_headers(nnunet: Path) -> None:
    clean = run("check", nnunet, "-f", "json")
    assert clean.exit_code == 0, clean.stdout
    assert json.loads(clean.stdout)["header_mismatches"] == []
    _save(nnunet / "imagesTr" / "liver_002_0000.nii.gz", np.zeros((4, 3, 2), np.float32),
          (1.0, 1.0, 1.5))  # fmt: skip
    (nnunet / "imagesTr" / "liver_001_0000.nii.gz").unlink()
    found = run("check", nnunet, "-f", "json")
    assert found.exit_code == 1
    record = json.loads(found.stdout)
    assert record["problems"] == ["header_mismatches"]
    assert [(Path(m["label"]).name, m["problem"]) for m in record["header_mismatches"]] == [
        ("liver_001.nii.gz", "no image for this case in imagesTr/"),
        ("liver_002.nii.gz", "spacing [1.0, 1.0, 1.0] but the image's is [1.0, 1.0, 1.5]"),
    ]


def test_report_and_sampling_on_volumes(nnunet: Path, tmp_path: Path) -> None:
    report = run("report", nnunet, "-o", tmp_path / "r.html")
    assert report.exit_code == 0, report.stderr
    assert "tumour" in (tmp_path / "r.html").read_text()  # the dataset.json's names
    sampling = run("sampling", nnunet, "--ignore", "3", "-f", "json")
    assert sampling.exit_code == 0, sampling.stderr
    assert len(json.loads(sampling.stdout)["images"]) == 2


def test_dask_counts_volumes_as_the_local_scan(cases: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the 'dask' extra")
    from mfb_cli.count.dask_local import local_cluster

    local = run("scan", cases, "--glob", "*.nii.gz", "--count", "physical",
                "--per-image", tmp_path / "local.jsonl")  # fmt: skip
    assert local.exit_code == 0, local.stderr
    with local_cluster(2) as address:  # its logs in a file of its own, never the test's
        remote = run("scan", cases, "--glob", "*.nii.gz", "--count", "physical",
                     "--per-image", tmp_path / "dask.jsonl", "--dask", address)  # fmt: skip
    assert remote.exit_code == 0, remote.stderr
    mine, theirs = json.loads(local.stdout), json.loads(remote.stdout)
    for record in (mine, theirs):
        record["source"].pop("per_image")
    assert mine == theirs
    assert (tmp_path / "dask.jsonl").read_text() == (tmp_path / "local.jsonl").read_text()
