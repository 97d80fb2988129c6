"""mfb check: every kind of problem in one folder is reported, a clean folder exits 0."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mfb_cli.count.artefacts import blend_pixels
from mfb_cli.count.check import check_masks, inspect_file
from mfb_cli.read.labels.colormaps import load_colormap
from mfb_cli.read.labels.remap import load_remap
from mfb_cli.read.options import ReadOptions
from mfb_cli.read.sources.find import find_label_files

from ..conftest import run, save_mask

SAMPLES = Path(__file__).resolve().parents[2] / "sample_masks"
FIRST, SECOND = sorted(SAMPLES.glob("*.png"))[:2]


@pytest.fixture
def troubled(tmp_path) -> Path:
    """One file for each kind of finding."""
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(FIRST, d / "a.png")
    shutil.copy(FIRST, d / "a_copy.png")
    with Image.open(SECOND) as image:
        image.resize((360, 270), Image.Resampling.BILINEAR).save(d / "resized.png")
    (d / "empty.png").write_bytes(b"")
    (d / "notes.png").write_text("not a mask")
    save_mask(d / "single.png", [[3, 3], [3, 3]])
    save_mask(d / "range.png", [[0, 40], [255, 2]])
    save_mask(d / "wide.png", [[0, 400], [1, 2]], "I;16")
    save_mask(d / "colour.png", [[[255, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0]]], "RGB")
    return d


def test_every_problem_is_reported(troubled):
    result = run("check", troubled, "--num-classes", 12, "--ignore", 255, "-f", "json")
    assert result.exit_code == 1, result.stderr
    record = json.loads(result.stdout)
    d = str(troubled)
    assert record["clean"] is False
    assert record["problems"] == [
        "bad_files",
        "empty_files",
        "out_of_range",
        "suspected_artefacts",
        "duplicates",
    ]
    assert record["files"] == 9
    assert [b["path"] for b in record["bad_files"]] == [f"{d}/colour.png", f"{d}/notes.png"]
    assert record["bad_files"][0]["problem"].startswith("is a colour image (mode RGB)")
    assert record["empty_files"] == [f"{d}/empty.png"]
    assert record["out_of_range"] == [
        {"label": 40, "files": [f"{d}/range.png"]},
        {"label": 400, "files": [f"{d}/wide.png"]},
    ]
    assert [s["path"] for s in record["suspected_artefacts"]] == [f"{d}/resized.png"]
    assert record["duplicates"] == [[f"{d}/a.png", f"{d}/a_copy.png"]]
    assert record["single_class"] == [{"path": f"{d}/single.png", "label": 3}]
    assert record["modes"] == {"I;16": 1, "L": 5}
    assert record["sizes"] == {"2x2": 3, "480x360": 2, "360x270": 1}
    assert record["settings"]["num_classes"] == 12


def test_table_for_people_names_each_problem(troubled):
    result = run("check", troubled, "--num-classes", 12, "--ignore", 255)
    assert result.exit_code == 1
    for text in ["notes.png", "empty.png", "400", "resized.png", "a_copy.png", "single.png"]:
        assert text in result.stdout
    assert "problems: bad_files, empty_files" in result.stdout


def test_clean_samples_exit_0():
    result = run("check", SAMPLES, "--num-classes", 12, "-f", "json")
    assert result.exit_code == 0, result.stdout
    record = json.loads(result.stdout)
    assert record["clean"] is True
    assert record["problems"] == []
    assert record["modes"] == {"L": 20}
    table = run("check", SAMPLES, "--num-classes", 12)
    assert table.exit_code == 0
    assert "20 files checked: no problems found." in table.stdout


def test_skip_bad_lists_bad_files_without_failing(tmp_path):
    save_mask(tmp_path / "a.png", [[0, 1]])
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "c.png").write_text("x")
    assert run("check", tmp_path).exit_code == 1
    result = run("check", tmp_path, "--skip-bad", "-f", "json")
    assert result.exit_code == 0, result.stdout
    record = json.loads(result.stdout)
    assert record["empty_files"] == [str(tmp_path / "b.png")]
    assert len(record["bad_files"]) == 1


def test_two_empty_files_are_not_duplicates(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"")
    report = check_masks(find_label_files([tmp_path]))
    assert report.duplicates == []
    assert len(report.empty_files) == 2


def test_blend_pixels_by_hand():
    # A column of 3s between 2 and 5, as bilinear resizing leaves it: a 3 with neighbours 2
    # and 5 is a blend; a 5 beside a 3 and a 5 is not (it equals a neighbour).
    labels = np.array(
        [
            [2, 3, 5, 5],
            [2, 3, 5, 5],
            [2, 3, 5, 5],
        ]
    )
    blends, boundary = blend_pixels(labels)
    assert blends == 1  # only the interior pixel (1, 1) has two horizontal neighbours
    assert boundary == 9  # columns 0, 1, 2 touch a different value; column 3 does not
    assert blend_pixels(np.zeros((2, 8))) == (0, 0)


@pytest.mark.parametrize("source", [FIRST, SECOND])
def test_artefact_heuristic_on_real_looking_masks(tmp_path, source):
    clean = inspect_file(source)
    assert not clean.suspect
    with Image.open(source) as image:
        nearest = image.resize((360, 270), Image.Resampling.NEAREST)
        nearest.save(tmp_path / "nearest.png")
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=95)
        Image.open(buffer).save(tmp_path / "was_jpeg.png")
    assert not inspect_file(tmp_path / "nearest.png").suspect  # resizing the right way
    assert inspect_file(tmp_path / "was_jpeg.png").suspect


def test_check_reads_what_the_other_commands_read(tmp_path):
    """Colour maps, remaps, .npy files and archive members: the ids weights would count."""
    d = tmp_path / "d"
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[:2] = (128, 0, 0)  # VOC class 1; the rest black, VOC class 0
    save_mask(d / "colour.png", rgb, "RGB")
    stray = rgb.copy()
    stray[3, 3] = (1, 2, 3)  # a colour in no table
    save_mask(d / "stray.png", stray, "RGB")
    report = check_masks(find_label_files([d]), read=ReadOptions(colormap=load_colormap("voc")))
    assert report.bad_files == [
        (
            str(d / "stray.png"),
            "1 colour(s) not in the colour map: #010203 (1 pixels); a mask saved as JPEG or "
            "resized with interpolation has such colours; fix the table or pass "
            "unknown_color=<ID>",  # library terms; mfb check says --unknown-color ID
        )
    ]
    assert report.modes == {"RGB": 1}
    assert report.suspected_artefacts == []  # colour codes are not looked at as values
    assert report.warnings == ()
    save_mask(d / "grey.png", [[0, 1]])  # single-channel: read as ids, whatever the map
    greyed = check_masks(find_label_files([d]), read=ReadOptions(colormap=load_colormap("voc")))
    assert greyed.warnings == (
        "1 of 3 files are single-channel (1 L) and were read as label ids: colormap applies "
        "only to RGB/RGBA and palette images",
    )

    # After a remap the range check sees the new ids: reduce-zero-label makes 0 -> 255.
    npy = tmp_path / "n"
    npy.mkdir()
    np.save(npy / "a.npy", np.array([[0, 1], [2, 2]], dtype=np.int16))
    files = find_label_files([npy], glob="*.npy")
    assert check_masks(files, num_classes=2).out_of_range == {2: [str(npy / "a.npy")]}
    remapped = check_masks(
        files, num_classes=2, read=ReadOptions(remap=load_remap("reduce-zero-label"))
    )
    assert remapped.out_of_range == {255: [str(npy / "a.npy")]}
    assert remapped.modes == {"array int16": 1}

    # Archive members are read in place; their duplicates are found by content.
    archive = tmp_path / "masks.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIRST, "x/a.png")
        z.write(FIRST, "x/b.png")
    result = run("check", archive, "-f", "json")
    assert result.exit_code == 1, result.stderr
    record = json.loads(result.stdout)
    assert record["problems"] == ["duplicates"]
    assert record["duplicates"] == [[f"{archive}:x/a.png", f"{archive}:x/b.png"]]


def test_file_names_are_shown_as_they_are_not_as_markup(tmp_path):
    d = tmp_path / "[/x]"
    (d / "[bold]a.png").parent.mkdir(parents=True)
    (d / "[bold]a.png").write_text("not a mask")
    result = run("check", d)
    assert result.exit_code == 1, result.stderr
    assert "[bold]a.png" in result.stdout
    assert "Traceback" not in result.stderr


# Palettes, streaming digests, table width ----------------------------------------------


def save_palette_mask(path: Path, labels, colours: dict[int, tuple[int, int, int]]) -> Path:
    """A 'P' image whose palette gives index i the colour colours[i] (grey i elsewhere)."""
    image = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="L").convert("P")
    palette = [value for i in range(256) for value in colours.get(i, (i, i, i))]
    image.putpalette(palette)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def test_palettes_that_disagree_on_an_index_are_a_problem_whatever_the_options(tmp_path):
    d = tmp_path / "d"
    red, green, black = (255, 0, 0), (0, 255, 0), (0, 0, 0)
    a = save_palette_mask(d / "a.png", [[0, 1], [1, 1]], {0: black, 1: red})
    b = save_palette_mask(d / "b.png", [[1, 0], [0, 0]], {0: black, 1: green, 5: red})
    c = save_palette_mask(d / "c.png", [[0, 0], [1, 1]], {0: black, 1: red, 5: green})
    # Index 5 differs between b and c, but neither uses it: not compared.
    expected = [
        {
            "index": 1,
            "colours": [
                {"colour": "#ff0000", "files": [str(a), str(c)]},
                {"colour": "#00ff00", "files": [str(b)]},
            ],
        }
    ]
    table = tmp_path / "colours.csv"
    table.write_text("name,r,g,b\nbackground,0,0,0\ncar,255,0,0\ntree,0,255,0\n")
    for options in ([], ["--num-classes", "2"], ["--colormap", table]):
        result = run("check", d, "-f", "json", *options)
        assert result.exit_code == 1, result.stderr
        record = json.loads(result.stdout)
        assert record["problems"] == ["palette_conflicts"], options
        assert record["palette_conflicts"] == expected
    text = run("check", d).stdout
    assert "Palette indices that mean different colours in different files" in text
    # Files that agree are clean.
    shutil.rmtree(d)
    save_palette_mask(d / "a.png", [[0, 1]], {0: black, 1: red})
    save_palette_mask(d / "b.png", [[1, 1]], {0: green, 1: red})  # index 0 unused here
    assert run("check", d).exit_code == 0


def test_check_reads_a_header_before_the_file_and_hashes_by_streaming(tmp_path):
    import tracemalloc

    d = tmp_path / "d"
    d.mkdir()
    size = 256 << 20
    with (d / "sparse.png").open("wb") as stream:  # no disk space used: a sparse file
        stream.truncate(size)
    shutil.copy(FIRST, d / "a.png")
    tracemalloc.start()
    try:
        report = check_masks(find_label_files([d]), jobs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.bad_files == [
        (
            str(d / "sparse.png"),
            "not an image file Pillow can read (wrong extension, or damaged header)",
        )
    ]
    assert peak < 32 << 20  # the whole file would be 256 MiB
    import hashlib

    zeros = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        zeros.update(block)
    findings = inspect_file(d / "sparse.png")
    assert (findings.bytes, findings.sha256) == (size, zeros.hexdigest())


def test_check_tables_in_a_pipe_are_plain_and_100_columns_wide(tmp_path):
    d = tmp_path / ("long_folder_name_" * 8)
    save_mask(d / ("a_long_file_name_" * 5 + ".png"), [[3, 3], [3, 3]])
    (d / ("a_broken_file_" * 6 + ".png")).write_text("not a mask")
    result = run("check", d)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "\x1b" not in result.stdout
    assert all(line == line.rstrip() for line in lines)
    assert lines[-1] == "2 files checked; problems: bad_files."
