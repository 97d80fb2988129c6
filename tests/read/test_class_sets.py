"""Vectors that fit the model: class sets of tables, SegNet's layout, no-effect options."""

from __future__ import annotations

import json
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfb_cli import (
    ClassCounts,
    LabelSpec,
    class_stats,
    class_weights,
    compute_class_weights,
    median_frequency,
)
from mfb_cli.class_set import ClassSet
from mfb_cli.read.labels.tables import CAMVID32, CITYSCAPES

from ..conftest import naive_median_frequency, run, save_mask

SAMPLES = Path(__file__).resolve().parents[2] / "sample_masks"
# trainId -> colour of the first labels.py row trained as that id.
TRAIN_COLOUR = {t: c for _, _, t, c in reversed(CITYSCAPES) if 0 <= t < 255}
LABEL_ID = {t: label for _, label, t, _ in reversed(CITYSCAPES) if 0 <= t < 255}
VOID_COLOUR = (0, 0, 0)  # "unlabeled": trainId 255


def weights_of(*args: object) -> dict:
    result = run("weights", "-q", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# A Cityscapes subset in which trainIds 14-18 (truck ... bicycle) never occur.
SUBSET = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 255]]


@pytest.fixture
def cityscapes_colour(tmp_path):
    rgb = [[TRAIN_COLOUR.get(t, VOID_COLOUR) for t in row] for row in SUBSET]
    save_mask(tmp_path / "c" / "a_color.png", np.array(rgb), "RGB")
    return tmp_path / "c"


@pytest.fixture
def cityscapes_label_ids(tmp_path):
    return save_mask(
        tmp_path / "l" / "a_labelIds.png", [[LABEL_ID.get(t, 0) for t in row] for row in SUBSET]
    ).parent


def test_cityscapes_colours_give_19_weights_on_a_subset(cityscapes_colour):
    result = run("weights", cityscapes_colour, "--colormap", "cityscapes", "--ignore", 255)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["num_classes"] == 19
    assert record["pixel_counts"] == [1] * 14 + [0] * 5
    assert record["weights"][14:] == [0.0] * 5 and record["absent"] == [14, 15, 16, 17, 18]
    assert "warning: classes never seen, given weight 0: 14-18\n" in result.stderr
    assert record["warnings"] == ["classes never seen, given weight 0: 14-18"]
    assert record["definitions"]["length"] == (
        "the class set of --colormap cityscapes: 1 + its largest id that is not ignored"
    )
    snippet = run(
        "weights", cityscapes_colour, "--colormap", "cityscapes", "--ignore", 255, "-f", "torch"
    ).stdout
    assert snippet.count(",  # ") == 19 and "# 18 bicycle" in snippet
    histogram = run(
        "histogram", cityscapes_colour, "--colormap", "cityscapes", "--ignore", 255, "-f", "json"
    )
    shown = json.loads(histogram.stdout)
    assert shown["num_classes"] == 19 and shown["absent"] == [14, 15, 16, 17, 18]
    assert shown["warnings"] == record["warnings"]
    assert "# warning: classes never seen, given weight 0: 14-18" in snippet


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([*range(19), 255]), min_size=1, max_size=30))
def test_a_class_set_fixes_the_length_whatever_subset_occurs(labels):
    counts = ClassCounts.from_histogram(*np.unique(labels, return_counts=True))
    class_set = ClassSet(tuple(range(19)), "--colormap cityscapes", (255,))
    stats = class_stats(counts, LabelSpec.of(ignore=[255], class_set=class_set))
    assert stats.num_classes == 19
    assert set(stats.absent) == set(range(19)) - set(labels)
    if set(labels) != {255}:
        weights = class_weights(stats).weights
        assert len(weights) == 19 and all(weights[c] == 0 for c in stats.absent)


def test_a_label_outside_the_class_set_names_the_file_or_says_how_files_were_read(tmp_path):
    grey = save_mask(tmp_path / "m" / "grey.png", [[7, 143]])
    args = ("--colormap", "cityscapes", "--ignore", 255, "-q")
    result = run("weights", tmp_path / "m", *args)
    assert result.exit_code == 1
    message = (
        "label 143 is outside the 19 classes (ids 0..18) of --colormap cityscapes; "
        "pass --ignore 143 (or --num-classes to make it a class)"
    )
    assert result.stderr == f"Error: {grey}: {message}\n"
    # From a statistics file no mask is read: the scan's warning says why instead.
    stats = tmp_path / "stats.json"
    assert run("scan", tmp_path / "m", "--colormap", "cityscapes", "-o", stats).exit_code == 0
    again = run("weights", "--from", stats, "--ignore", 255)
    assert again.exit_code == 1
    assert again.stderr.splitlines() == [
        "warning: 1 of 1 files are single-channel (1 L) and were read as label ids: "
        "--colormap applies only to RGB/RGBA and palette images",
        f"Error: {stats}: {message}",
    ]


