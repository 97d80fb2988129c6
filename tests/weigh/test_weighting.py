from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mfb_cli.count.counts import CountsAccumulator
from mfb_cli.count.kernels import histogram_of_array
from mfb_cli.count.scan import count_masks
from mfb_cli.errors import LabelRangeError, MfbError, OptionError
from mfb_cli.read.sources.find import find_label_files
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.schemes import median_frequency
from mfb_cli.weigh.spec import LabelSpec
from mfb_cli.weigh.weights import class_weights

from ..conftest import naive_median_frequency, save_mask

A = [[0, 0], [0, 1]]
B = [[1, 2], [2, 2]]


def weights_of(folder, **spec):
    void_in_median = spec.pop("void_in_median", False)
    stats = class_stats(count_masks(find_label_files([folder]), jobs=1), LabelSpec.of(**spec))
    return stats, median_frequency(stats, void_in_median=void_in_median)


def test_worked_example_without_void(mask_dir):
    stats, result = weights_of(mask_dir([A, B]))
    assert stats.presence.tolist() == [4, 8, 4]
    assert result.frequencies == (0.75, 0.25, 0.75)
    assert result.weights == (1.0, 3.0, 1.0)


def test_worked_example_with_void_inside_the_vector(mask_dir):
    stats, result = weights_of(mask_dir([A, B]), void=[2])
    assert stats.presence.tolist()[:2] == [4, 5]
    assert result.frequencies == (0.75, 0.4, None)
    assert result.parameters["median_frequency"] == 0.575
    # 0.575 / 0.75 = 23/30 and 0.575 / 0.4 = 23/16, correctly rounded.
    assert result.weights == (float(Fraction(23, 30)), 1.4375, 0.0)
    assert result.counted == (0, 1)


def test_void_in_median_counts_void_pixels_and_joins_the_median(mask_dir):
    stats, result = weights_of(mask_dir([A, B]), void=[2], void_in_median=True)
    # presence with void = [4, 8, 4]; freq = [3/4, 1/4, 3/4]; median over all three = 3/4.
    assert stats.presence_with_void.tolist() == [4, 8, 4]
    assert result.weights == (1.0, 3.0, 0.0)
    assert result.frequencies == (0.75, 0.25, 0.75)


def test_ignore_value_outside_the_vector(mask_dir):
    images = [[[0, 255], [1, 1]], [[0, 0], [255, 255]]]
    stats, result = weights_of(mask_dir(images), ignore=[255])
    # pixels [3, 2]; presence 0: 3 + 2 = 5, presence 1: 3; freq [3/5, 2/3]; median 19/30.
    assert stats.num_classes == 2
    assert stats.pixels.tolist() == [3, 2]
    assert stats.ignored_pixels == {255: 3}
    assert stats.labelled_pixels == 5
    assert result.weights == (float(Fraction(19, 18)), 0.95)


def test_absent_class_keeps_its_place_with_weight_zero(mask_dir):
    stats, result = weights_of(mask_dir([[[0, 2]], [[2, 2]]]))
    # pixels [1, 0, 3]; freq 0 = 1/2, freq 2 = 3/4; median 5/8.
    assert stats.absent == (1,)
    assert result.weights == (1.25, 0.0, float(Fraction(5, 6)))
    assert result.frequencies == (0.5, None, 0.75)


def test_num_classes_pads_absent_classes_at_the_end(mask_dir):
    stats, result = weights_of(mask_dir([A, B]), num_classes=4)
    assert stats.absent == (3,)
    assert result.weights == (1.0, 3.0, 1.0, 0.0)


def test_sixteen_bit_ids_with_an_ignore_value(tmp_path):
    save_mask(tmp_path / "m" / "a.png", [[0, 300], [300, 65535]], "I;16")
    save_mask(tmp_path / "m" / "b.png", [[300, 300], [2, 65535]], "I;16")
    stats, result = weights_of(tmp_path / "m", ignore=[65535])
    # freq 0 = 1/3, freq 2 = 1/3, freq 300 = 4/6; median 1/3.
    assert stats.num_classes == 301
    assert len(stats.absent) == 298
    expected = [0.0] * 301
    expected[0], expected[2], expected[300] = 1.0, 1.0, 0.5
    assert list(result.weights) == expected


def test_palette_masks_use_indices(tmp_path):
    save_mask(tmp_path / "m" / "a.png", [[0, 5], [5, 5]], "P")
    save_mask(tmp_path / "m" / "b.png", [[3, 3], [0, 0]], "P")
    _, result = weights_of(tmp_path / "m")
    # freq 0 = 3/8, freq 3 = 1/2, freq 5 = 3/4; median 1/2.
    assert result.weights == (float(Fraction(4, 3)), 0.0, 0.0, 1.0, 0.0, float(Fraction(2, 3)))


def test_one_bit_masks(tmp_path):
    save_mask(tmp_path / "m" / "a.png", [[0, 1], [1, 1]], "1")
    _, result = weights_of(tmp_path / "m")
    assert result.weights == (2.0, float(Fraction(2, 3)))


