"""mfb histogram: the numbers (via JSON/CSV/YAML), the table text, --from, the plot."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from ..conftest import run, save_mask

SAMPLES = Path(__file__).resolve().parents[2] / "sample_masks"
A = [[0, 0], [0, 1]]
B = [[1, 2], [2, 2]]
C = [[255, 0], [3, 3]]


def histogram_json(*args: object) -> dict:
    result = run("histogram", *args, "-q", "-f", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_worked_example_with_void(mask_dir):
    record = histogram_json(mask_dir([A, B]), "--void", 2)
    # pixels 0: 3, 1: 2, 2: 3 (void); labelled = 5 of 8; class 1 in both images.
    assert record["classes"] == [
        {
            "kind": "class",
            "id": 0,
            "name": None,
            "pixels": 3,
            "share_of_labelled": 0.6,
            "share_of_all": 0.375,
            "images": 1,
            "share_of_images": 0.5,
            "seen": True,
        },
        {
            "kind": "class",
            "id": 1,
            "name": None,
            "pixels": 2,
            "share_of_labelled": 0.4,
            "share_of_all": 0.25,
            "images": 2,
            "share_of_images": 1.0,
            "seen": True,
        },
    ]
    assert record["void"] == [
        {
            "kind": "void",
            "id": 2,
            "name": None,
            "pixels": 3,
            "share_of_labelled": None,
            "share_of_all": 0.375,
            "images": 1,
            "share_of_images": 0.5,
            "seen": True,
        }
    ]
    assert record["ignored"] == []
    assert record["images"] == 2
    assert record["total_pixels"] == 8
    assert record["labelled_pixels"] == 5
    assert record["labelled_share"] == 0.625
    assert record["void_pixels"] == 3
    assert record["imbalance_ratio"] == 1.5
    assert (record["largest"], record["smallest"]) == (0, 1)
    assert record["source"]["files"] == 2


def test_ignored_values_and_classes_never_seen(mask_dir):
    record = histogram_json(
        mask_dir([A, B, C]), "--ignore", 255, "--num-classes", 5, "--sort", "pixels"
    )
    # pixels 0: 4, 1: 2, 2: 3, 3: 2, 4: 0; 255: 1. Labelled 11 of 12. Ties by id.
    assert [(r["id"], r["pixels"], r["images"]) for r in record["classes"]] == [
        (0, 4, 2),
        (2, 3, 1),
        (1, 2, 2),
        (3, 2, 1),
        (4, 0, 0),
    ]
    assert [r["seen"] for r in record["classes"]] == [True, True, True, True, False]
    assert record["classes"][0]["share_of_labelled"] == 4 / 11
    assert record["classes"][0]["share_of_images"] == 2 / 3
    assert record["ignored"] == [
        {
            "kind": "ignored",
            "id": 255,
            "name": None,
            "pixels": 1,
            "share_of_labelled": None,
            "share_of_all": 1 / 12,
            "images": 1,
            "share_of_images": 1 / 3,
            "seen": True,
        }
    ]
    assert record["absent"] == [4]
    assert record["ignored_pixels"] == 1
    assert record["imbalance_ratio"] == 2.0
    assert (record["largest"], record["smallest"]) == (0, 1)
    assert record["sort"] == "pixels"


def test_csv_and_yaml_hold_the_same_numbers(mask_dir):
    folder = mask_dir([A, B, C])
    args = (folder, "--ignore", 255, "--void", 3, "--names")
    names = folder.parent / "names.json"
    names.write_text(json.dumps({"0": "sky", "1": "road, wet", "3": "void"}))
    record = histogram_json(*args, names)
    as_yaml = run("histogram", *args, names, "-q", "-f", "yaml")
    assert yaml.safe_load(as_yaml.stdout) == record
    as_csv = run("histogram", *args, names, "-q", "-f", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    lines = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    rows = [*record["classes"], *record["void"], *record["ignored"]]
    assert [line["kind"] for line in lines] == ["class", "class", "class", "void", "ignored"]
    assert lines[1]["name"] == "road, wet"
    for line, row in zip(lines, rows, strict=True):
        assert int(line["id"]) == row["id"]
        assert int(line["pixels"]) == row["pixels"]
        assert int(line["images"]) == row["images"]
        assert line["seen"] == ("true" if row["seen"] else "false")
        for key in ("share_of_labelled", "share_of_all", "share_of_images"):
            assert (float(line[key]) if line[key] else None) == row[key]


def test_table_shows_the_exact_counts_of_sample_masks(tmp_path):
    args = (SAMPLES, "--names", SAMPLES / "classes.txt", "--void", 11, "-q")
    result = run("histogram", *args)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    record = histogram_json(*args)
    for row in record["classes"]:
        line = next(line for line in text.splitlines() if f" {row['name']} " in line)
        assert f"{row['pixels']:,}" in line
        assert f"{100 * row['share_of_labelled']:.2f}%" in line
        assert f" {row['images']} " in line
        assert f"{100 * row['share_of_images']:.2f}%" in line
    void_line = next(line for line in text.splitlines() if "Unlabelled" in line)
    assert "[void]" in void_line
    assert "64,607" in void_line
    assert "20 images, 3,456,000 pixels; labelled 3,391,393 (98.13%), void 64,607" in text
    assert "imbalance ratio 238.7: largest class Road (3), smallest present SignSymbol (6)" in text
    assert "\x1b[" not in text
    assert all(line == line.rstrip() for line in text.splitlines())
    out = tmp_path / "table.txt"
    assert run("histogram", *args, "-o", out).stdout == ""
    assert out.read_text() == text


def test_table_flags_classes_never_seen_and_ignored_values(mask_dir):
    result = run("histogram", mask_dir([A, C]), "--ignore", 255, "--num-classes", 5, "-q")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "never seen" in next(line for line in lines if line.lstrip().startswith("2 "))
    assert "never seen" in next(line for line in lines if line.lstrip().startswith("4 "))
    assert "[ignored]" in next(line for line in lines if line.lstrip().startswith("255 "))
    assert "never seen: 2, 4" in result.stdout


# --- --from: the same bytes as a fresh scan ---------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--void", 2],
        ["--void", 2, "--void-in-median"],
        ["--ignore", 255],
        ["--ignore", 255, "--void", 3, "--num-classes", 6],
        ["--ignore", 255, "-f", "yaml", "--names", SAMPLES / "classes.txt"],
    ],
)
def test_weights_from_stats_equal_a_fresh_scan(mask_dir, tmp_path, options):
    folder = mask_dir([A, B, C, [[5, 5], [255, 1]]])
    stats = tmp_path / "stats.json"
    assert run("scan", folder, "-q", "-o", stats).exit_code == 0
    fresh = run("weights", folder, "-q", *options)
    again = run("weights", "--from", stats, *options)
    assert (again.exit_code, again.stdout, again.stderr) == (
        fresh.exit_code,
        fresh.stdout,
        fresh.stderr,
    )


@pytest.mark.parametrize("fmt", ["table", "json", "yaml", "csv"])
@pytest.mark.parametrize(
    "options",
    [
        ["--void", 11],
        ["--void", 11, "--sort", "pixels", "--names", SAMPLES / "classes.txt"],
        ["--num-classes", 12],
        ["--void", 0, "--void", 11],
    ],
)
def test_histogram_from_stats_equals_a_fresh_scan(tmp_path, fmt, options):
    stats = tmp_path / "stats.json"
    assert run("scan", SAMPLES, "-q", "-o", stats).exit_code == 0
    fresh = run("histogram", SAMPLES, "-q", "-f", fmt, *options)
    assert fresh.exit_code == 0, fresh.stderr
    again = run("histogram", "--from", stats, "-f", fmt, *options)
    assert again.stdout == fresh.stdout
    assert again.stderr == fresh.stderr


def test_from_with_a_label_out_of_range_names_the_stats_file(mask_dir, tmp_path):
    folder = mask_dir([A, B])
    stats = tmp_path / "stats.json"
    assert run("scan", folder, "-q", "-o", stats).exit_code == 0
    fresh = run("weights", folder, "--num-classes", 2)
    assert "0001.png: label 2 >= --num-classes 2" in fresh.stderr
    again = run("weights", "--from", stats, "--num-classes", 2)
    assert again.exit_code == 1
    assert f"Error: {stats}: label 2 >= --num-classes 2; pass --ignore 2" in again.stderr


@pytest.mark.parametrize("command", ["weights", "histogram"])
def test_paths_or_from_is_a_usage_error(mask_dir, tmp_path, command):
    neither = run(command)
    assert neither.exit_code == 2
    assert "give PATH... to scan, or --from STATS.json" in neither.stderr
    both = run(command, mask_dir([A]), "--from", tmp_path / "s.json")
    assert both.exit_code == 2
    assert "give PATH... or --from STATS.json, not both" in both.stderr


def test_scan_and_merge_need_their_arguments():
    assert run("scan").exit_code == 2
    assert run("merge").exit_code == 2


# --- --plot ----------------------------------------------------------------------------------


def test_plot_png_and_svg(mask_dir, tmp_path):
    folder = mask_dir([A, B, C])
    names = tmp_path / "names.txt"
    names.write_text("sky\nroad\ncar\nvoid\n")
    png, svg = tmp_path / "h.png", tmp_path / "h.svg"
    common = (folder, "--ignore", 255, "--void", 3, "--num-classes", 5, "--names", names, "-q")
    result = run("histogram", *common, "--plot", png, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total_pixels"] == 12
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size[0] >= 600
    assert run("histogram", *common, "--plot", svg, "--log").exit_code == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml")
    for label in ("sky", "road", "car", "void (void)", "255 (ignored)", "4 (never seen)"):
        assert label in text
    assert "log scale" in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_plot_svg_is_reproducible(mask_dir, tmp_path):
    folder = mask_dir([A, B])
    first, second = tmp_path / "1.svg", tmp_path / "2.svg"
    assert run("histogram", folder, "-q", "--plot", first).exit_code == 0
    assert run("histogram", folder, "-q", "--plot", second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_plot_without_matplotlib_says_what_to_install(mask_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "h.png"
    result = run("histogram", mask_dir([A, B]), "-q", "--plot", out)
    assert result.exit_code == 1
    assert result.stderr == "Error: --plot needs matplotlib: pip install 'mfb-cli[plot]'\n"
    assert not out.exists()
    assert result.stdout == ""


def test_plot_suffix_is_checked_before_scanning(mask_dir, tmp_path):
    result = run("histogram", mask_dir([A]), "--plot", tmp_path / "h.jpg")
    assert result.exit_code == 2
    assert "must end in .png or .svg" in result.stderr


def test_rows_sum_to_the_totals_on_random_data(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(4):
        save_mask(tmp_path / "m" / f"{i}.png", rng.choice([0, 1, 4, 9, 255], size=(5, 7)))
    record = histogram_json(tmp_path / "m", "--ignore", 255, "--void", 9)
    rows = [*record["classes"], *record["void"], *record["ignored"]]
    assert sum(r["pixels"] for r in rows) == record["total_pixels"] == 4 * 35
    assert sum(r["pixels"] for r in record["classes"]) == record["labelled_pixels"]
    assert sum(r["share_of_labelled"] for r in record["classes"]) == pytest.approx(1.0)
    arrays = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "m").glob("*.png"))]
    for row in rows:
        assert row["pixels"] == sum(int((a == row["id"]).sum()) for a in arrays)
        assert row["images"] == sum(bool((a == row["id"]).any()) for a in arrays)


def test_the_docs_show_the_real_table():
    page = (SAMPLES.parent / "docs" / "histogram.md").read_text()
    shown = page.split('```text title="output"\n', 1)[1].split("```", 1)[0]
    result = run("histogram", SAMPLES, "--names", SAMPLES / "classes.txt", "--void", 11, "-q")
    assert shown == result.stdout


@pytest.mark.parametrize(
    ("common", "flags", "log", "note"),
    [
        (101, [], True, True),  # imbalance 101:1 > 100:1: log scale, and the title says why
        (100, [], False, False),  # exactly 100:1 stays linear
        (101, ["--linear"], False, False),
        (2, ["--log"], True, False),  # asked for: no "imbalance" note in the title
    ],
)
def test_plot_log_scale_above_100_to_1_unless_given(mask_dir, tmp_path, common, flags, log, note):
    # One image: `common` pixels of class 0, one pixel of class 1.
    folder = mask_dir([[[0] * common + [1]]])
    svg = tmp_path / "h.svg"
    result = run("histogram", folder, "-q", "--plot", svg, *flags)
    assert result.exit_code == 0, result.stderr
    text = svg.read_text()
    assert ("pixels (log scale)" in text) is log
    assert (f"log scale: imbalance {common}:1 &gt; 100:1 (--linear for linear)" in text) is note