def test_cityscapes_label_ids_remapped_give_19_weights(cityscapes_label_ids):
    record = weights_of(cityscapes_label_ids, "--map", "cityscapes-trainid", "--ignore", 255)
    assert record["num_classes"] == 19 and record["pixel_counts"] == [1] * 14 + [0] * 5


def test_the_ignore_value_of_a_builtin_set_is_named_when_forgotten(cityscapes_colour):
    result = run("weights", cityscapes_colour, "--colormap", "cityscapes", "-q")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {cityscapes_colour / 'a_color.png'}: label 255 marks pixels without a class "
        "in --colormap cityscapes; pass --ignore 255 (or --num-classes to make it a class)\n"
    )


def test_num_classes_still_overrides_and_labels_beyond_it_fail(cityscapes_colour):
    args = (cityscapes_colour, "--colormap", "cityscapes", "--ignore", 255)
    assert weights_of(*args, "--num-classes", 21)["num_classes"] == 21
    short = run("weights", *args, "--num-classes", 10, "-q")
    assert short.exit_code == 1 and "label 10 >= --num-classes 10" in short.stderr


def test_camvid32_keeps_its_last_class(tmp_path):
    colours = [c for _, c in CAMVID32]
    save_mask(tmp_path / "m" / "a.png", np.array([[colours[0], colours[30]]]), "RGB")
    record = weights_of(tmp_path / "m", "--colormap", "camvid32", "--void", 30)
    assert record["num_classes"] == 32 and record["pixel_counts"][31] == 0


def test_a_colour_table_file_defines_its_classes(tmp_path):
    table = tmp_path / "class_dict.csv"
    table.write_text("name,r,g,b\nsky,0,0,255\nroad,9,9,9\ncar,255,0,0\nbike,0,255,0\n")
    save_mask(tmp_path / "m" / "a.png", np.array([[[0, 0, 255], [9, 9, 9]]]), "RGB")
    record = weights_of(tmp_path / "m", "--colormap", table)
    assert record["num_classes"] == 4 and record["names"] == ["sky", "road", "car", "bike"]


def test_a_generic_shift_defines_no_class_set(tmp_path):
    # reduce-zero-label knows nothing of ADE20K's 150 classes: the data sets the length.
    save_mask(tmp_path / "m" / "a.png", [[0, 1, 3]])
    record = weights_of(tmp_path / "m", "--map", "reduce-zero-label", "--ignore", 255)
    assert record["num_classes"] == 3


def test_statistics_files_keep_the_class_set(tmp_path, cityscapes_colour):
    stats = tmp_path / "stats.json"
    scanned = run("scan", cityscapes_colour, "--colormap", "cityscapes", "-q", "-o", stats)
    assert scanned.exit_code == 0, scanned.stderr
    recorded = json.loads(stats.read_text())["label_mapping"]["class_set"]
    assert recorded == {
        "ids": list(range(19)),
        "not_classes": [255],
        "source": "--colormap cityscapes",
    }
    assert weights_of("--from", stats, "--ignore", 255)["num_classes"] == 19
    # A file written before class sets: the data sets the length, unless the map is given.
    old = json.loads(stats.read_text())
    del old["label_mapping"]["class_set"], old["source"]["label_mapping"]["class_set"]
    stats.write_text(json.dumps(old))
    assert weights_of("--from", stats, "--ignore", 255)["num_classes"] == 14
    again = weights_of("--from", stats, "--ignore", 255, "--colormap", "cityscapes")
    assert again["num_classes"] == 19


def test_files_with_and_without_a_recorded_class_set_merge(tmp_path, cityscapes_colour):
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    assert run("scan", cityscapes_colour, "--colormap", "cityscapes", "-o", new).exit_code == 0
    record = json.loads(new.read_text())
    del record["label_mapping"]["class_set"]
    # Files written before --palette-index recorded its opposite, by_color.
    del record["label_mapping"]["palette_index"]
    record["label_mapping"]["by_color"] = True
    old.write_text(json.dumps(record))
    merged = run("merge", new, old)
    assert merged.exit_code == 0, merged.stderr
    assert json.loads(merged.stdout)["pixels"] == [2] * 15
    record["label_mapping"]["by_color"] = False  # palette files were read by index then
    old.write_text(json.dumps(record))
    assert run("merge", new, old).exit_code == 1


# SegNet's layout, by hand. A = [[0 0 0 1] [1 3 3 3]], B = [[1 1 2 2] [2 2 3 3]]; 3 is void.
SEGNET_IMAGES = [[[0, 0, 0, 1], [1, 3, 3, 3]], [[1, 1, 2, 2], [2, 2, 3, 3]]]
# Void pixels labelled: freq 0 = 3/8, 1 = 4/16, 2 = 4/8, void 3 = 5/16; the median of the
# four is (5/16 + 3/8) / 2 = 11/32, so w = 11/32 / freq = [11/12, 11/8, 11/16].
SEGNET = [Fraction(11, 12), Fraction(11, 8), Fraction(11, 16)]


