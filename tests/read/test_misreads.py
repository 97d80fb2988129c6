"""Never silently wrong: palettes, single-channel files with a colour map, grey RGB, photos;
and every warning reaches the output and the library's result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from mfb_cli import (
    ClassWeights,
    class_stats,
    compute_class_weights,
    count_masks,
    find_label_files,
    median_frequency,
)

from ..conftest import run, save_mask

SAMPLES = Path(__file__).resolve().parents[2] / "sample_masks"
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
TABLE = "id,r,g,b\n0,255,0,0\n1,0,255,0\n2,0,0,255\n3,255,255,255\n"


def save_palette(path: Path, indices: list[list[int]], colours: list[tuple[int, int, int]]):
    image = Image.fromarray(np.asarray(indices, dtype=np.uint8), "P")
    image.putpalette([v for colour in colours for v in colour] + [0] * (768 - 3 * len(colours)))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


@pytest.fixture
def mixed(tmp_path):
    """A colour-coded folder: one RGB file, two palette files with different palette orders."""
    folder = tmp_path / "m"
    save_mask(folder / "a.png", np.array([[RED, RED, GREEN]]), "RGB")  # 0: 2, 1: 1
    # Index 0 is blue here and white there: read by index, both would be class 0.
    save_palette(folder / "b.png", [[0, 0, 0, 1]], [BLUE, RED])  # 2: 3, 0: 1
    save_palette(folder / "c.png", [[0, 1, 1, 2]], [WHITE, GREEN, RED])  # 3: 1, 1: 2, 0: 1
    (tmp_path / "table.csv").write_text(TABLE)
    return folder


def test_palette_files_are_read_by_colour_with_a_colour_map(mixed):
    table = mixed.parent / "table.csv"
    result = run("weights", mixed, "--colormap", table, "-q")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["pixel_counts"] == [4, 3, 3, 1]
    assert record["image_counts"] == [3, 2, 1, 1]
    assert record["source"]["label_mapping"]["palette_index"] is False
    by_index = json.loads(run("weights", mixed, "--colormap", table, "--palette-index").stdout)
    # RGB file by colour, palette files by index: 0 -> 2 + 3 + 1, 1 -> 1 + 1 + 2, 2 -> 1.
    assert by_index["pixel_counts"] == [6, 4, 1, 0]


#: What a scan with a colour map says of mixed_modes' folder: two files it cannot apply to.
SINGLE_CHANNEL = (
    "2 of 3 files are single-channel (1 I;16, 1 L) and were read as label ids: "
    "--colormap applies only to RGB/RGBA and palette images"
)


def mixed_modes(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of an RGB, an 8-bit and a 16-bit mask, and a colour table."""
    folder = tmp_path / "m"
    save_mask(folder / "a.png", np.array([[RED, GREEN]]), "RGB")
    save_mask(folder / "b.png", [[0, 3]])
    save_mask(folder / "c.png", [[1, 300]], "I;16")
    (tmp_path / "t.csv").write_text(TABLE)
    return folder, tmp_path / "t.csv"


def test_single_channel_files_with_a_colour_map_are_named_in_a_warning(tmp_path):
    folder, table = mixed_modes(tmp_path)
    result = run("weights", folder, "--colormap", table, "--num-classes", 301, "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines().count(f"warning: {SINGLE_CHANNEL}") == 1
    assert SINGLE_CHANNEL in json.loads(result.stdout)["warnings"]


def test_check_gives_the_warnings_a_scan_gives(tmp_path):
    folder, table = mixed_modes(tmp_path)
    result = run("check", folder, "--colormap", table, "-f", "json", "-q")
    assert json.loads(result.stdout)["warnings"] == [SINGLE_CHANNEL]
    assert result.stderr == f"warning: {SINGLE_CHANNEL}\n"
    assert run("check", folder, "--colormap", table, "-q").stderr == f"warning: {SINGLE_CHANNEL}\n"
    clean = run("check", folder, "-f", "json", "-q")  # no colour map: nothing to warn about
    assert json.loads(clean.stdout)["warnings"] == [] and clean.stderr == ""


@pytest.mark.parametrize("decoder", ["pillow", "fast"])
def test_the_warning_names_how_files_were_stored_with_every_decoder(tmp_path, decoder):
    if decoder == "fast":
        pytest.importorskip("imagecodecs")
    folder = tmp_path / "m"
    for index in range(8):  # enough files for the fast decoder to be worth it
        save_mask(folder / f"{index}.png", [[0, 1]])
    save_mask(folder / "wide.png", [[1, 2]], "I;16")
    np.save(folder / "a.npy", np.array([[2, 3]], dtype=np.int16))
    (tmp_path / "t.csv").write_text(TABLE)
    args = ("--glob", "*.*", "--colormap", tmp_path / "t.csv", "--decoder", decoder, "-q")
    result = run("weights", folder, *args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "warning: 10 of 10 files are single-channel (1 .npy int16, 1 I;16, 8 L) and were read "
        "as label ids: --colormap applies only to RGB/RGBA and palette images\n"
    )


def test_grey_masks_stored_as_rgb_are_read_as_ids_with_a_warning(tmp_path):
    folder = tmp_path / "m"
    save_mask(folder / "a.png", np.repeat(np.array([[[0], [2], [2]]], dtype=np.uint8), 3, 2), "RGB")
    save_mask(folder / "b.png", [[1, 1, 2]])
    result = run("weights", folder, "-q")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["pixel_counts"] == [1, 2, 3]
    message = (
        "1 of 2 files are RGB with r = g = b in every pixel and were read as grey label ids (1 RGB)"
    )
    assert result.stderr == f"warning: {message}\n" and record["warnings"] == [message]


def test_a_photograph_is_called_a_photograph(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (64, 64, 3))
    photo = save_mask(tmp_path / "p" / "img.png", pixels, "RGB")
    result = run("weights", photo.parent, "-q")
    assert result.exit_code == 1
    assert "looks like a photograph, not a label mask" in result.stderr
    distinct = len({tuple(p) for p in pixels.reshape(-1, 3).tolist()})  # naive count
    assert f"with {distinct} distinct colours" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (tmp_path / "t.csv").write_text(TABLE)
    mapped = run("weights", photo.parent, "--colormap", tmp_path / "t.csv", "-q")
    assert mapped.exit_code == 1 and "looks like a photograph" in mapped.stderr
    assert "saved as JPEG" not in mapped.stderr


@pytest.mark.parametrize(("colours", "photograph"), [(1024, False), (1025, True)])
def test_a_photograph_has_more_than_1024_colours(tmp_path, colours, photograph):
    codes = np.arange(colours) * 977 % (1 << 24)  # distinct colours, spread over RGB
    rgb = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=-1).reshape(1, -1, 3)
    save_mask(tmp_path / "m" / "a.png", rgb, "RGB")
    result = run("weights", tmp_path / "m", "-q")
    assert result.exit_code == 1
    assert ("looks like a photograph" in result.stderr) is photograph
    assert ("looks colour-coded" in result.stderr) is not photograph


