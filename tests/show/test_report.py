"""mfb report: the record's numbers worked out by hand, the page's numbers equal to the
JSON outputs (read back from the HTML), splits, --check, and a 150-class page's size.

The page in a real browser (no request, no console error, sorting, log/linear switch) is
tested in test_report_browser.py.
"""

from __future__ import annotations

import json
import math
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mfb_cli.cli import cli
from mfb_cli.count.counts import ClassCounts, CountsAccumulator
from mfb_cli.count.stats import StatsFile, files_digest, stats_record
from mfb_cli.show.report import ReportInput, js_divergence, report_record
from mfb_cli.show.serialize import to_json
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.schemes import SCHEMES
from mfb_cli.weigh.spec import LabelSpec
from mfb_cli.weigh.weights import class_weights

from ..conftest import save_mask

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("summary", "distribution", "weights", "cooc", "splits", "problems")


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


def counts_of(*images: list[list[int]]) -> ClassCounts:
    total = ClassCounts.empty()
    for image in images:
        ids, pixels = np.unique(np.asarray(image), return_counts=True)
        total = total + ClassCounts.from_histogram(ids, pixels)
    return total


def report_of(*splits: tuple[str, ClassCounts], spec: LabelSpec = LabelSpec()) -> dict:
    inputs = [ReportInput(name, c, class_stats(c, spec)) for name, c in splits]
    return report_record(inputs, command="mfb report x")


