"""``mfb split``: wiring, outputs (JSON, CSV, table, nnU-Net, list files), the output rules,
--from without masks, --dask and URLs; and the nnU-Net case identifiers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import fsspec
import pytest

from mfb_cli.errors import MfbError
from mfb_cli.show.split import case_identifier, list_files, nnunet_splits

from ..conftest import run, save_mask

SAMPLES = Path(__file__).resolve().parents[2] / "sample_masks"


@pytest.fixture
def camvid(tmp_path: Path) -> Path:
    """Twelve 2x3 masks in four CamVid-named sequences; class 2 only in sequence 0006R0."""
    folder = tmp_path / "labels"
    for sequence in ("0001TP", "0006R0", "0016E5", "Seq05VD"):
        for frame in range(3):
            rare = 2 if sequence == "0006R0" and frame < 2 else 0
            save_mask(folder / f"{sequence}_{frame:05d}.png", [[0, 1, 1], [rare, 11, 0]])
    return folder


def _json(result) -> dict:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_groups_stay_whole_and_the_record_says_how(camvid: Path):
    record = _json(run("split", camvid, "--void", "11", "--folds", "4", "--group", "^([^_]+)_"))
    assert record["split"] == "folds"
    assert record["grouping"] == {"by": "pattern", "pattern": "^([^_]+)_", "groups": 4}
    groups = sorted(tuple(p["groups"]) for p in record["parts"])
    assert groups == [("0001TP",), ("0006R0",), ("0016E5",), ("Seq05VD",)]
    for part in record["parts"]:
        assert part["num_images"] == 3
        assert {Path(i).name.split("_")[0] for i in part["images"]} == set(part["groups"])
    # Class 2 is in one group: three folds lack it, each a warning in stderr and output.
    stratified = record["effect"]["stratified"]
    assert sorted(p["missing"] for p in stratified["parts"]) == [[], [2], [2], [2]]
    assert len(record["warnings"]) == 3
    assert all("holds no image of classes 2" in w for w in record["warnings"])
    assert [p["name"] for p in record["effect"]["random"]["parts"]] == [
        "fold0",
        "fold1",
        "fold2",
        "fold3",
    ]


def test_warnings_on_stderr_are_in_the_output(camvid: Path):
    result = run("split", camvid, "--void", "11", "--folds", "4", "--group", "^([^_]+)_")
    record = _json(result)
    shown = [line.removeprefix("warning: ") for line in result.stderr.splitlines()]
    assert shown == record["warnings"]


def test_a_pattern_missing_two_camvid_sequences_is_an_error(camvid: Path, tmp_path: Path):
    out = tmp_path / "s.json"
    result = run("split", camvid, "--group", r"^(\d+TP|Seq\d+)_", "-o", out)
    assert result.exit_code == 1
    assert "0006R0_00000.png: --group ^(\\d+TP|Seq\\d+)_ does not match its file name" in (
        result.stderr
    )
    assert not out.exists()


def test_usage_errors_exit_2(camvid: Path, tmp_path: Path):
    cases = [
        (["--folds", "3", "--ratios", "0.5,0.5"], "give --folds K or --ratios, not both"),
        (["--ratios", "1"], "at least two shares"),
        (["--ratios", "0.5,x"], "'x' is not a number"),
        (["--group", "^x"], "needs a capture group"),
        (["--group", "("], "not a regular expression"),
        (["--out-root", "x"], "--out-root has no effect without --out-dir"),
        (["--folds", "1"], "1 is not in the range"),
    ]
    for args, message in cases:
        result = run("split", camvid, *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    groups = tmp_path / "g.csv"
    groups.write_text("image,group\n")
    both = run("split", camvid, "--group", "^(.)", "--groups", groups)
    assert both.exit_code == 2
    assert "--groups has no effect with --group" in both.stderr


def test_groups_file_by_file_name(camvid: Path, tmp_path: Path):
    table = tmp_path / "groups.csv"
    rows = ["image,group"] + [
        f"{p.name},{'a' if p.name < '0016' else 'b'}" for p in sorted(camvid.glob("*.png"))
    ]
    table.write_text("\n".join([*rows, "other.png,c"]) + "\n")
    result = run("split", camvid, "--groups", table, "--ratios", "1,1")
    record = _json(result)
    assert record["grouping"] == {"by": "table", "table": str(table), "groups": 2}
    assert sorted(len(p["images"]) for p in record["parts"]) == [6, 6]
    assert record["warnings"][0] == (
        f"1 row of {table} names no image of this split (first: other.png)"
    )
    # Class 2 is in group a only: the other part lacks it.
    assert record["warnings"][1].endswith(
        "holds no image of classes 2 (2: 2 images in 1 group): no group holding them "
        "could move there without its own part losing a class"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("a.png,g1\nb.png\n")
    failed = run("split", camvid, "--groups", bad)
    assert failed.exit_code == 1
    assert f"{bad}:2: expected 'image,group'" in failed.stderr


def test_csv_table_and_seed(camvid: Path):
    first = run("split", camvid, "-f", "csv", "--seed", "5")
    assert first.exit_code == 0, first.stderr
    rows = list(csv.reader(io.StringIO(first.stdout)))
    assert rows[0] == ["image", "part"]
    assert len(rows) == 13
    assert {r[1] for r in rows[1:]} == {"train", "val", "test"}
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])
    assert run("split", camvid, "-f", "csv", "--seed", "5").stdout == first.stdout
    table = run("split", camvid, "--void", "11", "-f", "table")
    assert table.exit_code == 0, table.stderr
    assert "Jensen-Shannon divergence" in table.stdout
    assert "random" in table.stdout


def test_from_a_per_image_file_reads_no_mask_and_matches_a_scan(camvid: Path, tmp_path: Path):
    images = tmp_path / "images.jsonl"
    scan = run("scan", camvid, "-o", tmp_path / "stats.json", "--per-image", images)
    assert scan.exit_code == 0, scan.stderr
    for mask in camvid.glob("*.png"):
        mask.unlink()  # nothing left to read
    from_file = _json(run("split", "--from", images, "--void", "11", "--folds", "3"))
    assert from_file["source"]["per_image"] == [str(images)]
    assert sum(p["num_images"] for p in from_file["parts"]) == 12
    reading = run("split", "--from", images, "--glob", "*.png")
    assert reading.exit_code == 2
    assert "--glob has no effect with --from" in reading.stderr


def test_the_same_output_from_shards_in_another_order(camvid: Path, tmp_path: Path):
    paths = sorted(camvid.glob("*.png"))
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert run("scan", *paths[:5], "-o", tmp_path / "a.json", "--per-image", a).exit_code == 0
    assert run("scan", *paths[5:], "-o", tmp_path / "b.json", "--per-image", b).exit_code == 0
    first = run("split", "--from", a, "--from", b, "--folds", "3", "-f", "csv")
    second = run("split", "--from", b, "--from", a, "--folds", "3", "-f", "csv")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == second.stdout


def test_list_files_read_back_with_list_root_and_suffix(camvid: Path, tmp_path: Path):
    out = tmp_path / "splits"
    result = run(
        "split", camvid, "--void", "11", "--out-dir", out, "--out-root", camvid,
        "--out-suffix", ".png", "-o", tmp_path / "split.json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    record = json.loads((tmp_path / "split.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == ["test.txt", "train.txt", "val.txt"]
    for part in record["parts"]:
        lines = (out / f"{part['name']}.txt").read_text().splitlines()
        assert lines == sorted(Path(i).stem for i in part["images"])
        # mmsegmentation 1.x (BaseSegDataset.load_data_list): ann_dir / (line + suffix).
        assert all((camvid / (line.strip() + ".png")).is_file() for line in lines)
        back = run("histogram", "--list", out / f"{part['name']}.txt", "--root", camvid,
                   "--suffix", ".png", "-f", "json")  # fmt: skip
        assert back.exit_code == 0, back.stderr
        assert json.loads(back.stdout)["images"] == part["num_images"]
    folds = run("split", camvid, "--folds", "3", "--out-dir", out / "k", "-q")
    assert folds.exit_code == 0, folds.stderr
    for fold in range(3):
        train = (out / "k" / f"fold{fold}" / "train.txt").read_text().splitlines()
        val = (out / "k" / f"fold{fold}" / "val.txt").read_text().splitlines()
        assert sorted(train + val) == sorted(str(p) for p in camvid.glob("*.png"))


def test_outputs_that_collide_or_are_inputs_are_refused_before_reading(
    camvid: Path, tmp_path: Path
):
    out = tmp_path / "splits"
    out.mkdir()
    clash = run("split", camvid, "--out-dir", out, "-o", out / "val.txt")
    assert clash.exit_code == 2
    assert f"'{out / 'val.txt'}' (--out-dir) is also -o" in clash.stderr or (
        f"'{out / 'val.txt'}' is also --out-dir" in clash.stderr
    )
    assert not list(out.iterdir())
    # A --list input inside --out-dir would be replaced: refused before it is read.
    listed = out / "train.txt"
    listed.write_text("\n".join(str(p) for p in sorted(camvid.glob("*.png"))) + "\n")
    before = listed.read_text()
    result = run("split", "--list", listed, "--out-dir", out)
    assert result.exit_code == 2
    assert "is one of the inputs" in result.stderr
    assert listed.read_text() == before
    # So would the groups table.
    table = out / "val.txt"
    table.write_text("x.png,a\n")
    result = run("split", camvid, "--groups", table, "--out-dir", out)
    assert result.exit_code == 2
    assert "is one of the inputs" in result.stderr
    assert table.read_text() == "x.png,a\n"
    notdir = tmp_path / "file"
    notdir.write_text("")
    result = run("split", camvid, "--out-dir", notdir)
    assert result.exit_code == 2


def test_a_link_in_out_dir_is_followed_and_kept(camvid: Path, tmp_path: Path):
    out = tmp_path / "splits"
    out.mkdir()
    target = tmp_path / "real-val.txt"
    target.write_text("old\n")
    (out / "val.txt").symlink_to(target)
    result = run("split", camvid, "--out-dir", out, "-q", "-o", tmp_path / "s.json")
    assert result.exit_code == 0, result.stderr
    assert (out / "val.txt").is_symlink()
    assert target.read_text() != "old\n"


def test_nnunet_splits_from_per_image_counts_of_volumes(tmp_path: Path):
    # Per-image counts as a scan of nnU-Net's labelsTr volumes records them (one line per
    # case, voxels as pixels): the split needs nothing else.
    lines = ['{"mfb_per_image":1,"label_mapping":{}}']
    for case in range(6):
        ids, voxels = ([0, 1 + case % 2], [9000, 40 + case]) if case % 3 else ([0], [9040])
        lines.append(
            json.dumps(
                {"image": f"Dataset001_T/labelsTr/case_{case:04d}.nii.gz", "ids": ids,
                 "pixels": voxels}
            )
        )  # fmt: skip
    images = tmp_path / "images.jsonl"
    images.write_text("\n".join(lines) + "\n")
    result = run("split", "--from", images, "--folds", "3", "-f", "nnunet")
    assert result.exit_code == 0, result.stderr
    splits = json.loads(result.stdout)
    assert len(splits) == 3
    every = {f"case_{c:04d}" for c in range(6)}
    for entry in splits:
        assert sorted(entry) == ["train", "val"]
        assert set(entry["train"]) | set(entry["val"]) == every
        assert not set(entry["train"]) & set(entry["val"])
        assert entry["train"] == sorted(entry["train"])
    assert sorted(c for entry in splits for c in entry["val"]) == sorted(every)
    # Classes 1 and 2 are each in two cases: in two different folds.
    record = _json(run("split", "--from", images, "--folds", "2"))
    for part in record["effect"]["stratified"]["parts"]:
        assert part["missing"] == []


def test_case_identifiers_as_nnunet_v2_names_them():
    # nnU-Net v2.8.1 (utilities/utils.py): labelsTr/CASE{file_ending}; imagesTr/CASE_XXXX{..}.
    assert case_identifier("Dataset1/labelsTr/la_003.nii.gz") == "la_003"
    assert case_identifier("Dataset1/imagesTr/la_003_0000.nii.gz") == "la_003"
    assert case_identifier("Dataset1/imagesTs/la_003_0001.png") == "la_003"
    # A label's own _NNNN is part of its name (patient_0001 is a case, not a channel).
    assert case_identifier("labelsTr/patient_0001.nii.gz") == "patient_0001"
    assert case_identifier("labelsTr/x.tif") == "x"
    assert case_identifier("a.zip:imagesTr/b_0000.png") == "b"
    assert case_identifier("plain") == "plain"


def _record(parts: dict[str, list[str]], folds: bool) -> dict:
    return {
        "split": "folds" if folds else "ratios",
        "parts": [{"name": name, "images": images} for name, images in parts.items()],
    }


def test_nnunet_splits_folds_ratios_and_a_case_in_two_parts():
    folds = _record({"fold0": ["L/b.nii.gz"], "fold1": ["L/a.nii.gz", "L/c.nii.gz"]}, True)
    assert json.loads(nnunet_splits(folds)) == [
        {"train": ["a", "c"], "val": ["b"]},
        {"train": ["b"], "val": ["a", "c"]},
    ]
    ratios = _record({"train": ["L/a.png"], "val": ["L/b.png"], "test": ["L/c.png"]}, False)
    assert json.loads(nnunet_splits(ratios)) == [{"train": ["a"], "val": ["b"]}]
    split_case = _record({"fold0": ["imagesTr/a_0000.png"], "fold1": ["imagesTr/a_0001.png"]}, True)
    with pytest.raises(MfbError, match="case a has files in parts fold0 and fold1"):
        nnunet_splits(split_case)
    named = _record(
        {"part1": ["a.png"], "part2": ["b.png"], "part3": ["c.png"], "part4": []}, False
    )
    with pytest.raises(MfbError, match="need parts named train and val"):
        nnunet_splits(named)


def test_list_entries_root_and_suffix():
    record = _record({"train": ["d/x/b.png", "d/x/a.png"], "val": ["d/x/c.png"]}, False)
    assert list_files(record, "d/x", ".png") == {"train.txt": "a\nb\n", "val.txt": "c\n"}
    assert list_files(record) == {"train.txt": "d/x/a.png\nd/x/b.png\n", "val.txt": "d/x/c.png\n"}
    with pytest.raises(MfbError, match="does not lie in"):
        list_files(record, "e")
    with pytest.raises(MfbError, match="does not end in"):
        list_files(record, None, ".jpg")
    with pytest.raises(MfbError, match="line break"):
        list_files(_record({"train": ["a\nb.png"], "val": ["c.png"]}, False))


def test_urls_are_split_like_files(camvid: Path):
    fs = fsspec.filesystem("memory")
    for path in camvid.glob("*.png"):
        fs.pipe_file(f"/mfbsplit/labels/{path.name}", path.read_bytes())
    try:
        by_url = _json(run("split", "memory://mfbsplit/labels", "--group", "^([^_]+)_"))
        local = _json(run("split", camvid, "--group", "^([^_]+)_"))
        assert [p["groups"] for p in by_url["parts"]] == [p["groups"] for p in local["parts"]]
        assert by_url["effect"] == local["effect"] | {
            "stratified": by_url["effect"]["stratified"],
            "random": by_url["effect"]["random"],
        }
        assert by_url["effect"]["stratified"]["parts"] == local["effect"]["stratified"]["parts"]
    finally:
        fs.rm("/mfbsplit", recursive=True)


def test_dask_gives_the_same_bytes(camvid: Path):
    pytest.importorskip("distributed")
    local = run("split", camvid, "--void", "11", "--folds", "2")
    remote = run("split", camvid, "--void", "11", "--folds", "2", "--dask", "local:1")
    assert local.exit_code == 0, local.stderr
    assert remote.exit_code == 0, remote.stderr
    assert remote.stdout == local.stdout


def test_sample_masks_split_and_help():
    result = run("split", SAMPLES, "--void", "11", "-f", "table")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ratios split of 20 images, seed 0")
    helped = run("split", "--help")
    assert "iterative stratification" in helped.stdout
    assert "--out-dir" in helped.stdout


def test_the_same_split_whatever_the_folder_is_called(
    camvid: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The split depends on the images' names below the folder they all share, so a relative,
    # absolute or linked spelling of the folder, or a copy at a URL, gives the same parts.
    (tmp_path / "link").symlink_to(camvid)
    fs = fsspec.filesystem("memory")
    for path in camvid.glob("*.png"):
        fs.pipe_file(f"/mfbspelling/deep/labels/{path.name}", path.read_bytes())
    monkeypatch.chdir(tmp_path)
    spellings = [camvid, "labels", "./labels/", "link", "memory://mfbspelling/deep/labels"]
    try:
        for options in (["--folds", "3"], ["--ratios", "2,1,1", "--seed", "5"]):
            seen = []
            for spelling in spellings:
                result = run("split", spelling, "--void", "11", *options, "-f", "csv")
                assert result.exit_code == 0, result.stderr
                rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
                seen.append(sorted((Path(image).name, part) for image, part in rows))
            assert all(found == seen[0] for found in seen), options
    finally:
        fs.rm("/mfbspelling", recursive=True)


def test_a_pattern_with_a_slash_is_searched_below_the_shared_folder(tmp_path: Path):
    for patient in (1, 2, 3, 4):
        for frame in (0, 1):
            save_mask(tmp_path / "data" / f"patient{patient}" / f"{frame}.png", [[0, patient]])
    for spelling in (tmp_path / "data", tmp_path / "data" / "." / ""):
        record = _json(run("split", spelling, "--folds", "2", "--group", r"^(patient\d)/"))
        assert sorted(g for p in record["parts"] for g in p["groups"]) == [
            "patient1",
            "patient2",
            "patient3",
            "patient4",
        ]
    # One patient's folder: its images share patient1/ itself, so the pattern finds nothing.
    result = run("split", tmp_path / "data" / "patient1", "--folds", "2", "--group", "^(p.*)/")
    assert result.exit_code == 1
    assert "0.png: --group ^(p.*)/ does not match its name below the folder all images " in (
        result.stderr
    )


@pytest.fixture
def odd_names(tmp_path: Path) -> Path:
    """Four masks, one named by Latin-1 bytes (not UTF-8: Python names it with a surrogate)."""
    import os

    folder = tmp_path / "odd"
    save_mask(folder / os.fsdecode(b"caf\xe9.png"), [[0, 1]])
    for name in ("b.png", "c.png", "d.png"):
        save_mask(folder / name, [[0, 1]])
    return folder


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("split", ["--folds", "2", "-f", "csv"]),
        ("sampling", ["-f", "csv"]),
    ],
)
def test_a_name_that_is_not_utf8_is_escaped_alike_on_stdout_and_in_a_file(
    odd_names: Path, tmp_path: Path, command: str, options: list[str]
):
    # The test runner's stdout is strict UTF-8, as under an en_US.UTF-8 locale. CSV is
    # text: the byte reads \xe9 there (JSON holds the exact name, as \udce9).
    shown = run(command, odd_names, *options)
    assert shown.exit_code == 0, shown.stderr
    assert "caf\\xe9.png" in shown.stdout
    out = tmp_path / "out.txt"
    written = run(command, odd_names, *options, "-o", out)
    assert written.exit_code == 0, written.stderr
    assert out.read_bytes() == shown.stdout_bytes


def test_list_files_refuse_a_name_that_is_not_utf8_before_writing(odd_names: Path, tmp_path: Path):
    folder = tmp_path / "lists"
    (folder / "fold0").mkdir(parents=True)
    (folder / "fold0" / "val.txt").write_text("mine\n")
    out = tmp_path / "s.json"
    result = run("split", odd_names, "--folds", "2", "--out-dir", folder, "-o", out)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {odd_names}/caf\\xe9.png: a file name that is not UTF-8 cannot go into a list "
        "file (mmseg and mfb read list files as UTF-8); rename it\n"
    )
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "fold0",
        "fold0/val.txt",
    ]
    assert (folder / "fold0" / "val.txt").read_text() == "mine\n"
    assert not out.exists()


def test_a_failed_output_leaves_every_list_file_as_it_was(camvid: Path, tmp_path: Path):
    # -o /dev/full fails after the list files are ready: none of them replaces the old one,
    # no temporary file stays behind, and the folders made for them are removed again.
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "fold0").mkdir()
    (folder / "fold0" / "train.txt").write_text("mine\n")
    result = run("split", camvid, "--folds", "3", "--out-dir", folder, "-o", "/dev/full")
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "fold0",
        "fold0/train.txt",
    ]
    assert (folder / "fold0" / "train.txt").read_text() == "mine\n"
    # The same run with a writable output replaces them all.
    out = tmp_path / "s.json"
    assert run("split", camvid, "--folds", "3", "--out-dir", folder, "-o", out).exit_code == 0
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.txt")) == [
        f"fold{i}/{kind}.txt" for i in range(3) for kind in ("train", "val")
    ]
    assert (folder / "fold0" / "train.txt").read_text() != "mine\n"
    assert json.loads(out.read_text())["num_images"] == 12


@pytest.mark.parametrize("folds", [5, 10, 20])
def test_the_table_stays_within_100_columns_however_many_parts(folds: int):
    result = run("split", SAMPLES, "--void", "11", "--folds", folds, "-f", "table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 100, max(lines, key=len)
    record = _json(run("split", SAMPLES, "--void", "11", "--folds", folds))
    # Every share of every part is shown: per class, 1 + folds image shares and as many
    # pixel shares, whatever the layout.
    for row in record["effect"]["stratified"]["classes"]:
        shown = [line for line in lines if line.split()[:1] == [str(row["class"])]]
        cells = [cell for line in shown for cell in line.split()[1:]]
        images = [
            f"{v:.1%}"
            for v in [row["image_share"]] + [p["image_share"] for p in row["parts"].values()]
        ]
        pixels = [
            f"{v:.2%}"
            for v in [row["pixel_share"]] + [p["pixel_share"] for p in row["parts"].values()]
        ]
        for value in images + pixels:
            assert value in cells
    js = record["effect"]["stratified"]["parts"]
    text = " ".join(lines)
    for part in js:
        assert f"{part['name']} {part['js_divergence']:.6f}" in text


def test_out_root_however_it_is_spelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # --root reads './d/x/' and the absolute folder alike; --out-root takes them off alike.
    monkeypatch.chdir(tmp_path)
    record = _record({"train": ["d/x/b.png", "d/x/a.png"], "val": ["d/x/c.png"]}, False)
    expected = {"train.txt": "a\nb\n", "val.txt": "c\n"}
    for root in ("d/x", "d/x/", "./d/x/", "d/./x", "d/y/../x", str(tmp_path / "d" / "x")):
        assert list_files(record, root, ".png") == expected, root
    for outside in ("d/x/a", "d", "/elsewhere/d/x"):
        if outside == "d":
            assert list_files(record, outside)["val.txt"] == "x/c.png\n"
            continue
        with pytest.raises(MfbError, match="does not lie in"):
            list_files(record, outside)
    urls = _record({"train": ["s3://b/d/a.png"], "val": ["s3://b/d/c.png"]}, False)
    assert (
        list_files(urls, "s3://b/d/")
        == list_files(urls, "s3://b/d")
        == {
            "train.txt": "a.png\n",
            "val.txt": "c.png\n",
        }
    )


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_the_record_s_numbers_recomputed_from_the_per_image_file(tmp_path: Path, seed: int):
    # End to end: the per-image file read with json alone, the parts from the record, and
    # every share and divergence worked out again as exact fractions.
    import math
    from fractions import Fraction

    images = tmp_path / "i.jsonl"
    assert run("scan", SAMPLES, "-o", tmp_path / "s.json", "--per-image", images).exit_code == 0
    counts = {}
    for line in images.read_text().splitlines()[1:]:
        one = json.loads(line)
        counts[one["image"]] = {
            i: n for i, n in zip(one["ids"], one["pixels"], strict=True) if i != 11
        }
    record = _json(
        run("split", "--from", images, "--void", "11", "--seed", seed, "--ratios", "3,1,1")
    )
    classes = sorted({c for held in counts.values() for c in held})
    stratified = record["effect"]["stratified"]
    assert [row["class"] for row in stratified["classes"]] == classes

    def shares(chosen):
        labelled = sum(n for name in chosen for n in counts[name].values())
        return (
            [Fraction(sum(c in counts[n] for n in chosen), len(chosen)) for c in classes],
            [Fraction(sum(counts[n].get(c, 0) for n in chosen), labelled) for c in classes],
        )

    def js(p, q):
        return sum(
            x / 2 * math.log2(x / ((x + y) / 2))
            for a, b in ((p, q), (q, p))
            for x, y in zip(a, b, strict=True)
            if x
        )

    whole_images, whole_pixels = shares(list(counts))
    for part, summary in zip(record["parts"], stratified["parts"], strict=True):
        image_share, pixel_share = shares(part["images"])
        for k, row in enumerate(stratified["classes"]):
            assert row["parts"][part["name"]]["image_share"] == float(image_share[k])
            assert row["parts"][part["name"]]["pixel_share"] == float(pixel_share[k])
            assert row["image_share"] == float(whole_images[k])
        expected = js([float(x) for x in pixel_share], [float(x) for x in whole_pixels])
        assert summary["js_divergence"] == pytest.approx(expected, abs=1e-12)
        gap = max(abs(a - b) for a, b in zip(image_share, whole_images, strict=True))
        assert summary["max_image_share_gap"] == pytest.approx(float(gap), abs=1e-15)
        assert summary["missing"] == [c for c, a in zip(classes, image_share, strict=True) if not a]
    assert stratified["worst_js_divergence"] == max(p["js_divergence"] for p in stratified["parts"])
