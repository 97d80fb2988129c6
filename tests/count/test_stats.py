"""Statistics files: exact round trip, every invalid file refused, merge == one scan."""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mfb_cli import __version__
from mfb_cli.count.scan import count_masks
from mfb_cli.count.stats import files_digest, load_stats, stats_from_record
from mfb_cli.read.options import ReadOptions
from mfb_cli.read.sources.find import find_label_files

from ..conftest import run, save_mask

A = [[0, 0], [0, 1]]
B = [[1, 2], [2, 2]]


def scan_to(folder: Path, out: Path, *extra: object) -> dict:
    result = run("scan", folder, "-q", "-o", out, *extra)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    return json.loads(out.read_text())


def test_worked_example_stats_file(mask_dir, tmp_path):
    folder = mask_dir([A, B])
    record = scan_to(folder, tmp_path / "stats.json")
    assert record["format"] == "mfb-stats"
    assert record["format_version"] == 1
    assert record["mfb_version"] == __version__
    assert record["label_mapping"] == {}
    assert record["num_images"] == 2
    assert record["total_pixels"] == 8
    assert record["files"] == 2
    assert record["ids"] == [0, 1, 2]
    assert record["pixels"] == [3, 2, 3]
    assert record["images"] == [1, 2, 1]
    # cooc[c][d]: pixels of d over the images containing c, A = {0: 3, 1: 1}, B = {1: 1, 2: 3}.
    assert record["cooc"] == [
        [0, 0, 3],
        [0, 1, 1],
        [1, 0, 3],
        [1, 1, 2],
        [1, 2, 3],
        [2, 1, 1],
        [2, 2, 3],
    ]
    assert record["source"] == {
        "paths": [str(folder)],
        "glob": "*.png",
        "files": 2,
        "skip_bad": False,
        "skipped_files": [],
    }
    hashes = [
        int.from_bytes(hashlib.sha256(f"{folder.as_posix()}/{n}".encode()).digest(), "big")
        for n in ("0000.png", "0001.png")
    ]
    assert record["files_digest"] == f"sha256-sum:{sum(hashes) % 2**256:064x}"


def test_scan_to_stdout_is_the_same_bytes(mask_dir, tmp_path):
    folder = mask_dir([A, B])
    scan_to(folder, tmp_path / "s.json")
    assert run("scan", folder).stdout == (tmp_path / "s.json").read_text()


def test_round_trip_keeps_the_counts_exactly(mask_dir, tmp_path):
    big = np.full((3, 3), 40000)
    big[0, 0] = 7
    folder = mask_dir([A, B, big], mode="I;16")
    scan_to(folder, tmp_path / "s.json")
    loaded = load_stats(tmp_path / "s.json")
    assert loaded.counts == count_masks(find_label_files([folder]))
    assert loaded.files == 3


def test_digest_ignores_order_and_adds_up():
    a, b, c = Path("x/a.png"), Path("x/b.png"), Path("y/c.png")
    assert files_digest([a, b, c]) == files_digest([c, a, b])
    assert files_digest([a, b]) != files_digest([a, c])
    whole = int(files_digest([a, b, c]).split(":")[1], 16)
    parts = int(files_digest([a]).split(":")[1], 16) + int(files_digest([b, c]).split(":")[1], 16)
    assert whole == parts % 2**256


def _valid() -> dict:
    return {
        "format": "mfb-stats",
        "format_version": 1,
        "mfb_version": "0.1.0",
        "label_mapping": {},
        "num_images": 2,
        "total_pixels": 8,
        "files": 2,
        "files_digest": "sha256-sum:" + "0" * 64,
        "ids": [0, 1, 2],
        "pixels": [3, 2, 3],
        "images": [1, 2, 1],
        "cooc": [[0, 0, 3], [0, 1, 1], [1, 0, 3], [1, 1, 2], [1, 2, 3], [2, 1, 1], [2, 2, 3]],
        "source": {"paths": ["m"], "glob": "*.png", "files": 2},
    }


def _edit(**changes: object):
    def make() -> dict:
        record = copy.deepcopy(_valid())
        for key, value in changes.items():
            if value is KeyError:
                del record[key]
            else:
                record[key] = value
        return record

    return make


def _cooc(rows: list[list[int]]):
    return _edit(cooc=rows)


#: The table of _valid() as the parallel lists a larger scan writes.
PAIRS = {"c": [0, 0, 1, 1, 1, 2, 2], "d": [0, 1, 0, 1, 2, 1, 2], "n": [3, 1, 3, 2, 3, 1, 3]}