def test_segnet_vector_is_one_command(mask_dir):
    folder = mask_dir(SEGNET_IMAGES)
    record = weights_of(folder, "--ignore", 3, "--void-in-median")
    assert record["weights"] == [float(w) for w in SEGNET]
    assert record["presence_pixels"] == [8, 16, 8]
    assert record["median_frequency"] == float(Fraction(11, 32))
    # PyTorch-ENet keeps the channel: the same weights and a 0 for void.
    enet = weights_of(folder, "--void", 3, "--void-in-median")
    assert enet["weights"] == [*(float(w) for w in SEGNET), 0.0]
    # Without --void-in-median the void pixels are not labelled: freq 3/5, 4/11, 2/3.
    plain = weights_of(folder, "--ignore", 3)
    assert plain["weights"] == [1.0, float(Fraction(33, 20)), float(Fraction(9, 10))]
    caffe = run("weights", folder, "--ignore", 3, "--void-in-median", "-f", "caffe").stdout
    assert caffe.count("class_weighting:") == 3 and "ignore_label: 3" in caffe
    advice = run("weights", folder, "--void", 3, "-f", "caffe").stdout
    assert "--ignore 3 --void-in-median gives it" in advice


def test_segnet_vector_from_the_library(mask_dir):
    result = compute_class_weights(mask_dir(SEGNET_IMAGES), ignore=[3], void_in_median=True)
    assert result.exact == tuple(SEGNET)


@pytest.fixture
def stats_file(tmp_path):
    path = tmp_path / "stats.json"
    assert run("scan", SAMPLES, "-q", "-o", path).exit_code == 0
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("weights", SAMPLES, "--void-in-median"), "--void-in-median has no effect without"),
        (("weights", "{stats}", "--glob", "*.png"), "--glob has no effect with --from"),
        (("weights", "{stats}", "-j", 2), "--jobs has no effect with --from"),
        (("weights", "{stats}", "--decoder", "pillow"), "--decoder has no effect with --from"),
        (("weights", "{stats}", "--skip-bad"), "--skip-bad has no effect with --from"),
        (("weights", "{stats}", "--max-pixels", 9), "--max-pixels has no effect with --from"),
        (("histogram", "{stats}", "-j", 2), "--jobs has no effect with --from"),
        (("weights", SAMPLES, "--column", 2), "--column has no effect without --list"),
        (("weights", SAMPLES, "--root", SAMPLES), "--root has no effect without --list"),
        (("histogram", SAMPLES, "--log"), "--log/--linear has no effect without --plot"),
        # the switch is named whole: '--linear' alone was reported as '--log'
        (("histogram", SAMPLES, "--linear"), "--log/--linear has no effect without --plot"),
        (("weights", SAMPLES, "-f", "list", "--names", SAMPLES / "classes.txt"), "--names"),
        (("scan", SAMPLES, "--column", 1), "--column has no effect without --list"),
        (("check", SAMPLES, "--root", SAMPLES), "--root has no effect without --list"),
    ],
)
def test_options_without_effect_are_usage_errors(stats_file, args, message):
    args = tuple("--from" if a == "{stats}" else a for a in args)
    if "--from" in args:
        args = (*args[:2], stats_file, *args[2:])
    result = run(*args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr


def test_glob_with_only_a_list_is_a_usage_error(tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text(f"{SAMPLES / 'street_000.png'}\n")
    result = run("weights", "--list", listed, "--glob", "*.tif")
    message = "--glob has no effect without a folder or archive in PATH..."
    assert result.exit_code == 2 and message in result.stderr
    named = run("weights", SAMPLES / "street_000.png", "--glob", "*.tif")
    assert named.exit_code == 2 and message in named.stderr
    archive = tmp_path / "masks.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(SAMPLES / "street_000.png", "a/street_000.png")
    assert run("weights", archive, "--glob", "a/*.png", "-q").exit_code == 0


def test_the_same_options_at_their_defaults_are_fine(stats_file):
    assert run("weights", "--from", stats_file, "--void", 11, "--void-in-median").exit_code == 0
    assert run("weights", "--from", stats_file, "--glob", "*.png").exit_code == 2
    assert run("weights", "--from", stats_file).exit_code == 0


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 1, 2, 3, 4, 255]), min_size=1, max_size=12),
        min_size=1,
        max_size=5,
    ),
    st.sets(st.integers(0, 4), max_size=1),
)
def test_void_in_median_with_ignored_values_matches_the_naive_definition(images, void):
    arrays = [np.asarray([row]) for row in images]
    counts = ClassCounts.empty()
    for array in arrays:
        counts = counts + ClassCounts.from_histogram(*np.unique(array, return_counts=True))
    stats = class_stats(counts, LabelSpec.of(5, void, [255]))
    if not any(v not in (255, *void) for row in images for v in row):
        return  # nothing labelled: an error, tested elsewhere
    result = median_frequency(stats, void_in_median=True)
    expected = naive_median_frequency(arrays, 5, void, [255], void_in_median=True)
    assert result.exact == tuple(expected)
