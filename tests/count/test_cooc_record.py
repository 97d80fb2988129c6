"""The co-occurrence table of a statistics file in its three layouts: which one is written,
each read back to the same table, and merges exact whatever the layouts of the shards."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mfb_cli.count import cooc_record
from mfb_cli.count.cooc_record import cooc_from_value, cooc_layout, cooc_value
from mfb_cli.count.counts import ClassCounts
from mfb_cli.count.stats import StatsFile, files_digest, load_stats, stats_record
from mfb_cli.show.serialize import to_json

from ..conftest import run, save_mask

A = [[0, 0], [0, 1]]
B = [[1, 2], [2, 2]]
LAYOUTS = ("rows", "pairs", "matrix")


def _table(size: int, nonzero: int) -> np.ndarray:
    table = np.zeros(size * size, dtype=np.int64)
    table[:nonzero] = 1
    return table.reshape(size, size)


def test_the_layout_rule_at_its_edges():
    limit = cooc_record.ROWS_LIMIT
    assert limit == 65_536 and cooc_record.SPARSE_SHARE == 4
    assert cooc_layout(_table(0, 0)) == "rows"
    assert cooc_layout(_table(256, 256 * 256)) == "rows"  # 256 ids all meeting
    assert cooc_layout(_table(600, limit)) == "rows"
    # 600 ids: 360,000 cells; pairs while non-zero * 4 < 360,000.
    assert cooc_layout(_table(600, limit + 1)) == "pairs"
    assert cooc_layout(_table(600, 89_999)) == "pairs"
    assert cooc_layout(_table(600, 90_000)) == "matrix"
    assert cooc_layout(_table(257, 257 * 257)) == "matrix"


# cooc[c][d] for images A = {0: 3, 1: 1} and B = {1: 1, 2: 3} (ids 0, 1, 2).
TABLE = [[3, 1, 0], [3, 2, 3], [0, 1, 3]]


def test_each_layout_by_hand():
    table = np.array(TABLE, dtype=np.int64)
    assert cooc_value([0, 1, 2], table, "rows") == [
        [0, 0, 3], [0, 1, 1], [1, 0, 3], [1, 1, 2], [1, 2, 3], [2, 1, 1], [2, 2, 3],
    ]  # fmt: skip
    assert cooc_value([0, 1, 2], table, "pairs") == {
        "c": [0, 0, 1, 1, 1, 2, 2],
        "d": [0, 1, 0, 1, 2, 1, 2],
        "n": [3, 1, 3, 2, 3, 1, 3],
    }
    assert cooc_value([0, 1, 2], table, "matrix") == {"matrix": TABLE}
    # Labels, not positions: the same table under ids 5, 70000, -1 (sorted: -1, 5, 70000).
    assert cooc_value([-1, 5, 70000], table, "pairs")["c"] == [-1, -1, 5, 5, 5, 70000, 70000]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_reads_back_the_same_table(layout):
    table = np.array(TABLE, dtype=np.int64)
    value = json.loads(json.dumps(cooc_value([0, 1, 2], table, layout)))
    read = cooc_from_value(value, [0, 1, 2], [3, 2, 3], exact=False)
    assert read.dtype == np.int64
    assert read.tolist() == TABLE


@pytest.mark.parametrize("layout", LAYOUTS)
def test_physical_counts_past_int64_stay_exact_in_every_layout(layout):
    big = 2**70 + 1  # a physical volume in units of 1/D mm^3 may pass 2**63
    table = np.zeros((2, 2), dtype=object)
    table[:] = [[big, 0], [0, 5]]
    value = json.loads(json.dumps(cooc_value([0, 1], table, layout)))
    read = cooc_from_value(value, [0, 1], [big, 5], exact=True)
    assert read.dtype == object
    assert read.tolist() == [[big, 0], [0, 5]]
    assert all(type(v) is int for v in read.flat)  # Python integers, never wrapped
    # Exact voxel counts fit int64: there the same value is refused.
    with pytest.raises(ValueError, match=r"(exceeds|more than) the 5 pixels"):
        cooc_from_value(value, [0, 1], [5, 5], exact=False)


def test_an_empty_table_in_every_layout():
    for value in ([], {"c": [], "d": [], "n": []}, {"matrix": []}):
        assert cooc_from_value(value, [], [], exact=False).shape == (0, 0)


def _physical_stats(layout: str, monkeypatch) -> dict:
    big = 2**70
    table = np.zeros((2, 2), dtype=object)
    table[:] = [[big, big + 3], [big, big + 3]]
    pixels = np.zeros(2, dtype=object)
    pixels[:] = [big, big + 3]
    counts = ClassCounts(np.array([0, 1]), pixels, np.array([1, 1]), table, 1, unit=Fraction(1, 2))
    force(monkeypatch, layout)
    return stats_record(StatsFile(counts, 1, files_digest(["a.nii.gz"])))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_physical_stats_files_round_trip_in_every_layout(tmp_path, monkeypatch, layout):
    record = _physical_stats(layout, monkeypatch)
    (tmp_path / "s.json").write_text(to_json(record))
    loaded = load_stats(tmp_path / "s.json").counts
    assert loaded.cooc.tolist() == [[2**70, 2**70 + 3], [2**70, 2**70 + 3]]
    assert loaded.unit == Fraction(1, 2)


# --- which layout a scan writes, and merges ---------------------------------------------


def force(monkeypatch, layout: str) -> None:
    """Make ``layout`` the one written, whatever the table (the thresholds are globals)."""
    rows, share = {"rows": (10**9, 4), "pairs": (-1, 0), "matrix": (-1, 10**9)}[layout]
    monkeypatch.setattr(cooc_record, "ROWS_LIMIT", rows)
    monkeypatch.setattr(cooc_record, "SPARSE_SHARE", share)


def scan(*args: object) -> str:
    result = run("scan", *args, "-q")
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture
def shards(tmp_path: Path) -> tuple[Path, Path]:
    save_mask(tmp_path / "a" / "0.png", A)
    save_mask(tmp_path / "a" / "1.png", B)
    save_mask(tmp_path / "b" / "0.png", [[2, 2, 255], [7, 7, 7]])
    return tmp_path / "a", tmp_path / "b"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_file_in_each_layout_gives_the_same_outputs(shards, tmp_path, monkeypatch, layout):
    folder, _ = shards
    reference = tmp_path / "reference" / "s.json"  # the same name: the report's title
    reference.parent.mkdir()
    reference.write_text(scan(folder))
    force(monkeypatch, layout)
    text = scan(folder)
    record = json.loads(text)
    assert record["format_version"] == {"rows": 1, "pairs": 2, "matrix": 2}[layout]
    assert record["definitions"]["cooc"] == cooc_record.DEFINITIONS[layout]
    if layout == "matrix":
        assert record["cooc"] == {"matrix": TABLE}
    path = tmp_path / layout / "s.json"
    path.parent.mkdir()
    path.write_text(text)
    assert load_stats(path).counts == load_stats(reference).counts
    monkeypatch.undo()
    for command in (["weights", "--void", "0"], ["histogram"], ["priors"], ["report"]):
        expected = run(*command, "--from", reference)
        assert expected.exit_code == 0, expected.stderr
        got = run(*command, "--from", path)
        assert (got.exit_code, got.stderr) == (0, expected.stderr)
        assert got.stdout == expected.stdout.replace(str(reference), str(path))


@pytest.mark.parametrize("first", LAYOUTS)
@pytest.mark.parametrize("second", LAYOUTS)
@pytest.mark.parametrize("written", LAYOUTS)
def test_merging_shards_of_any_layouts_equals_one_scan(
    shards, tmp_path, monkeypatch, first, second, written
):
    a, b = shards
    for folder, layout in ((a, first), (b, second)):
        force(monkeypatch, layout)
        (tmp_path / f"{folder.name}.json").write_text(scan(folder))
    force(monkeypatch, written)
    merged = run("merge", tmp_path / "a.json", tmp_path / "b.json")
    assert merged.exit_code == 0, merged.stderr
    assert merged.stdout == scan(a, b)  # the same layout rule, the same bytes


def test_the_sample_datasets_keep_the_rows_layout(mask_dir, tmp_path):
    record = json.loads(scan(mask_dir([A, B])))
    assert record["format_version"] == 1
    assert isinstance(record["cooc"], list)
    assert record["definitions"]["cooc"].startswith("[c, d, n]")


def test_large_tables_are_written_as_pairs_or_a_matrix(tmp_path):
    """Shipped thresholds on real sizes: 1,200 ids in 12 images of 100 ids each make 120,000
    non-zero entries of 1,440,000 cells (pairs); 300 ids in one image, all meeting (matrix)."""
    sparse = ClassCounts.empty()
    for image in range(12):
        ids = np.arange(100 * image, 100 * image + 100, dtype=np.int64)
        sparse = sparse + ClassCounts.from_histogram(ids, ids + 1)
    full = ClassCounts.from_histogram(np.arange(300), np.arange(1, 301))
    for counts, layout in ((sparse, "pairs"), (full, "matrix")):
        record = stats_record(StatsFile(counts, counts.num_images, files_digest([])))
        assert record["format_version"] == 2
        assert record["definitions"]["cooc"] == cooc_record.DEFINITIONS[layout]
        path = tmp_path / f"{layout}.json"
        path.write_text(to_json(record))
        assert load_stats(path).counts == counts
    pairs = json.loads((tmp_path / "pairs.json").read_text())["cooc"]
    assert len(pairs["c"]) == len(pairs["d"]) == len(pairs["n"]) == 12 * 100 * 100
    assert pairs["c"][:3] == [0, 0, 0] and pairs["d"][:3] == [0, 1, 2]
    assert pairs["n"][:3] == [1, 2, 3]  # pixels of d: its id + 1
    matrix = json.loads((tmp_path / "matrix.json").read_text())["cooc"]["matrix"]
    assert matrix[7] == list(range(1, 301))  # one image: every row is 'pixels'