class Cells(HTMLParser):
    """data-value of every cell, by the id of the table holding it: {table: [[row cells]]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str | None]]] = {}
        self.summary: dict[str, str] = {}
        self._table: str | None = None
        self._in_body = False
        self._stat: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self._table = found.get("id")
            if self._table:
                self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table and self._in_body:
            self.tables[self._table].append([])
        elif tag == "td" and self._table and self._in_body:
            self.tables[self._table][-1].append(found.get("data-value"))
        elif tag == "div" and found.get("class") == "stat":
            self._stat = found.get("data-key")
        elif tag == "dd" and self._stat:
            self.summary[self._stat] = found.get("data-value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None


def cells(page: str) -> Cells:
    parser = Cells()
    parser.feed(page)
    return parser


# -- the record, by hand -----------------------------------------------------------------

A = [[0, 0], [0, 1]]  # class 0: 3 pixels, class 1: 1
B = [[1, 2], [2, 2]]  # class 1: 1 pixel, class 2: 3


def test_summary_and_cooc_worked_out_by_hand():
    record = report_of(("train", counts_of(A, B)))
    summary = record["summary"]
    assert (summary["images"], summary["total_pixels"], summary["present"]) == (2, 8, 3)
    assert summary["absent"] == []
    assert summary["imbalance_ratio"] == 3 / 2  # 3 pixels (class 0) / 2 pixels (class 1)
    assert (summary["void_share"], summary["ignored_share"]) == (0.0, 0.0)
    # share[c][d]: pixels of d in images containing c / pixels of d.
    # 0 is in A only: of 1's 2 pixels, 1 is in A; 2 never meets 0.
    # 1 is in A and B: every pixel of 0 and of 2.  2 is in B only: 1 pixel of class 1.
    assert record["cooc"]["order"] == [0, 1, 2]  # start at 0 (3 pixels, lower id than 2)
    assert record["cooc"]["share"] == [[1.0, 0.5, 0.0], [1.0, 1.0, 1.0], [0.0, 0.5, 1.0]]


def test_seriation_puts_classes_found_together_side_by_side():
    # 0 and 2 share every image; 1 is always alone. Ordered by id, 1 would split them.
    counts = counts_of([[0, 2], [2, 2]], [[1, 1], [1, 1]], [[0, 0], [2, 2]])
    record = report_of(("all", counts))
    # 2 has most pixels (5) so comes first; 0 (found with it) next; 1 last.
    assert record["cooc"]["order"] == [2, 0, 1]


def test_void_and_ignored_shares_by_hand():
    counts = counts_of([[0, 1], [3, 255]], [[0, 0], [255, 255]])
    record = report_of(("x", counts), spec=LabelSpec.of(None, [3], [255]))
    summary = record["summary"]
    assert summary["void_share"] == 1 / 8
    assert summary["ignored_share"] == 3 / 8
    assert summary["labelled_pixels"] == 4
    assert summary["absent"] == [2]
    assert record["cooc"]["order"] == [0, 1]  # void 3 and absent 2 left out


def test_js_divergence_by_hand():
    assert js_divergence([1.0, 0.0], [0.0, 1.0]) == 1.0
    assert js_divergence([0.3, 0.7], [0.3, 0.7]) == 0.0
    # p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4):
    # KL(p||m) = 1/2 log2(2/3) + 1/2 log2(2); KL(q||m) = log2(4/3); JS = the mean of both.
    expected = ((0.5 * math.log2(2 / 3) + 0.5) + math.log2(4 / 3)) / 2
    assert js_divergence([0.5, 0.5], [1.0, 0.0]) == pytest.approx(expected, rel=1e-15)


def test_splits_flag_a_class_missing_from_one_split():
    train = counts_of(A, B)  # classes 0, 1, 2
    val = counts_of([[0, 1], [1, 1]])  # no class 2
    record = report_of(("train", train), ("val", val), spec=LabelSpec.of(3))
    splits = record["splits"]
    assert splits["missing"] == [{"id": 2, "present_in": ["train"], "missing_from": ["val"]}]
    # shares of labelled pixels: train (3/8, 2/8, 3/8), val (1/4, 3/4, 0)
    p, q = [3 / 8, 2 / 8, 3 / 8], [1 / 4, 3 / 4, 0.0]
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    kl_p = sum(a * math.log2(a / c) for a, c in zip(p, m, strict=True) if a)
    kl_q = sum(b * math.log2(b / c) for b, c in zip(q, m, strict=True) if b)
    divergence = splits["js_divergence"]
    assert divergence[0][0] == divergence[1][1] == 0.0
    assert divergence[0][1] == divergence[1][0] == pytest.approx((kl_p + kl_q) / 2, rel=1e-14)


# -- the command ---------------------------------------------------------------------------


def test_sample_page_numbers_equal_the_json_outputs(tmp_path):
    page_path = tmp_path / "r.html"
    args = ["sample_masks", "--names", "sample_masks/classes.txt", "--void", "11"]
    result = run("report", *args, "-o", page_path)
    assert result.exit_code == 0, result.stderr
    page = page_path.read_text(encoding="utf-8")
    found = cells(page)

    histogram = json.loads(run("histogram", *args, "-f", "json").stdout)
    rows = [*histogram["classes"], *histogram["void"], *histogram["ignored"]]
    table = found.tables["distribution-table"]
    assert len(table) == len(rows) == 12
    for row, values in zip(rows, table, strict=True):
        assert int(values[0]) == row["id"]
        assert int(values[2]) == row["pixels"]
        assert values[3] == (
            "" if row["share_of_labelled"] is None else repr(row["share_of_labelled"])
        )
        assert int(values[4]) == row["images"]
        assert float(values[5]) == row["share_of_images"]

    weights_table = found.tables["weights-table"]
    for column, scheme in enumerate(SCHEMES, start=3):
        out = run("weights", *args, "--scheme", scheme, "--normalize", "mean", "-f", "json")
        assert out.exit_code == 0, out.stderr
        expected = json.loads(out.stdout)["weights"]
        assert [float(r[column]) for r in weights_table] == expected, scheme

    assert int(found.summary["images"]) == histogram["images"] == 20
    assert int(found.summary["total_pixels"]) == histogram["total_pixels"]
    assert float(found.summary["imbalance_ratio"]) == histogram["imbalance_ratio"]
    assert (
        float(found.summary["void_share"]) == histogram["void_pixels"] / histogram["total_pixels"]
    )
    assert "mfb report sample_masks --names sample_masks/classes.txt --void 11 -o" in page
    assert "wrote" in result.stderr


def test_page_is_self_contained(tmp_path):
    result = run("report", "sample_masks", "--void", "11")
    assert result.exit_code == 0, result.stderr
    page = result.stdout
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    # Nothing that would make a browser fetch: no remote URL, no src= at all, no @import.
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    assert " src=" not in page and "@import" not in page and "url(" not in page


def test_committed_sample_page_is_up_to_date(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("report", "sample_masks", "--names", "sample_masks/classes.txt", "--void", "11")
    assert result.exit_code == 0, result.stderr
    committed = (ROOT / "docs" / "report-sample.html").read_text(encoding="utf-8")
    assert result.stdout == committed, (
        "regenerate: mfb report sample_masks --names sample_masks/classes.txt --void 11 "
        "> docs/report-sample.html"
    )


def write_stats(path: Path, counts: ClassCounts, files: int) -> Path:
    digest = files_digest(f"{path.stem}/{i}.png" for i in range(files))
    path.write_text(to_json(stats_record(StatsFile(counts, files, digest))), encoding="utf-8")
    return path


def ade_like(seed: int, images: int = 200, classes: int = 150) -> ClassCounts:
    """ADE20K-like counts: ids 0..149 with a long tail, 255 ignored, a few classes per image."""
    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, classes + 1)
    popularity /= popularity.sum()
    accumulator = CountsAccumulator()
    for _ in range(images):
        present = np.sort(
            rng.choice(classes, size=int(rng.integers(4, 16)), replace=False, p=popularity)
        )
        ids = np.append(present, 255).astype(np.int64)
        accumulator.add(ids, rng.integers(1, 60_000, size=len(ids)).astype(np.int64))
    return accumulator.result()


def test_150_classes_page_stays_small_with_every_row(tmp_path):
    stats = write_stats(tmp_path / "ade.json", ade_like(1, images=600), 600)
    page_path = tmp_path / "ade.html"
    result = run("report", "--from", stats, "--ignore", 255, "--num-classes", 150, "-o", page_path)
    assert result.exit_code == 0, result.stderr
    size = page_path.stat().st_size
    assert size < 3_000_000, size
    found = cells(page_path.read_text(encoding="utf-8"))
    assert len(found.tables["distribution-table"]) == 150 + 1  # the classes, then 255
    assert len(found.tables["weights-table"]) == 150


def test_splits_from_several_stats_files(tmp_path):
    train = write_stats(tmp_path / "train.json", counts_of(A, B), 2)
    val = write_stats(tmp_path / "val.json", counts_of([[0, 1], [1, 1]]), 1)
    result = run("report", "--from", train, "--from", val)
    assert result.exit_code == 0, result.stderr
    page = result.stdout
    found = cells(page)
    # val alone has 2 classes, train 3: both get the longer vector, so 2 is flagged.
    assert len(found.tables["splits-table"]) == 3
    assert 'id="missing-classes"' in page and 'data-id="2"' in page
    assert "present in train, missing from val" in page
    js = found.tables["js-table"]
    assert js[0][0] == "0.0" and js[0][1] == js[1][0] and float(js[0][1]) > 0


def test_check_findings_are_listed(mask_dir, tmp_path):
    folder = mask_dir([A, A, B])  # two identical files
    result = run("report", folder, "--check", "-q")
    assert result.exit_code == 0, result.stderr  # findings are shown, not an exit status
    assert 'data-clean="false"' in result.stdout
    assert "identical files: " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give PATH..."),
        (["--from", "x.json", "--check"], "--check has no effect with --from"),
        (["--from", "x.json", "--glob", "*.png"], "--glob has no effect with --from"),
        (["sample_masks", "--from", "x.json"], "not both"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    (tmp_path / "x.json").write_text("{}")
    result = run("report", *[tmp_path / a if a == "x.json" else a for a in args])
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_colour_table_gives_bar_colours_and_names(tmp_path):
    (tmp_path / "class_dict.csv").write_text("name,r,g,b\nSky,128,128,128\nRoad,128,64,128\n")
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0], rgb[1] = (128, 128, 128), (128, 64, 128)
    save_mask(tmp_path / "m" / "a.png", rgb, "RGB")
    result = run("report", tmp_path / "m", "--colormap", tmp_path / "class_dict.csv", "-q")
    assert result.exit_code == 0, result.stderr
    bars = re.findall(
        r'class="bar" data-lin="[^"]*" data-log="[^"]*" style="[^"]*background:(#\w+)',
        result.stdout,
    )
    assert bars == ["#808080", "#804080"]
    assert ">Sky <" in result.stdout and ">Road <" in result.stdout


def test_names_cannot_inject_markup(tmp_path, mask_dir):
    (tmp_path / "names.txt").write_text("<script>alert(1)</script>\nb&b\n")
    result = run("report", mask_dir([[[0, 1]]]), "--names", tmp_path / "names.txt", "-q")
    assert result.exit_code == 0, result.stderr
    assert "<script>alert" not in result.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.stdout and "b&amp;b" in result.stdout


def test_splits_with_different_label_mappings_are_refused(tmp_path, mask_dir):
    folder = mask_dir([[[0, 1]]])
    plain = tmp_path / "plain.json"
    mapped = tmp_path / "mapped.json"
    (tmp_path / "swap.json").write_text('{"0": 1, "1": 0}')
    assert run("scan", folder, "-o", plain, "-q").exit_code == 0
    assert run("scan", folder, "--map", tmp_path / "swap.json", "-o", mapped, "-q").exit_code == 0
    result = run("report", "--from", plain, "--from", mapped)
    assert result.exit_code == 1
    assert f"{mapped}: its label mapping differs from {plain}'s" in result.stderr


def test_heat_map_keeps_the_classes_with_most_pixels(tmp_path):
    # 250 classes, one image each, class c with c + 1 pixels: the 200 largest are 50..249.
    accumulator = CountsAccumulator()
    for c in range(250):
        accumulator.add(np.array([c], dtype=np.int64), np.array([c + 1], dtype=np.int64))
    record = report_of(("many", accumulator.result()))
    assert record["cooc"]["left_out"] == 50
    assert sorted(record["cooc"]["order"]) == list(range(50, 250))
    # no two classes meet: every off-diagonal share is 0
    share = record["cooc"]["share"]
    assert all(share[i][j] == (1.0 if i == j else 0.0) for i in range(200) for j in range(200))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 5), min_size=1, max_size=6),
        min_size=1,
        max_size=6,
    ),
    st.lists(
        st.lists(st.integers(0, 5), min_size=1, max_size=6),
        min_size=1,
        max_size=6,
    ),
)
def test_report_properties(first, second):
    one, two = counts_of(*[[row] for row in first]), counts_of(*[[row] for row in second])
    record = report_of(("a", one), ("b", two), spec=LabelSpec.of(6))
    in_first = {v for row in first for v in row}
    in_second = {v for row in second for v in row}
    assert sorted(record["cooc"]["order"]) == sorted(in_first)  # a permutation of them
    assert all(row[i] == 1.0 for i, row in enumerate(record["cooc"]["share"]))
    divergence = record["splits"]["js_divergence"]
    assert divergence[0][0] == divergence[1][1] == 0.0
    assert divergence[0][1] == divergence[1][0]
    assert 0.0 <= divergence[0][1] <= 1.0 + 1e-12
    shares = [[r["share_of_labelled"] for r in s["classes"]] for s in record["splits"]["splits"]]
    assert (divergence[0][1] == 0.0) == (shares[0] == shares[1])
    assert (divergence[0][1] >= 1.0 - 1e-12) == (not in_first & in_second)  # disjoint: 1
    assert {m["id"] for m in record["splits"]["missing"]} == in_first ^ in_second


# -- the effect of the sampling schemes (issue 17, last item) ------------------------------

SAMPLING_COLUMNS = ("repeat-factor", "rare-class", "weighted")


def sampling_columns(page: str) -> dict[str, dict[int, float | None]]:
    """The sampling table: per column (dataset, then each scheme), class id -> share."""
    rows = cells(page).tables["sampling-table"]
    return {
        name: {int(str(row[0])): float(row[2 + i]) if row[2 + i] else None for row in rows}
        for i, name in enumerate(("dataset", *SAMPLING_COLUMNS))
    }


def test_sampling_effect_in_the_page_equals_mfb_sampling_json(monkeypatch):
    monkeypatch.chdir(ROOT)
    page = run("report", "sample_masks", "--void", "11")
    assert page.exit_code == 0, page.stderr
    columns = sampling_columns(page.stdout)
    assert sorted(columns["dataset"]) == list(range(11))  # void class 11 left out
    for scheme in SAMPLING_COLUMNS:
        result = run("sampling", "sample_masks", "--void", "11", "--scheme", scheme, "-f", "json")
        assert result.exit_code == 0, result.stderr
        effect = json.loads(result.stdout)["effect"]["classes"]
        assert columns[scheme] == {r["class"]: r["sampled_pixel_share"] for r in effect}
        assert columns["dataset"] == {r["class"]: r["pixel_share"] for r in effect}
    assert '<svg id="sampling-chart"' in page.stdout


def test_sampling_effect_by_hand_and_a_refused_scheme(tmp_path):
    # A = [0,0,0,1], B = [0,0,0,0]. weighted: images(0) = 2, images(1) = 1, N = 2, so
    # w(A) = 2, w(B) = 1, p = (2/3, 1/3): class 0 draws 2/3*3 + 1/3*4 = 10/3 of 4 pixels.
    save_mask(tmp_path / "a.png", [[0, 0], [0, 1]])
    save_mask(tmp_path / "b.png", [[0, 0], [0, 0]])
    page = run("report", tmp_path)
    assert page.exit_code == 0, page.stderr
    columns = sampling_columns(page.stdout)
    assert columns["dataset"] == {0: 7 / 8, 1: 1 / 8}
    assert columns["weighted"] == pytest.approx({0: 5 / 6, 1: 1 / 6}, rel=1e-12)
    # repeat-factor, t = 0.1: every class is in >= half the images, so r = 1: no change.
    assert columns["repeat-factor"] == {0: 7 / 8, 1: 1 / 8}
    # rare-class refuses: no image has more than 3000 pixels of a class (as mfb sampling).
    assert columns["rare-class"] == {0: None, 1: None}
    assert "not drawn: no image has more than min_pixels=3000 pixels" in page.stdout
    refused = run("sampling", tmp_path, "--scheme", "rare-class")
    assert refused.exit_code != 0 and "3000" in refused.stderr


def test_sampling_from_a_per_image_file_and_not_from_statistics(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    stats, images = tmp_path / "stats.json", tmp_path / "images.jsonl"
    scanned = run("scan", "sample_masks", "-o", stats, "--per-image", images)
    assert scanned.exit_code == 0, scanned.stderr
    scan_page = run("report", "sample_masks", "--void", "11").stdout
    from_images = run("report", "--from", images, "--void", "11")
    assert from_images.exit_code == 0, from_images.stderr
    assert sampling_columns(from_images.stdout) == sampling_columns(scan_page)
    # Splits still work with a per-image file first and a statistics file after it.
    both = run("report", "--from", images, "--from", stats, "--void", "11")
    assert both.exit_code == 0, both.stderr
    assert sampling_columns(both.stdout) == sampling_columns(scan_page)
    from_stats = run("report", "--from", stats, "--void", "11")
    assert from_stats.exit_code == 0, from_stats.stderr
    assert "sampling-table" not in from_stats.stdout
    assert re.search(
        r'id="sampling-note">The effect of the sampling schemes needs per-image statistics'
        r".*--per-image images\.jsonl",
        from_stats.stdout,
    )


# -- the page's size is bounded by the classes present, not the vector's length ----------


def sixteen_bit_mask(folder: Path) -> Path:
    """20x20 16-bit mask: 0 (240 px), 1 (98), 3 (60), 7 (1) and 65535 (1): 65,536 classes."""
    labels = np.zeros((20, 20), dtype=np.uint16)
    labels[:5], labels[5:8] = 1, 3
    labels[0, 0], labels[1, 1] = 65535, 7
    return save_mask(folder / "m.png", labels, "I;16").parent


#: The rows of every per-class table for that mask: present ids, one lone absent id, ranges.
SPANS_65535 = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 6), (7, 7), (8, 65534), (65535, 65535)]


def island(page: str, table: str) -> dict | None:
    """The data island a long table's rows are drawn from, or None for an HTML table."""
    found = re.search(rf'<script type="application/json" id="{table}-data">(.*?)</script>', page)
    return json.loads(found[1]) if found else None