def test_negative_no_data_value_ignored(tmp_path):
    save_mask(tmp_path / "m" / "a.tif", [[-1, 0], [1, 1]], "I")
    files = [tmp_path / "m" / "a.tif"]
    stats = class_stats(count_masks(files, jobs=1), LabelSpec.of(ignore=[-1]))
    assert median_frequency(stats).weights == (1.5, 0.75)
    with pytest.raises(LabelRangeError, match=r"label -1 is negative; pass ignore=\[-1\]"):
        class_stats(count_masks(files, jobs=1))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"num_classes": 3, "void": [3]},
            r"^void=\[3\] is outside the class range 0\.\.2 \(num_classes=3\)$",
        ),
        ({"num_classes": 3, "void": [5]}, r"^void=\[5\] is outside the class range 0\.\.2"),
        ({"ignore": [1]}, r"^ignore=\[1\] is inside the class range 0\.\.2: .* use void=\[1\] "),
        ({"void": [1], "ignore": [1]}, "^id 1 is given as both void and ignore$"),
        ({"num_classes": 2}, "label 2 >= num_classes=2"),
    ],
)
def test_contradictory_choices_are_refused(mask_dir, spec, message):
    counts = count_masks(find_label_files([mask_dir([A, B])]), jobs=1)
    with pytest.raises((OptionError, LabelRangeError), match=message):
        class_stats(counts, LabelSpec.of(**spec))


def test_void_beyond_the_data_extends_the_inferred_vector(mask_dir):
    stats, result = weights_of(mask_dir([A, B]), void=[4])
    assert stats.num_classes == 5
    assert result.weights == (1.0, 3.0, 1.0, 0.0, 0.0)


def test_everything_void_is_an_error(mask_dir):
    counts = count_masks(find_label_files([mask_dir([[[1, 1]]])]), jobs=1)
    with pytest.raises(MfbError, match="no labelled pixels"):
        median_frequency(class_stats(counts, LabelSpec.of(void=[1])))


def test_unknown_scheme(mask_dir):
    stats = class_stats(count_masks(find_label_files([mask_dir([A])]), jobs=1))
    with pytest.raises(MfbError, match="unknown scheme 'magic'"):
        class_weights(stats, "magic")


# Property tests: the library against the naive definition, and invariances.

datasets = st.lists(
    arrays(np.int64, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.integers(0, 6)),
    min_size=1,
    max_size=6,
)


def _stats(images, spec):
    accumulator = CountsAccumulator()
    for image in images:
        accumulator.add(*histogram_of_array(image))
    return class_stats(accumulator.result(), spec)


@given(datasets, st.sets(st.integers(0, 6), max_size=2), st.booleans())
@settings(max_examples=200, deadline=None)
def test_matches_the_naive_definition_exactly(images, void, void_in_median):
    num_classes = 7
    labelled = [c for im in images for c in im.ravel().tolist() if c not in void]
    spec = LabelSpec.of(num_classes, void)
    if not labelled:
        with pytest.raises(MfbError):
            median_frequency(_stats(images, spec), void_in_median=void_in_median)
        return
    result = median_frequency(_stats(images, spec), void_in_median=void_in_median)
    expected = naive_median_frequency(images, num_classes, void, (), void_in_median)
    assert result.weights == tuple(float(w) for w in expected)
    assert all(math.isfinite(w) and w >= 0 for w in result.weights)
    stats = _stats(images, spec)
    assert stats.labelled_pixels + stats.void_pixels == sum(im.size for im in images)


@given(datasets, st.sets(st.integers(0, 6), max_size=2))
@settings(max_examples=100, deadline=None)
def test_duplicating_the_dataset_leaves_weights_unchanged(images, void):
    spec = LabelSpec.of(7, void)
    if not any(c not in void for im in images for c in im.ravel().tolist()):
        return
    once = median_frequency(_stats(images, spec)).weights
    assert median_frequency(_stats(images + images, spec)).weights == once


@given(datasets)
@settings(max_examples=100, deadline=None)
def test_the_median_class_weighs_one_when_the_count_is_odd(images):
    result = median_frequency(_stats(images, LabelSpec.of(7)))
    if len(result.counted) % 2 == 1:
        assert 1.0 in result.weights


@pytest.mark.parametrize(
    ("images", "spec", "expected"),
    [
        ([[[0, 255], [20, 1]]], {}, 255),  # VOC without --ignore 255
        ([[[0, 255], [200, 1]]], {}, None),  # 200 is close enough to be a real class range
        ([[[0, 255], [20, 1]]], {"ignore": [255]}, None),
        ([[[0, 255], [20, 1]]], {"void": [255]}, None),
        ([[[0, 255], [20, 1]]], {"num_classes": 256}, None),  # the user says it is a class
        ([[[0, 254], [20, 1]]], {}, None),
    ],
)
def test_a_forgotten_ignore_value_is_suspected(mask_dir, images, spec, expected):
    from mfb_cli.weigh.classes import likely_ignore_value

    counts = count_masks(find_label_files([mask_dir(images)]), jobs=1)
    assert likely_ignore_value(class_stats(counts, LabelSpec.of(**spec))) == expected
