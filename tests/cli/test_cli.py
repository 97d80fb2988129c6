"""The command line contract: wiring, stdout/stderr, exit codes, files left untouched."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from mfb_cli import __version__

from ..conftest import naive_median_frequency, run, save_mask

SAMPLES = Path(__file__).resolve().parents[2] / "sample_masks"
A = [[0, 0], [0, 1]]
B = [[1, 2], [2, 2]]


def test_weights_worked_example_json(mask_dir):
    result = run("weights", mask_dir([A, B]), "--void", 2, "-q")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["weights"] == [float(Fraction(23, 30)), 1.4375, 0.0]
    assert record["num_classes"] == 3
    assert record["void"] == [2]
    assert record["ignore"] == []
    assert record["scheme"] == "median-frequency"
    assert record["images"] == 2
    assert record["pixel_counts"] == [3, 2, 3]
    assert record["image_counts"] == [1, 2, 1]
    assert record["presence_pixels"][:2] == [4, 5]
    assert record["frequencies"] == [0.75, 0.4, None]
    assert record["median_frequency"] == 0.575
    assert record["void_in_median"] is False
    assert record["mfb_version"] == __version__
    assert record["source"]["files"] == 2
    assert result.stdout.endswith("}\n")
    assert result.stderr == ""


def test_sample_masks_match_the_naive_definition():
    result = run("weights", SAMPLES, "--void", 11)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    images = [np.asarray(Image.open(p)) for p in sorted(SAMPLES.glob("*.png"))]
    expected = naive_median_frequency(images, 12, void=[11])
    assert record["weights"] == [float(w) for w in expected]
    assert record["images"] == 20
    assert record["weights"][11] == 0.0


def test_yaml_has_the_same_record(mask_dir):
    folder = mask_dir([A, B])
    as_json = json.loads(run("weights", folder, "-q").stdout)
    as_yaml = run("weights", folder, "-q", "-f", "yaml")
    assert as_yaml.exit_code == 0, as_yaml.stderr
    assert yaml.safe_load(as_yaml.stdout) == as_json


def test_output_file_holds_the_same_bytes_as_stdout(mask_dir, tmp_path):
    folder = mask_dir([A, B])
    out = tmp_path / "weights.json"
    result = run("weights", folder, "--ignore", 255, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text() == run("weights", folder, "--ignore", 255).stdout
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_absent_classes_are_warned_on_stderr_only(mask_dir):
    result = run("weights", mask_dir([[[0, 2]], [[2, 2]]]), "--num-classes", 4)
    assert result.exit_code == 0, result.stderr
    assert "warning: classes never seen, given weight 0: 1, 3" in result.stderr
    assert json.loads(result.stdout)["weights"][1] == 0.0


def test_void_in_median_flag(mask_dir):
    result = run("weights", mask_dir([A, B]), "--void", 2, "--void-in-median")
    assert json.loads(result.stdout)["weights"] == [1.0, 3.0, 0.0]


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda d: d.mkdir(), [], "no label files matching '*.png'"),
        (lambda d: save_mask(d / "a.png", [[0, 19]]), ["--num-classes", 19], "a.png: label 19"),
        (lambda d: save_mask(d / "c.png", [[[9, 0, 0]] * 2] * 2, "RGB"), [], "c.png: is a colour"),
        (lambda d: (d.mkdir(), (d / "t.png").write_text("hi")), [], "t.png: not an image file"),
        (lambda d: save_mask(d / "a.png", A), ["--ignore", 0], "--ignore 0 is inside"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, make, args, message):
    folder = tmp_path / "d"
    make(folder)
    out = tmp_path / "weights.json"
    out.write_text("precious")
    result = run("weights", folder, *args, "-o", out)
    assert result.exit_code == 1, result.stdout
    assert message in result.stderr
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert out.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "weights.json"]


def test_truncated_png_names_the_file(tmp_path):
    path = save_mask(tmp_path / "d" / "t.png", np.arange(4096).reshape(64, 64) % 7)
    path.write_bytes(path.read_bytes()[:-40])
    result = run("weights", tmp_path / "d")
    assert result.exit_code == 1
    assert "t.png: cannot decode" in result.stderr


def test_output_folder_must_exist_before_scanning(mask_dir, tmp_path):
    result = run("weights", mask_dir([A]), "-o", tmp_path / "missing" / "w.json")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_missing_path_is_named(tmp_path):
    result = run("weights", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert "nowhere: no such file or folder" in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    (tmp_path / "d").mkdir()
    result = run("--debug", "weights", tmp_path / "d")
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert "  File " in result.stderr
    assert "no label files matching" in result.stderr.splitlines()[-1]


def test_jobs_do_not_change_the_output(mask_dir):
    folder = mask_dir([np.arange(12).reshape(3, 4) % (i + 2) for i in range(9)])
    assert run("weights", folder, "-j", 1).stdout == run("weights", folder, "-j", 3).stdout


def test_module_entry_point_and_version():
    done = subprocess.run(
        [sys.executable, "-m", "mfb_cli", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"mfb, version {__version__}"


def test_names_are_recorded_beside_the_weights():
    result = run("weights", SAMPLES, "--void", 11, "--names", SAMPLES / "classes.txt")
    assert result.exit_code == 0, result.stderr
    names = json.loads(result.stdout)["names"]
    assert names[:3] == ["Sky", "Building", "Pole"]
    assert names[11] == "Unlabelled"


# Schemes, post-steps and formats on the command line. Mask C holds n = [6, 3, 1].
C = [[0, 0, 0, 0, 0], [0, 1, 1, 1, 2]]


def test_scheme_normalize_and_clip_are_recorded(mask_dir):
    folder = mask_dir([C])
    args = ["--scheme", "inverse-frequency", "--normalize", "mean", "--clip", 1.5, "-q"]
    result = run("weights", folder, *args)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    # [5/9, 10/9, 10/3] / mean 5/3 = [1/3, 2/3, 2], then capped at 1.5.
    assert record["weights"] == [1 / 3, 2 / 3, 1.5]
    assert record["scheme"] == "inverse-frequency"
    assert (record["normalize"], record["clip"], record["clipped"]) == ("mean", 1.5, [2])
    assert record["definitions"]["post_steps"] == "scheme, then --normalize, then --clip"
    assert record["frequencies"] == [0.6, 0.3, 0.1]


def test_normalize_pixels_on_the_command_line(mask_dir):
    # median-frequency [0.5, 1, 3], pixel shares [0.6, 0.3, 0.1]: sum 0.9 -> [5/9, 10/9, 10/3].
    result = run("weights", mask_dir([C]), "--normalize", "pixels", "-q")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["weights"] == [5 / 9, 10 / 9, 10 / 3]
    assert record["normalize"] == "pixels"
    mmseg = run("weights", mask_dir([C]), "--normalize", "pixels", "-q", "-f", "mmseg").stdout
    assert "(normalize pixels, clip none)" in mmseg
    assert "--normalize pixels made" in mmseg


def test_median_frequency_stays_the_default_with_natural_scale(mask_dir):
    record = json.loads(run("weights", mask_dir([C]), "-q").stdout)
    assert record["weights"] == [0.5, 1.0, 3.0]
    assert (record["scheme"], record["normalize"], record["clip"]) == (
        "median-frequency",
        "none",
        None,
    )
    assert record["warnings"] == []
    assert "decimals" not in record


def test_scheme_parameters_reach_the_scheme(mask_dir):
    folder = mask_dir([C])
    record = json.loads(run("weights", folder, "--scheme", "enet", "--enet-c", 1.1).stdout)
    assert record["enet_c"] == 1.1
    assert record["weights"][2] == pytest.approx(1 / np.log(1.2), rel=1e-14)
    record = json.loads(
        run("weights", folder, "--scheme", "effective-number", "--beta", 0.5).stdout
    )
    assert record["beta"] == 0.5
    assert record["weights"] == pytest.approx([96 / 131, 108 / 131, 189 / 131], rel=1e-14)


@pytest.mark.parametrize(
    "args",
    [
        ["--scheme", "enet", "--void-in-median"],
        ["--scheme", "enet", "--beta", 0.9],
        ["--scheme", "uniform", "--enet-c", 1.1],
    ],
)
def test_options_of_another_scheme_are_usage_errors(mask_dir, args):
    result = run("weights", mask_dir([C]), *args)
    assert result.exit_code == 2
    assert "applies only to --scheme" in result.stderr
    assert f"not {args[1]}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clip", 0], "--clip"),
        (["--scheme", "enet", "--enet-c", 1], "--enet-c"),
        (["--scheme", "effective-number", "--beta", 1], "--beta"),
        (["--decimals", -1], "--decimals"),
        (["--scheme", "magic"], "--scheme"),
    ],
)
def test_bad_option_values_are_usage_errors(mask_dir, args, message):
    result = run("weights", mask_dir([C]), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_effective_number_saturation_is_warned_on_stderr(mask_dir):
    # Saturated when (smallest count 1) * -ln(beta) > -ln(0.001): not for 0.3, yes for 0.0001.
    folder = mask_dir([C])
    quiet = run("weights", folder, "--scheme", "effective-number", "--beta", 0.3, "-q")
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == ""
    loud = run("weights", folder, "--scheme", "effective-number", "--beta", 0.0001, "-q")
    assert loud.exit_code == 0, loud.stderr
    assert "warning: effective-number: --beta 0.0001 gives" in loud.stderr
    record = json.loads(loud.stdout)
    assert record["warnings"] == [loud.stderr.strip().removeprefix("warning: ")]


def test_decimals_round_every_format(mask_dir):
    folder = mask_dir([C])
    result = run("weights", folder, "--scheme", "inverse-frequency", "--decimals", 2, "-q")
    record = json.loads(result.stdout)
    assert record["weights"] == [0.56, 1.11, 3.33]
    assert record["decimals"] == 2
    listed = run("weights", folder, "--scheme", "inverse-frequency", "--decimals", 2, "-f", "list")
    assert listed.stdout == "[0.56, 1.11, 3.33]\n"


@pytest.mark.parametrize("output_format", ["yaml", "csv", "list", "mmseg", "caffe"])
def test_formats_on_the_command_line_match_json(mask_dir, output_format):
    from ..show.test_formats import parse_weights

    folder = mask_dir([[[0, 0, 255], [1, 2, 3]]])
    args = ["--ignore", 255, "--void", 3, "--scheme", "enet", "--normalize", "mean", "-q"]
    expected = json.loads(run("weights", folder, *args).stdout)["weights"]
    result = run("weights", folder, *args, "-f", output_format)
    assert result.exit_code == 0, result.stderr
    assert parse_weights(output_format, result.stdout, 4) == expected


def test_help_lists_every_scheme_from_its_docstring():
    from mfb_cli.weigh.schemes import SCHEMES

    text = run("weights", "--help").stdout
    flowing = " ".join(text.split())  # the help wraps each line at the terminal's width
    for name, function in SCHEMES.items():
        first_line = function.__doc__.strip().splitlines()[0]
        assert re.search(rf"\n +{re.escape(name)}  +\S", text), name
        assert f"{name} {first_line}" in flowing, name


def test_check_offers_only_the_formats_that_fit_its_record():
    # The weight formats (csv, torch, ...) need a weights record; mfb check has none.
    assert run("check", SAMPLES, "-f", "torch").exit_code == 2
    result = run("check", SAMPLES, "--num-classes", 12, "-f", "yaml")
    assert result.exit_code == 0, result.stderr
    assert isinstance(yaml.safe_load(result.stdout), dict)


# Colour maps, remaps, list files and archives on the command line ----------------------


def test_colour_coded_masks_with_builtin_map_and_ignore(tmp_path):
    voc = {0: (0, 0, 0), 1: (128, 0, 0), 255: (224, 224, 192)}
    labels = [[0, 0, 1], [1, 255, 1]]
    rgb = np.array([[voc[v] for v in row] for row in labels], dtype=np.uint8)
    save_mask(tmp_path / "m" / "a.png", rgb, "RGB")
    result = run("weights", tmp_path / "m", "--colormap", "voc", "--ignore", 255, "-q")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    # VOC's class set (0-20) sets the length, whatever the file holds.
    assert record["pixel_counts"] == [2, 3] + [0] * 19
    assert record["ignored_pixels"] == {"255": 1}
    mapping = record["source"]["label_mapping"]
    assert mapping["colormap"]["name"] == "voc"
    assert "remap" not in mapping
    assert "label_mapping" not in json.loads(run("weights", SAMPLES, "-q").stdout)["source"]


def test_unknown_colour_fails_with_exit_1_naming_file_and_colour(tmp_path):
    rgb = np.full((2, 3, 3), 7, dtype=np.uint8)
    rgb[0] = 128  # Sky, id 0 in camvid11
    save_mask(tmp_path / "m" / "a.png", rgb, "RGB")
    result = run("weights", tmp_path / "m", "--colormap", "camvid11")
    assert result.exit_code == 1
    assert "a.png: 1 colour(s) not in the colour map: #070707 (3 pixels)" in result.stderr
    result = run(
        "weights",
        tmp_path / "m",
        "--colormap",
        "camvid11",
        "--unknown-color",
        "11",
        "--void",
        11,
        "-q",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pixel_counts"] == [3] + [0] * 10 + [3]


def test_remap_and_list_file_on_the_command_line(tmp_path):
    save_mask(tmp_path / "d" / "ann" / "x.png", [[7, 7], [26, 0]])
    save_mask(tmp_path / "d" / "ann" / "unlisted.png", [[7, 7], [7, 7]])
    (tmp_path / "d" / "val.txt").write_text("img/x.jpg ann/x.png\n")
    result = run(
        "weights",
        "--list",
        tmp_path / "d" / "val.txt",
        "--map",
        "cityscapes-trainid",
        "--ignore",
        255,
        "-q",
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["num_classes"] == 19  # Cityscapes' 19 trainIds, though 14-18 never occur
    assert record["pixel_counts"][0] == 2 and record["pixel_counts"][13] == 1
    assert record["ignored_pixels"] == {"255": 1}
    assert record["source"]["lists"] == [str(tmp_path / "d" / "val.txt")]
    assert record["source"]["files"] == 1
    assert record["source"]["label_mapping"]["remap"]["name"] == "cityscapes-trainid"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give PATH... to scan, or --from STATS.json (or --list FILE)"),
        ((SAMPLES, "--palette-index"), "--palette-index needs --colormap"),
        ((SAMPLES, "--by-color"), "--by-color was removed"),
        ((SAMPLES, "--colormap", "nope"), "neither a colour table file nor a built-in map"),
        ((SAMPLES, "--map", "nope"), "neither a remap file nor a built-in remap"),
        ((SAMPLES, "--unmapped", "x"), "'x' is neither 'error' nor an integer id"),
    ],
)
def test_mapping_usage_errors_exit_2(args, message):
    result = run("weights", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_help_states_the_mapping_order():
    flowing = " ".join(run("weights", "--help").stdout.split())
    assert "decode -> --colormap" in flowing
    assert "ids after both mappings" in flowing


def test_skip_bad_leaves_out_a_damaged_archive_member(tmp_path):
    import io
    import zipfile

    good = io.BytesIO()
    Image.fromarray(np.array([[0, 1], [1, 1]], dtype=np.uint8)).save(good, format="PNG")
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as archive:
        archive.writestr("a.png", good.getvalue())
        archive.writestr("b.png", b"\x89PNG broken")
    failed = run("weights", tmp_path / "set.zip", "-q")
    assert failed.exit_code == 1
    assert f"{tmp_path / 'set.zip'}:b.png: not an image file" in failed.stderr
    result = run("weights", tmp_path / "set.zip", "--skip-bad", "-q")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["pixel_counts"] == [1, 3]
    assert record["source"]["skipped_files"] == [f"{tmp_path / 'set.zip'}:b.png"]


def test_statistics_files_record_the_mapping_and_refuse_another(tmp_path):
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0] = (128, 0, 0)  # VOC class 1
    save_mask(tmp_path / "m" / "a.png", rgb, "RGB")
    stats = tmp_path / "s.json"
    scanned = run("scan", tmp_path / "m", "--colormap", "voc", "-o", stats, "-q")
    assert scanned.exit_code == 0, scanned.stderr
    assert json.loads(stats.read_text())["label_mapping"]["colormap"]["name"] == "voc"
    same = run("weights", "--from", stats, "--colormap", "voc")
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["pixel_counts"] == [2, 2] + [0] * 19  # VOC's 21 classes
    other = run("weights", "--from", stats, "--colormap", "camvid11")
    assert other.exit_code == 1
    assert "scanned with a different label mapping" in other.stderr


def test_a_forgotten_ignore_255_is_pointed_out(mask_dir):
    folder = mask_dir([[[0, 255], [3, 1]]])
    result = run("weights", folder, "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: label 255 is counted as class 255 of 256, far above the next label (3); "
        "if it marks pixels without a class, pass --ignore 255 (or --num-classes to keep it)",
        "warning: classes never seen, given weight 0: 2, 4-254",
    ]
    assert (
        run("weights", folder, "-q", "--ignore", 255).stderr
        == "warning: classes never seen, given weight 0: 2\n"
    )
    histogram = run("histogram", folder, "-f", "json")
    # What stderr says, the output says too (and the library's result).
    assert histogram.stderr.splitlines() == result.stderr.splitlines()
    assert json.loads(histogram.stdout)["warnings"] == [
        line.removeprefix("warning: ") for line in result.stderr.splitlines()
    ]
    assert json.loads(result.stdout)["warnings"] == json.loads(histogram.stdout)["warnings"]


@pytest.mark.parametrize(
    "command", ["weights", "histogram", "sampling", "priors", "check", "report"]
)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--num-classes", 12, "--ignore", 5], "--ignore 5 is inside the class range 0..11"),
        (["--num-classes", 2, "--void", 5], "--void 5 is outside the class range 0..1"),
        (["--void", 3, "--ignore", 3], "id 3 is given as both --void and --ignore"),
    ],
)
def test_contradictions_of_the_options_alone_are_usage_errors(tmp_path, command, args, message):
    """Decidable from the options alone: exit 2 before a file is read (the path is not even
    there), never exit 1 after a scan."""
    result = run(command, tmp_path / "not-there", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "not-there" not in result.stderr


def test_a_cityscapes_subset_is_told_its_inferred_length(mask_dir):
    """14 trainIds of 19 present, 255 ignored: the vector is 14 long, and mfb says so."""
    folder = mask_dir([[[*range(7), 255], [*range(7, 14), 255]]])
    result = run("weights", folder, "--ignore", 255)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert len(record["weights"]) == 14
    (warning,) = record["warnings"]
    assert warning.startswith("the class vector has 14 entries, 1 + the largest label (13)")
    assert "Cityscapes trainIds (19 classes)" in warning and "Pascal VOC (21 classes)" in warning
    assert "--num-classes 19 for Cityscapes trainIds" in warning
    assert result.stderr == f"warning: {warning}\n"
    fixed = run("weights", folder, "--ignore", 255, "--num-classes", 19)
    assert len(json.loads(fixed.stdout)["weights"]) == 19
    assert "class vector has" not in fixed.stderr
    # Not for a small dataset of its own (2 classes), nor for a class set's length.
    small = run("weights", mask_dir([[[0, 1, 255]]]), "--ignore", 255)
    assert "class vector has" not in small.stderr


def test_void_255_on_voc_like_data_points_at_ignore(mask_dir):
    folder = mask_dir([[[*range(21), 255]]])
    result = run("weights", folder, "--void", 255)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "warning: --void 255 makes a class vector of 256 entries, and label 255 lies far above "
        "the next label (20); if it marks pixels without a class (Pascal VOC's, Cityscapes' "
        "255), pass --ignore 255: an ignored value takes no output channel"
    )
    assert json.loads(result.stdout)["warnings"][0] == lines[0].removeprefix("warning: ")
    right = run("weights", folder, "--ignore", 255)
    assert "--void" not in right.stderr and len(json.loads(right.stdout)["weights"]) == 21


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--void", 11, "-o", "{tmp}/r.html"],
        ["sampling", "--void", 11, "--scheme", "rare-class"],
        ["priors", "--void", 11],
        ["histogram", "--void", 11],
        ["weights", "--void", 11, "--scheme", "effective-number"],
        ["weights", "--void", 11, "--ignore", 255],
    ],
)
def test_a_message_never_suggests_an_option_its_command_lacks(tmp_path, args):
    """Every flag a warning names is the running command's own, or is named with the
    command that has it ('mfb weights --beta 0.99')."""
    import re

    from mfb_cli.cli import cli

    samples = Path(__file__).resolve().parents[2] / "sample_masks"
    command, rest = args[0], [str(a).replace("{tmp}", str(tmp_path)) for a in args[1:]]
    result = run(command, samples, *rest)
    assert result.exit_code == 0, result.stderr
    own = {
        opt
        for param in cli.get_command(None, command).params  # type: ignore[arg-type]
        for opt in getattr(param, "opts", [])
    }
    unquoted = re.sub(r"'mfb [a-z]+ [^']*'", "", result.stderr)
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", unquoted))
    assert flags <= own, (command, flags - own)
    if command == "report":
        assert "'mfb weights --beta 0.9999'" in result.stderr  # effective-number saturates