def island_column(data: dict, index: int) -> list:
    return data["columns"][index]["values"]


def spans_of(page: str, table: str) -> list[tuple[int, int]]:
    data = island(page, table)
    if data is not None:
        ids = data["columns"][0]
        return list(zip(ids["values"], ids["last"] or ids["values"], strict=True))
    rows = re.findall(rf'id="{table}".*?</table>', page, re.DOTALL)[0]
    found = []
    for tag in re.findall(r"<tr[^>]*data-id=[^>]*>", rows):
        first = int(re.search(r'data-id="(\d+)"', tag)[1])
        last = re.search(r'data-last="(\d+)"', tag)
        found.append((first, int(last[1]) if last else first))
    return found


def test_a_16_bit_mask_holding_65535_makes_a_small_page_with_absent_ranges(tmp_path):
    page_path = tmp_path / "r.html"
    result = run("report", sixteen_bit_mask(tmp_path / "m"), "-o", page_path)
    assert result.exit_code == 0, result.stderr
    page = page_path.read_text(encoding="utf-8")
    assert len(page.encode()) < 100_000  # 80 MB when every absent class had three rows
    for table in ("distribution-table", "weights-table", "sampling-table"):
        assert spans_of(page, table) == SPANS_65535, table
    found = cells(page)
    # Present classes: every number exact; a range row: zeros for all its classes.
    by_id = {int(row[0]): row for row in found.tables["distribution-table"]}
    assert {c: int(by_id[c][2]) for c in (0, 1, 3, 7, 65535)} == {
        0: 240,
        1: 98,
        3: 60,
        7: 1,
        65535: 1,
    }
    assert by_id[0][3] == repr(240 / 400) and by_id[7][3] == repr(1 / 400)
    assert [int(by_id[c][2]) for c in (2, 4, 8)] == [0, 0, 0]
    assert "absent: 8-65534 (65,527 classes)" in page and "absent: 4-6 (3 classes)" in page
    assert found.summary["absent"] == "65531"
    assert "65,531: ids 2, 4-6, 8-65534" in page
    weights = {int(row[0]): [float(v) for v in row[3:]] for row in found.tables["weights-table"]}
    for scheme, column in zip(SCHEMES, zip(*weights.values(), strict=True), strict=True):
        expected = json.loads(
            run("weights", tmp_path / "m", "--scheme", scheme, "--normalize", "mean").stdout
        )
        present = {c: expected["weights"][c] for c in (0, 1, 3, 7, 65535)}
        assert {c: column[i] for i, c in enumerate(weights) if c in present} == present
        assert all(column[i] == 0 for i, c in enumerate(weights) if c not in present)


