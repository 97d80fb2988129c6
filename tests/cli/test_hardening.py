"""Bad input, each with its exit code and message; --skip-bad; errors inside worker threads."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from mfb_cli.count import scan
from mfb_cli.count.scan import count_masks
from mfb_cli.errors import BadMaskError, MfbError
from mfb_cli.read.decode.pillow import open_mask
from mfb_cli.read.sources.find import find_label_files

from ..conftest import run, save_mask
from ..pngbytes import png

GOOD = [[0, 0], [1, 2]]


def truncated(path):
    save_mask(path, np.arange(4096).reshape(64, 64) % 7)
    path.write_bytes(path.read_bytes()[:-40])


def jpeg(path):
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(path, format="JPEG")


BAD_FILES = {
    "truncated": (truncated, "bad.png: cannot decode"),
    "zero bytes": (lambda p: p.write_bytes(b""), "bad.png: empty file (0 bytes)"),
    "text": (lambda p: p.write_text("label: 3\n"), "bad.png: not an image file Pillow can read"),
    "jpeg": (jpeg, "bad.png: is a JPEG file: lossy compression"),
    "bomb": (
        lambda p: p.write_bytes(png(100_000, 100_000, rows=b"\0" * 10)),
        "bad.png: 100000x100000 = 10000000000 pixels exceeds the limit of 89478485",
    ),
}


@pytest.fixture(params=list(BAD_FILES))
def bad_folder(request, tmp_path):
    """A folder with a good a.png, one kind of bad.png and a good c.png; the expected message."""
    make, message = BAD_FILES[request.param]
    folder = tmp_path / "d"
    save_mask(folder / "a.png", GOOD)
    make(folder / "bad.png")
    save_mask(folder / "c.png", [[2, 2], [2, 1]])
    return folder, message


def test_a_bad_file_stops_the_run_with_its_name(tmp_path, bad_folder):
    folder, message = bad_folder
    out = tmp_path / "w.json"
    out.write_text("precious")
    result = run("weights", folder, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {folder}/{message}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert out.read_text() == "precious"


def test_skip_bad_leaves_the_file_out_and_records_it(bad_folder):
    folder, message = bad_folder
    result = run("weights", folder, "--skip-bad", "-j", 2)
    assert result.exit_code == 0, result.stderr
    assert f"skipped: {folder}/{message}" in result.stderr
    assert "1 of 3 files skipped as bad" in result.stderr
    record = json.loads(result.stdout)
    assert record["source"]["files"] == 2
    assert record["source"]["skip_bad"] is True
    assert record["source"]["skipped_files"] == [str(folder / "bad.png")]
    # the good files alone: a = {0: 2, 1: 1, 2: 1}, c = {1: 1, 2: 3}
    assert record["pixel_counts"] == [2, 2, 4]
    assert record["images"] == 2


def test_skip_bad_does_not_skip_labels_out_of_range(tmp_path):
    save_mask(tmp_path / "d" / "a.png", [[0, 19]])
    result = run("weights", tmp_path / "d", "--skip-bad", "--num-classes", 19)
    assert result.exit_code == 1
    assert "a.png: label 19 >= --num-classes 19" in result.stderr


def test_all_files_bad_with_skip_bad_is_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.png").write_bytes(b"")
    (tmp_path / "d" / "b.png").write_text("x")
    result = run("weights", tmp_path / "d", "--skip-bad")
    assert result.exit_code == 1
    assert "Error: all 2 label files were bad and skipped" in result.stderr


def test_library_skip_reports_each_bad_file_in_order(tmp_path):
    for name in "abcd":
        save_mask(tmp_path / f"{name}.png", [[ord(name) - 97]])
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "d.png").write_text("x")
    seen: list[str] = []
    counts = count_masks(
        find_label_files([tmp_path]),
        jobs=3,
        skip_bad=True,
        on_skip=lambda path, error: seen.append(f"{path.name}|{error.problem[:5]}"),
    )
    assert seen == ["b.png|empty", "d.png|not a"]
    assert counts.ids.tolist() == [0, 2]
    assert counts.num_images == 2


def test_palette_mask_without_plte_chunk_reads_its_indices(tmp_path):
    # Colour type 3 without PLTE breaks the PNG spec, but the indices (the labels) are
    # intact and mfb never uses the palette colours, so the file is counted as it is.
    rows = b"".join(b"\0" + bytes([0, 1, 1, 5]) for _ in range(2))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "p.png").write_bytes(png(4, 2, color_type=3, rows=rows))
    assert Image.open(tmp_path / "d" / "p.png").mode == "P"
    result = run("weights", tmp_path / "d", "--num-classes", 6)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pixel_counts"] == [2, 4, 0, 0, 0, 2]


def test_mixed_8_and_16_bit_files_count_together(tmp_path):
    save_mask(tmp_path / "d" / "a.png", [[0, 1], [1, 1]], "L")
    save_mask(tmp_path / "d" / "b.png", [[1, 300], [0, 0]], "I;16")
    assert Image.open(tmp_path / "d" / "b.png").mode.startswith("I;16")
    result = run("weights", tmp_path / "d", "--ignore", 300)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["pixel_counts"] == [3, 4]
    assert record["ignored_pixels"] == {"300": 1}
    # presence: a has 4 labelled pixels, b has 3 (300 ignored); both contain 0 and 1
    assert record["presence_pixels"] == [7, 7]


def test_symlink_loop_is_counted_once_and_ends(tmp_path):
    save_mask(tmp_path / "d" / "a.png", GOOD)
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    (tmp_path / "d" / "sub").mkdir()
    (tmp_path / "d" / "sub" / "up").symlink_to(tmp_path / "d")
    result = run("weights", tmp_path / "d")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["images"] == 1


def test_permission_denied_file(tmp_path, monkeypatch):
    # CI runs as root, which reads any file: simulate the refusal at the open() mfb makes.
    path = save_mask(tmp_path / "d" / "secret.png", GOOD)
    real_open = os.open

    def refuse(fp, *args, **kwargs):
        if str(fp) == str(path):
            raise PermissionError(13, "Permission denied", str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    result = run("weights", tmp_path / "d")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: permission denied\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_permission_denied_file_for_real(tmp_path):
    path = save_mask(tmp_path / "d" / "secret.png", GOOD)
    path.chmod(0)
    result = run("weights", tmp_path / "d")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {path}: permission denied\n"


def test_permission_denied_folder(tmp_path, monkeypatch):
    save_mask(tmp_path / "d" / "ok" / "a.png", GOOD)
    locked = tmp_path / "d" / "locked"
    save_mask(locked / "b.png", GOOD)
    real_scandir = os.scandir

    def refuse(path="."):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    result = run("weights", tmp_path / "d")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {locked}: cannot read folder (Permission denied)\n"


def test_unexpected_worker_error_names_the_file(tmp_path, monkeypatch):
    folder = tmp_path / "d"
    for index in range(8):
        save_mask(folder / f"{index}.png", GOOD)
    real_count = scan.count_file_noted

    def buggy(path, read, data=None, geometry=None):
        if path.name == "5.png":
            raise RuntimeError("decoder bug")
        return real_count(path, read, data, geometry)

    monkeypatch.setattr(scan, "count_file_noted", buggy)
    result = run("weights", folder, "-j", 3, "--skip-bad")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {folder}/5.png: unexpected RuntimeError while reading (decoder bug); "
        "please report it with the output of --debug\n"
    )
    with pytest.raises(MfbError, match=r"5\.png: unexpected RuntimeError") as caught:
        count_masks(find_label_files([folder]), jobs=3)
    assert isinstance(caught.value.__cause__, RuntimeError)
    debug = run("--debug", "weights", folder, "-j", 3)
    assert debug.exit_code == 1
    assert debug.stderr.startswith("Traceback (most recent call last):\n")
    assert "RuntimeError: decoder bug" in debug.stderr  # the cause, then mfb's error
    assert debug.stderr.splitlines()[-1].startswith("mfb_cli.errors.MfbError: ")
    assert "5.png: unexpected RuntimeError" in debug.stderr.splitlines()[-1]


def test_out_of_memory_is_not_a_bad_file(tmp_path, monkeypatch):
    path = save_mask(tmp_path / "a.png", GOOD)

    def no_memory(self):
        raise MemoryError

    monkeypatch.setattr(Image.Image, "load", no_memory)
    with pytest.raises(MfbError, match=r"a\.png: out of memory while decoding") as caught:
        open_mask(path)
    assert not isinstance(caught.value, BadMaskError)  # so --skip-bad never drops it
    assert str(caught.value) == f"{path}: out of memory while decoding; lower jobs or max_pixels"


def test_pillow_limit_in_library_use_is_named(tmp_path, monkeypatch):
    path = save_mask(tmp_path / "a.png", np.zeros((6, 6)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    with pytest.raises(BadMaskError, match=r"Pillow's limit PIL\.Image\.MAX_IMAGE_PIXELS"):
        open_mask(path, max_pixels=100)


@pytest.mark.parametrize("pixels", [15, 36])  # Pillow warns above 10, refuses above 20
def test_max_pixels_overrides_pillow_limit_without_warnings(tmp_path, monkeypatch, pixels):
    save_mask(tmp_path / "d" / "a.png", np.zeros((1, pixels)))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run("weights", tmp_path / "d", "--max-pixels", 100)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pixel_counts"] == [pixels]
    assert [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)] == []
    assert Image.MAX_IMAGE_PIXELS == 10  # restored after the run
    refused = run("weights", tmp_path / "d", "--max-pixels", pixels - 1)
    assert refused.exit_code == 1
    assert f"exceeds the limit of {pixels - 1}" in refused.stderr