def _pairs(**lists: object):
    return _edit(format_version=2, cooc={**PAIRS, **lists})


def _matrix(matrix: list[list[int]]):
    return _edit(format_version=2, cooc={"matrix": matrix})


BAD_RECORDS = [
    (_edit(format="mfb-weights"), "not an mfb statistics file"),
    (_edit(format_version=3), "format version 3 is newer than this mfb reads (2); upgrade"),
    (_edit(format_version="1"), "invalid format_version '1'"),
    (_edit(format_version=True), "invalid format_version True"),
    (_edit(pixels=[3, -2, 3]), "negative count in 'pixels'"),
    (_edit(images=[1, -2, 1]), "negative count in 'images'"),
    (_edit(num_images=-1), "negative count in 'num_images'"),
    (_edit(files=KeyError), "'files' must be an integer, not None"),
    (_edit(pixels=[3, 2, 3, 1]), "'pixels' has 4 entries for 3 ids"),
    (_edit(ids=[0, 2, 1]), "'ids' must be sorted and distinct"),
    (
        _edit(ids=list(range(5000)), pixels=[1] * 5000, images=[1] * 5000),
        "5000 label ids, more than a scan keeps (4096 distinct label values)",
    ),
    (_edit(ids=[0, 1, 1]), "'ids' must be sorted and distinct"),
    (_edit(ids=[0, 1, 2.0]), "'ids' must be a list of integers"),
    (_edit(images=[1, 3, 1]), "id 1: 3 images for 2 pixels and 2 images is impossible"),
    (_edit(images=[1, 0, 1]), "id 1: 0 images"),
    (_edit(total_pixels=9), "'total_pixels' 9 is not the sum of 'pixels' 8"),
    (_edit(files_digest="abc"), "'files_digest' is not a sha256-sum: digest"),
    (_edit(label_mapping=[]), "'label_mapping' must be an object"),
    (_edit(source=KeyError), "'source' must be an object"),
    (_edit(cooc={"0": 3}), "'cooc' must be a list of [c, d, n] rows"),
    (_cooc([[0, 0]]), "'cooc' row [0, 0] is not [c, d, n] integers"),
    (_cooc([[0, 0, 3], [7, 0, 1]]), "'cooc' row [7, 0, 1] names an id not in 'ids'"),
    (_cooc([[0, 0, 3], [0, 1, -1]]), "negative count in 'cooc' row [0, 1, -1]"),
    (_cooc([[0, 0, 3], [0, 0, 3]]), "'cooc' has two rows for (0, 0)"),
    (_cooc([[0, 0, 3], [0, 1, 5]]), "'cooc' row [0, 1, 5] exceeds the 2 pixels of 1"),
    (
        _cooc([[0, 0, 3], [0, 1, 1], [1, 0, 3], [1, 1, 1], [1, 2, 3], [2, 1, 1], [2, 2, 3]]),
        "'cooc' [1, 1] is 1, not the 2 pixels of id 1",
    ),
    (
        _cooc([[0, 0, 3], [0, 1, 1], [1, 0, 3], [1, 1, 2], [1, 2, 3], [2, 2, 3]]),
        "'cooc' is not symmetric in which ids occur together",
    ),
    # The same table as parallel lists: c, d (labels) and n, in file order from 0.
    (_pairs(d=[0, 1, 0, 1, 2, 1]), "'cooc' has 7 'c', 6 'd' and 7 'n': one each per entry"),
    (_pairs(c=[0, 0, 1, 1, 1, 2, 7]), "'cooc' entry 6 [7, 2, 3] names an id not in 'ids'"),
    (_pairs(d=[0, 1, 0, 1, 2, 1, -1]), "'cooc' entry 6 [2, -1, 3] names an id not in 'ids'"),
    (_pairs(c=[0, 0, 1, 1, 1, 2, 2**70]), f"'cooc' entry 6 [{2**70}, 2, 3] names an id not in"),
    (_pairs(n=[3, -1, 3, 2, 3, 1, 3]), "negative count in 'cooc' entry 1 [0, 1, -1]"),
    (_pairs(d=[0, 1, 0, 1, 1, 1, 2]), "'cooc' has two entries for (1, 1)"),
    (_pairs(c=[0, 0, 1, 1, 1, 1, 2], d=[0, 1, 0, 1, 2, 1, 2]), "'cooc' has two entries for (1, 1)"),
    (_pairs(n=[3, 5, 3, 2, 3, 1, 3]), "'cooc' entry 1 [0, 1, 5] exceeds the 2 pixels of 1"),
    (_pairs(n=[3, 1, 3, 2, 3, 1, 2**64]), f"'cooc' entry 6 [2, 2, {2**64}] exceeds the 3 pixels"),
    (_pairs(n=[3, 1, 3, 2, 3, 1, 3.0]), "'cooc' 'n' must be a list of integers"),
    (_pairs(c=[0, 0, 1, 1, 1, 2, True]), "'cooc' 'c' must be a list of integers"),
    (_pairs(d="0"), "'cooc' 'd' must be a list of integers"),
    (_edit(cooc={"c": [], "d": []}), '\'cooc\' must be a list of [c, d, n] rows, {"c", "d"'),
    (_pairs(n=[3, 1, 3, 1, 3, 1, 3]), "'cooc' [1, 1] is 1, not the 2 pixels of id 1"),
    (_matrix([[3, 1, 0], [3, 2, 3]]), "'cooc' matrix must be 3 lists of 3 integers"),
    (_matrix([[3, 1, 0], [3, 2, 3], [0, 1]]), "'cooc' matrix must be 3 lists of 3 integers"),
    (_matrix([[3, 1, 0], [3, 2, 3], [0, 1, None]]), "'cooc' matrix must be 3 lists of 3 integers"),
    (_matrix([[3, 1, 0], [3, 2, 3], [0, False, 3]]), "'cooc' matrix must be 3 lists of 3 integer"),
    (_matrix([[3, 1, 0], [3, 2, 3], [0, 1, 3], []]), "'cooc' matrix must be 3 lists of 3 integer"),
    (_matrix([[3, 1, 0], [3, 2, -3], [0, 1, 3]]), "negative count in 'cooc' matrix at [1, 2]"),
    (_matrix([[3, 1, 0], [3, 2, 4], [0, 1, 3]]), "'cooc' matrix at [1, 2] is 4, more than the 3 "),
    (_matrix([[3, 1, 0], [3, 2, 3], [0, 1, 2]]), "'cooc' [2, 2] is 2, not the 3 pixels of id 2"),
    (_matrix([[3, 1, 0], [3, 2, 0], [0, 1, 3]]), "'cooc' is not symmetric in which ids occur"),
    (_edit(cooc={"matrix": [], "c": []}), "'cooc' must be a list of [c, d, n] rows, {\"c\""),
]