def scattered(present: int, step: int) -> ClassCounts:
    """``present`` classes at ids 0, step, 2*step...: one absent run between each two."""
    accumulator = CountsAccumulator()
    for k in range(present):
        ids = np.array([k * step, ((k + 1) % present) * step], dtype=np.int64)
        accumulator.add(np.unique(ids), np.array([k + 1, 2][: len(np.unique(ids))], np.int64))
    return accumulator.result()


def test_page_size_grows_with_the_present_classes_not_the_vector(tmp_path):
    """1,024 classes present among 65,536 ids, an absent run after each: the worst layout."""
    stats = write_stats(tmp_path / "wide.json", scattered(1024, 64), 1024)
    page_path = tmp_path / "wide.html"
    result = run("report", "--from", stats, "--num-classes", 65536, "-o", page_path, "-q")
    assert result.exit_code == 0, result.stderr
    page = page_path.read_text(encoding="utf-8")
    spans = spans_of(page, "distribution-table")
    assert len(spans) == 2 * 1024  # each present class, then the run up to the next
    assert spans[:3] == [(0, 0), (1, 63), (64, 64)] and spans[-1] == (65473, 65535)
    assert spans_of(page, "weights-table") == spans
    assert len(page.encode()) < 1_000_000, len(page.encode())  # 2.5 MB as HTML rows
    assert 'class="sortable paged"' in page and "<tbody></tbody>" in page
    # class k > 0 (id 64k) has k + 1 pixels in its own image and 2 in image k - 1's
    data = island(page, "distribution-table")
    pixels = dict(zip(island_column(data, 0), island_column(data, 2), strict=True))
    assert (pixels[64 * 5], pixels[64 * 9], pixels[1]) == (6 + 2, 10 + 2, 0)


