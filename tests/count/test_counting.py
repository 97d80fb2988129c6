from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mfb_cli.count.counts import ClassCounts, CountsAccumulator
from mfb_cli.count.kernels import histogram_of_array
from mfb_cli.count.label_check import LabelCheck
from mfb_cli.count.scan import count_masks
from mfb_cli.errors import LabelRangeError
from mfb_cli.read.sources.find import find_label_files

from ..conftest import save_mask

A = [[0, 0], [0, 1]]
B = [[1, 2], [2, 2]]


def test_worked_example_counts(mask_dir):
    counts = count_masks(find_label_files([mask_dir([A, B])]), jobs=1)
    assert counts.ids.tolist() == [0, 1, 2]
    assert counts.pixels.tolist() == [3, 2, 3]
    assert counts.images.tolist() == [1, 2, 1]
    assert counts.cooc.tolist() == [[3, 1, 0], [3, 2, 3], [0, 1, 3]]
    assert counts.num_images == 2
    assert counts.total_pixels == 8


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "I"])
def test_every_mode_counts_the_same(tmp_path, mode):
    labels = [[0, 5, 5], [7, 7, 7]]
    path = save_mask(tmp_path / ("m.tif" if mode == "I" else "m.png"), labels, mode)
    counts = count_masks([path], jobs=1)
    assert counts.ids.tolist() == [0, 5, 7]
    assert counts.pixels.tolist() == [1, 2, 3]


def test_palette_masks_count_indices_not_colours(tmp_path):
    path = save_mask(tmp_path / "p.png", [[0, 5], [5, 5]], "P")
    assert count_masks([path], jobs=1).ids.tolist() == [0, 5]


def test_one_bit_masks_count_zero_and_one(tmp_path):
    path = save_mask(tmp_path / "b.png", [[0, 1], [1, 1]], "1")
    counts = count_masks([path], jobs=1)
    assert counts.ids.tolist() == [0, 1]
    assert counts.pixels.tolist() == [1, 3]


def test_sixteen_bit_values_are_not_folded(tmp_path):
    path = save_mask(tmp_path / "w.png", [[0, 256], [65535, 256]], "I;16")
    counts = count_masks([path], jobs=1)
    assert counts.ids.tolist() == [0, 256, 65535]
    assert counts.pixels.tolist() == [1, 2, 1]


def test_negative_and_wide_values_in_32_bit_images(tmp_path):
    path = save_mask(tmp_path / "n.tif", [[-1, 0], [3_000_000, -1]], "I")
    counts = count_masks([path], jobs=1)
    assert counts.ids.tolist() == [-1, 0, 3_000_000]
    assert counts.pixels.tolist() == [2, 1, 1]


def test_label_check_names_file_and_label(tmp_path):
    path = save_mask(tmp_path / "a.png", [[0, 19]])
    with pytest.raises(LabelRangeError, match=r"a\.png: label 19 >= num_classes=19"):
        count_masks([path], check=LabelCheck(19))
    count_masks([path], check=LabelCheck(19, frozenset({19})))  # ignored: accepted


def test_first_bad_file_in_order_is_reported_whatever_the_jobs(tmp_path):
    paths = [save_mask(tmp_path / f"{i:02d}.png", [[0, 1]]) for i in range(12)]
    save_mask(paths[5], [[0, 40]])
    save_mask(paths[9], [[0, 50]])
    for jobs in (1, 2, 4):
        with pytest.raises(LabelRangeError, match=r"05\.png: label 40"):
            count_masks(paths, jobs=jobs, check=LabelCheck(2))


def test_results_identical_for_any_number_of_jobs(tmp_path):
    rng = np.random.default_rng(0)
    paths = [
        save_mask(tmp_path / f"{i:02d}.png", rng.integers(0, 6, size=(5, 7)) * (i % 3 + 1))
        for i in range(25)
    ]
    single = count_masks(paths, jobs=1)
    assert count_masks(paths, jobs=2) == single
    assert count_masks(paths, jobs=7) == single


def test_progress_callback_sees_every_file(mask_dir):
    seen = []
    files = find_label_files([mask_dir([A, B])])
    count_masks(files, jobs=2, on_file=lambda path, pixels: seen.append((path.name, pixels)))
    assert seen == [("0000.png", 4), ("0001.png", 4)]


def _naive_counts(images: list[np.ndarray]) -> dict[str, object]:
    ids = sorted({int(v) for image in images for v in image.ravel()})
    pixels = {c: sum(int((im == c).sum()) for im in images) for c in ids}
    cooc = {
        (c, d): sum(int((im == d).sum()) for im in images if (im == c).any())
        for c in ids
        for d in ids
    }
    return {
        "ids": ids,
        "pixels": [pixels[c] for c in ids],
        "images": [sum(bool((im == c).any()) for im in images) for c in ids],
        "cooc": [[cooc[c, d] for d in ids] for c in ids],
    }


label_images = st.lists(
    arrays(np.int64, st.tuples(st.integers(1, 4), st.integers(1, 4)), elements=st.integers(-2, 6)),
    min_size=1,
    max_size=8,
)


@given(label_images, st.data())
@settings(max_examples=150, deadline=None)
def test_counts_add_up_over_any_split(images, data):
    def counts_of(part: list[np.ndarray]) -> ClassCounts:
        accumulator = CountsAccumulator()
        for image in part:
            accumulator.add(*histogram_of_array(image))
        return accumulator.result()

    whole = counts_of(images)
    naive = _naive_counts(images)
    assert whole.ids.tolist() == naive["ids"]
    assert whole.pixels.tolist() == naive["pixels"]
    assert whole.images.tolist() == naive["images"]
    assert whole.cooc.tolist() == naive["cooc"]
    assert whole.total_pixels == sum(image.size for image in images)

    cut = data.draw(st.integers(0, len(images)))
    shuffled = data.draw(st.permutations(images))
    assert counts_of(shuffled[:cut]) + counts_of(shuffled[cut:]) == whole
    per_image = sum(
        (ClassCounts.from_histogram(*histogram_of_array(im)) for im in images), ClassCounts.empty()
    )
    assert per_image == whole


def test_too_many_distinct_values_is_a_clear_error(tmp_path):
    # five files of 1000 distinct values each (the most one file may hold): 5000 in all
    paths = [
        save_mask(
            tmp_path / f"ids{k}.png", np.arange(1000 * k, 1000 * k + 1000).reshape(10, 100), "I;16"
        )
        for k in range(5)
    ]
    with pytest.raises(Exception, match=r"ids4\.png: more than 4096 distinct label values"):
        count_masks(paths, jobs=1)