def test_the_valid_record_used_below_loads():
    counts = stats_from_record(_valid()).counts
    assert counts.cooc.tolist() == [[3, 1, 0], [3, 2, 3], [0, 1, 3]]
    # The same table as parallel lists (in any order) and as a matrix.
    assert stats_from_record(_pairs()()).counts == counts
    shuffled = {key: values[::-1] for key, values in PAIRS.items()}
    assert stats_from_record(_pairs(**shuffled)()).counts == counts
    assert stats_from_record(_matrix([[3, 1, 0], [3, 2, 3], [0, 1, 3]])()).counts == counts


@pytest.mark.parametrize(("make", "message"), BAD_RECORDS)
def test_invalid_stats_file_is_refused_in_one_line(tmp_path, make, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(make()))
    for command in ("weights", "histogram", "merge"):
        args = [command, path] if command == "merge" else [command, "--from", path]
        result = run(*args)
        assert result.exit_code == 1, (command, result.stdout)
        assert result.stderr.startswith(f"Error: {path}:"), result.stderr
        assert message in result.stderr
        assert result.stderr.count("\n") == 1
        assert result.stdout == ""


def test_too_many_ids_in_a_statistics_file_names_its_line(tmp_path):
    record = _edit(ids=list(range(5000)), pixels=[1] * 5000, images=[1] * 5000)()
    path = tmp_path / "wide.json"
    text = json.dumps(record, indent=2)  # one id per line: "ids" opens on its own line
    path.write_text(text)
    line = text.splitlines().index('  "ids": [') + 1
    for args in (["weights", "--from", path], ["report", "--from", path], ["merge", path]):
        result = run(*args)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: {path}:{line}: 5000 label ids, more than a scan keeps (4096 distinct label "
            "values)\n"
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON (Expecting property name enclosed in double quotes, line 1)"),
        ("", "not valid JSON"),
        ("[1, 2]", "not an mfb statistics file (write one with: mfb scan PATH... -o FILE)"),
        (b"\xff\xfe", "the statistics file is not UTF-8 text (byte 0)"),
    ],
)
def test_unreadable_stats_files(tmp_path, text, message):
    path = tmp_path / "bad.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    result = run("weights", "--from", path)
    assert result.exit_code == 1
    assert f"Error: {path}: {message}" in result.stderr