# -- the worst case: 4,096 classes present (a scan's limit) scattered over 65,536 ids ------


def worst_case_images(path: Path, images: int = 100, seed: int = 7) -> dict[int, list[int]]:
    """A per-image file of ``images`` images over 4,096 ids scattered over 0..65535 (every
    16th), each image holding 41 ids of its own and 250 drawn at random, pixels at random:
    every table has 8,192 rows and the co-occurrence shares are all different. Returns each
    id's pixels per image, for the expected numbers."""
    rng = np.random.default_rng(seed)
    ids = np.arange(0, 65536, 16)
    held: dict[int, list[int]] = {int(c): [] for c in ids}
    lines = [json.dumps({"mfb_per_image": 1, "label_mapping": {}})]
    for k in range(images):
        chosen = np.union1d(ids[k::images], rng.choice(ids, 250, replace=False))
        pixels = rng.integers(1, 1_000_000, size=len(chosen))
        for c, n in zip(chosen.tolist(), pixels.tolist(), strict=True):
            held[c].append(n)
        lines.append(
            json.dumps({"image": f"{k}.png", "ids": chosen.tolist(), "pixels": pixels.tolist()})
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return held


def images_of(path: Path) -> list[tuple[list[int], list[int]]]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [(row["ids"], row["pixels"]) for row in map(json.loads, lines)]


#: The page's size for any input of one dataset (65,536 ids, up to 4,096 present).
MAX_PAGE_BYTES = 3_000_000


def test_the_worst_case_page_stays_under_3_mb_with_every_class(tmp_path):
    held = worst_case_images(tmp_path / "images.jsonl")
    page_path = tmp_path / "worst.html"
    result = run(
        "report", "--from", tmp_path / "images.jsonl", "--num-classes", 65536, "-o", page_path
    )
    assert result.exit_code == 0, result.stderr
    page = page_path.read_text(encoding="utf-8")
    assert len(page.encode()) <= MAX_PAGE_BYTES, len(page.encode())
    documented = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    row = "| 4,096 classes present (a scan's limit) scattered over 65,536 ids, 100 images |"
    assert f"{row} {len(page.encode()) / 1e6:.1f} MB |" in documented
    expected = {(c, c) for c in held} | {(c + 1, min(c + 15, 65535)) for c in held}
    for table in ("distribution-table", "weights-table", "sampling-table"):
        assert set(spans_of(page, table)) == expected, table  # every class and run
    # Pixels and images of every class, summed here from the file written above.
    data = island(page, "distribution-table")
    ids = island_column(data, 0)
    assert dict(zip(ids, island_column(data, 2), strict=True)) == {
        **{c: sum(n) for c, n in held.items()},
        **{c + 1: 0 for c in held},
    }
    assert dict(zip(ids, island_column(data, 4), strict=True)) == {
        **{c: len(n) for c, n in held.items()},
        **{c + 1: 0 for c in held},
    }
    total = sum(sum(n) for n in held.values())
    shares = dict(zip(ids, island_column(data, 3), strict=True))
    assert all(shares[c] == sum(n) / total for c, n in held.items())
    # Each weight column equals the library's weights of the same counts, exactly.
    accumulator = CountsAccumulator()
    for ids_of, pixels_of in images_of(tmp_path / "images.jsonl"):
        accumulator.add(np.array(ids_of, np.int64), np.array(pixels_of, np.int64))
    stats = class_stats(accumulator.result(), LabelSpec.of(65536))
    weights = island(page, "weights-table")
    for index, scheme in enumerate(SCHEMES, start=3):
        expected_weights = list(class_weights(stats, scheme, normalize="mean"))
        column = dict(zip(island_column(weights, 0), island_column(weights, index), strict=True))
        assert column == {c: expected_weights[c] for c in column}, scheme
    # The charts join at most 1,000 classes; the heat map keeps its 200 classes.
    assert "The lines join 1,000 of the 4,096 classes" in page
    assert "3896 classes with the fewest pixels are left out" in page
    # The summary and the warnings name a few ids and count the rest.
    assert "61,440: ids 1-15, 17-31, 33-47" in page
    assert re.search(r"ids [\d, -]+ \.\.\. and 61,\d{3} more", page)


# -- warnings suggest only options mfb report has ----------------------------------------


def report_flags() -> set[str]:
    from mfb_cli.cli.report import report

    return {opt for param in report.params for opt in param.opts if opt.startswith("--")}


#: 'mfb weights --beta 0.9999': an option of another command, named with that command.
QUALIFIED = re.compile(r"'mfb ([a-z]+) (--[a-z][a-z0-9-]*)")


def flags_in(text: str) -> set[str]:
    """The flags a text offers as options of the command that printed it: every flag but
    those named with another command ('mfb weights --beta'), each checked to be that
    command's option."""
    from mfb_cli.cli import cli

    for command, flag in QUALIFIED.findall(text):
        other = cli.get_command(click.Context(cli), command)
        assert other is not None and any(flag in p.opts for p in other.params), (command, flag)
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", QUALIFIED.sub("", text)))


def page_warnings(page: str) -> list[str]:
    found = re.search(r'<ul id="warnings">(.*?)</ul>', page, re.DOTALL)
    return [unescape(w) for w in re.findall(r"<li>(.*?)</li>", found[1])] if found else []


def test_report_warnings_suggest_only_report_options(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("report", "sample_masks", "--void", "11")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    # effective-number's saturated beta and rare-class's --min-pixels: report takes neither,
    # so they are named with the commands that do.
    assert any(
        "effective-number: 'mfb weights --beta 0.9999' gives" in w
        and "try 'mfb weights --beta 0.99999334'" in w
        for w in warnings
    )
    assert any("more than 'mfb sampling --min-pixels 3000' pixels" in w for w in warnings)
    assert not flags_in(result.stderr) - report_flags()
    assert page_warnings(result.stdout) == [w.removeprefix("warning: ") for w in warnings]
    # The same warnings in the commands that have the options name the options.
    weights = run("weights", "sample_masks", "--void", "11", "--scheme", "effective-number")
    assert "effective-number: --beta 0.9999 gives" in weights.stderr
    assert "try --beta 0.99999334" in weights.stderr
    sampled = run("sampling", "sample_masks", "--void", "11", "--scheme", "rare-class")
    assert "more than --min-pixels 3000 pixels" in sampled.stderr


@settings(max_examples=30, deadline=None)
@given(
    images=st.lists(
        st.dictionaries(
            st.sampled_from([0, 1, 2, 3, 5, 9, 255]), st.integers(1, 10**7), min_size=1
        ),
        min_size=1,
        max_size=8,
    ),
    options=st.lists(
        st.sampled_from(
            [("--void", "1"), ("--ignore", "255"), ("--num-classes", "12"), ("--normalize", "sum")]
        ),
        unique=True,
    ),
)
def test_no_report_warning_suggests_an_option_report_lacks(tmp_path_factory, images, options):
    path = tmp_path_factory.mktemp("w") / "images.jsonl"
    lines = [json.dumps({"mfb_per_image": 1, "label_mapping": {}})]
    for k, image in enumerate(images):
        ids = sorted(image)
        lines.append(
            json.dumps({"image": f"{k}.png", "ids": ids, "pixels": [image[i] for i in ids]})
        )
    path.write_text("\n".join(lines) + "\n")
    result = run("report", "--from", path, *(a for pair in options for a in pair))
    if result.exit_code != 0:  # a usage the data refuses (255 inside --num-classes 12...)
        assert result.exit_code in (1, 2) and "Traceback" not in result.output
        return
    shown = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    for text in [*shown, *page_warnings(result.stdout)]:
        assert not flags_in(text) - report_flags(), text


def test_geometry_of_a_16_bit_mask_holding_65535_keeps_the_page_small(tmp_path):
    """Per-class geometry for 65,536 classes: every row looked up once, not searched."""
    result = run("report", sixteen_bit_mask(tmp_path / "m"), "--geometry", "-q")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.encode()) < 100_000
    assert spans_of(result.stdout, "distribution-table") == SPANS_65535


def test_the_documented_page_sizes_are_current(tmp_path):
    """docs/report.md's size table and docs/reliability.md: the sample page, the 16-bit mask."""
    text = (ROOT / "docs" / "report.md").read_text(encoding="utf-8")
    sample = (ROOT / "docs" / "report-sample.html").stat().st_size
    assert f"| `sample_masks` (12 classes, 20 images) | {round(sample / 1000)} kB |" in text
    page = tmp_path / "wide.html"
    result = run("report", sixteen_bit_mask(tmp_path / "m"), "-o", page, "-q")
    assert result.exit_code == 0, result.stderr
    size = round(page.stat().st_size / 1000)
    assert f"holding 0, 1, 3, 7 and 65535 (65,536 classes) | {size} kB |" in text
    reliability = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert f"a 16-bit mask holding 65535 gives a page of {size} kB" in reliability