def test_a_few_unknown_colours_still_point_at_jpeg_or_resizing(tmp_path):
    save_mask(tmp_path / "m" / "a.png", np.array([[RED, (1, 2, 3)]]), "RGB")
    (tmp_path / "t.csv").write_text(TABLE)
    result = run("weights", tmp_path / "m", "--colormap", tmp_path / "t.csv", "-q")
    assert result.exit_code == 1 and "a mask saved as JPEG" in result.stderr


@pytest.fixture
def voc_like(mask_dir):
    return mask_dir([[[0, 0, 255], [1, 255, 1]], [[1, 3, 3], [0, 0, 255]]])


def test_the_library_returns_the_warnings_the_command_prints(voc_like):
    stats = class_stats(count_masks(find_label_files([voc_like])))
    result = median_frequency(stats)
    assert len(result.weights) == 256
    first = (
        "label 255 is counted as class 255 of 256, far above the next label (3); if it marks "
        "pixels without a class, pass {} (or {} to keep it)"
    )
    assert result.warnings == (
        first.format("ignore=[255]", "num_classes"),  # the library's names...
        "classes never seen, given weight 0: 2, 4-254",
    )
    command = run("weights", voc_like, "-q")
    printed = [first.format("--ignore 255", "--num-classes"), result.warnings[1]]  # ...flags
    assert command.stderr.splitlines() == [f"warning: {w}" for w in printed]
    assert json.loads(command.stdout)["warnings"] == printed
    assert compute_class_weights(voc_like).warnings == result.warnings


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_metadata_format_and_o_file_carries_the_warnings(tmp_path, voc_like, fmt):
    out = tmp_path / f"w.{fmt}"
    result = run("weights", voc_like, "-f", fmt, "-o", out)
    assert result.exit_code == 0, result.stderr
    record = yaml.safe_load(out.read_text())
    assert len(record["warnings"]) == 2 and "pass --ignore 255" in record["warnings"][0]
    histogram = run("histogram", voc_like, "-f", fmt)
    assert yaml.safe_load(histogram.stdout)["warnings"] == record["warnings"]


def test_skipped_files_and_scan_warnings_reach_statistics_files(tmp_path, mask_dir):
    folder = mask_dir([[[0, 1]], [[1, 1]]])
    (folder / "bad.png").write_text("not an image")
    stats = tmp_path / "stats.json"
    scanned = run("scan", folder, "--skip-bad", "-q", "-o", stats)
    assert scanned.exit_code == 0, scanned.stderr
    message = f"1 of 3 files skipped as bad (--skip-bad): {folder / 'bad.png'}"
    assert f"warning: {message}" in scanned.stderr
    assert json.loads(stats.read_text())["warnings"] == [message]
    again = run("weights", "--from", stats)
    assert json.loads(again.stdout)["warnings"] == [message]
    assert again.stderr == f"warning: {message}\n"
    direct = run("weights", folder, "--skip-bad", "-q")
    assert json.loads(direct.stdout)["warnings"] == [message]


def test_long_id_lists_are_cut_short(mask_dir):
    folder = mask_dir([[[2 * i for i in range(120)]]])
    result = compute_class_weights(folder)
    (warning,) = result.warnings
    # The odd ids 1..237 (119 of them) are never seen: the first 10 are named.
    assert (
        warning
        == "classes never seen, given weight 0: 1, 3, 5, 7, 9, 11, 13, 15, 17, 19 ... and 109 more"
    )


def test_np_asarray_gives_the_weight_vector():
    result = compute_class_weights(SAMPLES, void=[11])
    assert isinstance(result, ClassWeights)
    array = np.asarray(result)
    assert array.dtype == np.float32 and array.shape == (12,)  # the dtype of logits
    command = json.loads(run("weights", SAMPLES, "--void", 11, "-q").stdout)
    assert array.tolist() == np.asarray(command["weights"], dtype=np.float32).tolist()
    full = np.asarray(result, dtype=np.float64)
    assert full.tolist() == command["weights"] == list(result) == list(result.weights)
    assert len(result) == 12 and result[11] == 0.0 and result[-1] == 0.0
    assert result[:2] == tuple(command["weights"][:2])
    assert np.array(result, copy=True).tolist() == full.astype(np.float32).tolist()
    with pytest.raises(ValueError, match="is a copy"):
        np.asarray(result, copy=False)
    array[0] = 99.0  # a fresh, writable array each time: the result is unchanged
    assert np.asarray(result)[0] != 99.0