def test_a_weights_file_is_not_a_stats_file(mask_dir, tmp_path):
    out = tmp_path / "w.json"
    assert run("weights", mask_dir([A, B]), "-o", out).exit_code == 0
    result = run("histogram", "--from", out)
    assert result.exit_code == 1
    assert "w.json: not an mfb statistics file" in result.stderr


def test_missing_stats_file(tmp_path):
    result = run("weights", "--from", tmp_path / "nope.json")
    assert result.exit_code == 1
    assert "nope.json: no such statistics file" in result.stderr


# --- merge -------------------------------------------------------------------------------


def test_merge_of_train_and_val_equals_one_scan(tmp_path):
    train = [save_mask(tmp_path / "train" / f"{i}.png", a) for i, a in enumerate([A, B])]
    val = [save_mask(tmp_path / "val" / "0.png", [[2, 2, 255]])]
    scan_to(tmp_path / "train", tmp_path / "train.json")
    scan_to(tmp_path / "val", tmp_path / "val.json")
    result = run(
        "merge", tmp_path / "train.json", tmp_path / "val.json", "-o", tmp_path / "all.json"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote {tmp_path / 'all.json'} (statistics of 2 shards)\n"
    merged = json.loads((tmp_path / "all.json").read_text())
    assert merged["ids"] == [0, 1, 2, 255]
    assert merged["pixels"] == [3, 2, 5, 1]
    assert merged["images"] == [1, 2, 2, 1]
    assert merged["num_images"] == 3
    assert merged["total_pixels"] == 11
    assert merged["files"] == 3
    assert merged["files_digest"] == files_digest([*train, *val])
    assert merged["source"] == {
        "paths": [str(tmp_path / "train"), str(tmp_path / "val")],
        "glob": "*.png",
        "files": 3,
        "skip_bad": False,
        "skipped_files": [],
    }
    one_scan = run("scan", tmp_path / "train", tmp_path / "val")
    assert one_scan.stdout == (tmp_path / "all.json").read_text()


def test_merge_keeps_differing_source_values_as_lists(tmp_path):
    save_mask(tmp_path / "a" / "x.png", A)
    save_mask(tmp_path / "b" / "x.tif", B)
    scan_to(tmp_path / "a", tmp_path / "a.json")
    scan_to(tmp_path / "b", tmp_path / "b.json", "--glob", "*.tif")
    merged = json.loads(run("merge", tmp_path / "a.json", tmp_path / "b.json").stdout)
    assert merged["source"]["glob"] == ["*.png", "*.tif"]
    assert merged["source"]["files"] == 2


def test_skipped_files_travel_through_scan_merge_and_from(tmp_path):
    save_mask(tmp_path / "a" / "ok.png", A)
    (tmp_path / "a" / "bad.png").write_text("not a png")
    save_mask(tmp_path / "b" / "ok.png", B)
    scan_to(tmp_path / "a", tmp_path / "a.json", "--skip-bad")
    scan_to(tmp_path / "b", tmp_path / "b.json")
    fresh = run("weights", tmp_path / "a", "--skip-bad", "-q")
    assert fresh.exit_code == 0, fresh.stderr
    assert run("weights", "--from", tmp_path / "a.json").stdout == fresh.stdout
    merged = json.loads(run("merge", tmp_path / "a.json", tmp_path / "b.json").stdout)
    assert merged["files"] == 2
    assert merged["num_images"] == 2
    assert merged["source"]["skip_bad"] == [True, False]
    assert merged["source"]["skipped_files"] == [str(tmp_path / "a" / "bad.png")]


def test_merge_refuses_different_label_mappings(mask_dir, tmp_path):
    scan_to(mask_dir([A]), tmp_path / "a.json")
    scan_to(mask_dir([B], name="n"), tmp_path / "b.json")
    edited = json.loads((tmp_path / "b.json").read_text())
    edited["label_mapping"] = {"colour_map": {"0": [0, 0, 0]}}
    (tmp_path / "b.json").write_text(json.dumps(edited))
    out = tmp_path / "all.json"
    result = run("merge", tmp_path / "a.json", tmp_path / "b.json", "-o", out)
    assert result.exit_code == 1
    assert f"{tmp_path / 'b.json'}: its label mapping differs from" in result.stderr
    assert not out.exists()


def test_merge_warns_about_the_same_shard_twice(mask_dir, tmp_path):
    scan_to(mask_dir([A, B]), tmp_path / "a.json")
    result = run("merge", tmp_path / "a.json", tmp_path / "a.json")
    assert result.exit_code == 0
    assert "same digest): one shard given twice?" in result.stderr
    assert json.loads(result.stdout)["pixels"] == [6, 4, 6]


def test_from_refuses_stats_with_another_label_mapping(mask_dir, tmp_path, monkeypatch):
    scan_to(mask_dir([A, B]), tmp_path / "s.json")
    monkeypatch.setattr(ReadOptions, "label_mapping", lambda self: {"remap": {"1": 0}})
    result = run("weights", "--from", tmp_path / "s.json")
    assert result.exit_code == 1
    assert "s.json: scanned with a different label mapping" in result.stderr


label_images = st.lists(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 3), st.integers(1, 3)),
        elements=st.sampled_from([0, 1, 2, 5, 255]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images=label_images, data=st.data())
def test_merging_any_split_equals_scanning_the_whole(images, data):
    shard_of = data.draw(st.lists(st.integers(0, 2), min_size=len(images), max_size=len(images)))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        paths = [save_mask(root / f"{i:02d}.png", image) for i, image in enumerate(images)]
        shards = [[p for p, s in zip(paths, shard_of, strict=True) if s == k] for k in range(3)]
        shards = [shard for shard in shards if shard]
        parts = []
        for k, shard in enumerate(shards):
            out = root / f"part{k}.json"
            assert run("scan", *shard, "-q", "-o", out).exit_code == 0
            parts.append(out)
        merged = run("merge", *parts)
        assert merged.exit_code == 0, merged.stderr
        # The whole, named in the order the parts were given: the files, exactly.
        whole = run("scan", *[p for shard in shards for p in shard], "-q")
        assert merged.stdout == whole.stdout
        # And --from on the merge gives the weights of the whole.
        (root / "all.json").write_text(merged.stdout)
        from_merge = run("weights", "--from", root / "all.json", "--ignore", 255)
        fresh = run("weights", *[p for shard in shards for p in shard], "--ignore", 255, "-q")
        assert from_merge.exit_code == fresh.exit_code
        assert from_merge.stdout == fresh.stdout


def test_scan_records_every_value_and_the_class_rules_apply_when_weighed(tmp_path):
    """mfb scan takes no class options, so it refuses no label: -1 (no data) and 70000 (far
    past any class vector) are recorded, and the weighing says what to pass for them."""
    folder = tmp_path / "m"
    folder.mkdir()
    np.save(folder / "a.npy", np.array([[0, -1, 2], [2, 70000, 0]], dtype=np.int32))
    np.save(folder / "b.npy", np.array([[-1, 1], [1, 1]], dtype=np.int32))
    stats = tmp_path / "s.json"
    assert run("scan", folder, "--glob", "*.npy", "-o", stats, "-q").exit_code == 0
    record = json.loads(stats.read_text())
    assert json.dumps(record).count("70000") >= 1
    refused = run("weights", "--from", stats)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"Error: {stats}: label -1 is negative; pass --ignore -1")
    options = ["--ignore", -1, "--ignore", 70000]
    direct = run("weights", folder, "--glob", "*.npy", *options)
    from_file = run("weights", "--from", stats, *options)
    assert direct.exit_code == from_file.exit_code == 0, direct.stderr + from_file.stderr
    assert json.loads(from_file.stdout)["pixel_counts"] == [2, 3, 2]  # ids 0, 1, 2
    assert json.loads(from_file.stdout)["weights"] == json.loads(direct.stdout)["weights"]


def test_merge_refuses_shards_holding_more_distinct_values_than_a_scan_keeps(tmp_path):
    """Each shard is a valid scan (2,100 values); together they hold 4,200, past the 4,096
    a scan keeps, which weights and histogram would refuse: merge refuses to write it."""
    stats = []
    for shard, first in (("a", 0), ("b", 10_000)):
        folder = tmp_path / shard
        folder.mkdir()
        for index in range(42):  # 50 values a file: small co-occurrence tables
            start = first + 50 * index
            np.save(folder / f"{index}.npy", np.arange(start, start + 50).reshape(5, 10))
        stats.append(tmp_path / f"{shard}.json")
        assert run("scan", folder, "--glob", "*.npy", "-o", stats[-1], "-q").exit_code == 0
    merged = tmp_path / "all.json"
    result = run("merge", *stats, "-o", merged)
    assert result.exit_code == 1 and not merged.exists()
    assert result.stderr == (
        f"Error: {stats[1]}: added to the shards before it: 4200 distinct label values, more "
        "than 4096: these are not semantic class ids (instance ids, a continuous raster, or "
        "colours read as values?)\n"
    )
