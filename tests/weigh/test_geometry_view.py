"""The class view of the geometry and its suggestions, worked out by hand on ten masks."""

from __future__ import annotations

import numpy as np
import pytest

from mfb_cli import LabelSpec, class_geometry, class_stats, count_masks
from mfb_cli.weigh.geometry import bin_quantile
from tests.conftest import save_mask

pytest.importorskip("cc3d")


def ten_masks(folder):
    """20x20 masks: rows 0-9 class 1; rows 10-11 class 3; a 5x8 block of class 2 (rows 12-16,
    columns 0-7) in masks 0-8 and one pixel of it at (19, 19) in mask 9; 0 elsewhere; void 4
    at (0, 0) of mask 9 and an ignored 255 at (19, 0) of mask 0."""
    paths = []
    for index in range(10):
        labels = np.zeros((20, 20), dtype=np.uint8)
        labels[0:10] = 1
        labels[10:12] = 3
        if index < 9:
            labels[12:17, 0:8] = 2
        else:
            labels[19, 19] = 2
            labels[0, 0] = 4
        if index == 0:
            labels[19, 0] = 255
        paths.append(save_mask(folder / f"{index}.png", labels))
    return paths


def test_class_geometry_and_suggestions_by_hand(tmp_path):
    counts = count_masks(ten_masks(tmp_path), geometry=8)
    stats = class_stats(counts, LabelSpec.of(void=[4], ignore=[255]))
    assert counts.geometry is not None
    shapes = class_geometry(counts.geometry, stats)
    # Pixels: class 2 has 9 * 40 + 1 = 361, class 3 400, class 1 1999, class 0 1238.
    assert [s.pixels for s in shapes.classes] == [1238, 1999, 361, 400, 1]
    assert [s.kind for s in shapes.classes] == ["class"] * 4 + ["void"]
    assert shapes.shape_of(255) is None  # an ignored value is no class
    # The rarest quarter of the 4 present classes: one, class 2 (void 4 never counts).
    assert shapes.rare == (2,)
    two = shapes.shape_of(2)
    assert two is not None
    assert (two.components, two.images, two.max_components) == (10, 10, 1)
    assert two.size_bins == (1, 0, 0, 0, 0, 9)  # 1 pixel; nine of 40 (32-63)
    assert two.median_size == (32, 63)  # the 5th smallest of 10
    assert (two.specks, two.speck_pixels) == (1, 1)
    assert two.speck_share == 1 / 361
    # Each block: its top row (below class 3), bottom row and right column touch other
    # values, the left column lies on the border: 8 + 8 + 3 = 19; the lone pixel: 1.
    assert two.boundary == 9 * 19 + 1
    assert two.median_extent(0) == (5, 5) and two.median_extent(1) == (8, 8)
    # min_pixels: 10 images, at most 1 may fall at or below it. Bins: one image of 1 pixel,
    # nine of 32-63: 2**5 - 1 = 31 leaves 9 with more; 63 would leave none.
    assert shapes.min_pixels is not None
    assert shapes.min_pixels.value == 31
    assert shapes.min_pixels.eligible == ((2, 10, 9),)
    assert "at least 90% of the images of each rare class (2)" in shapes.min_pixels.rule
    # The crop: the median component of class 2 is 5 rows by 8 columns.
    assert shapes.crop is not None
    assert shapes.crop.size == (5, 8)
    assert shapes.crop.medians == ((2, ((5, 5), (8, 8))),)
    assert shapes.axes == ("height", "width")


def test_histogram_shows_the_same_numbers(tmp_path):
    import json

    from tests.conftest import run

    ten_masks(tmp_path / "m")
    result = run(
        "histogram", tmp_path / "m", "--geometry", "--void", "4", "--ignore", "255", "-f", "json"
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    two = record["classes"][2]["geometry"]
    assert two["components"] == 10 and two["median_size"] == [32, 63]
    assert two["median_extent"] == {"height": [5, 5], "width": [8, 8]}
    assert two["boundary_share"] == 172 / 361
    assert record["void"][0]["geometry"]["components"] == 1
    assert "geometry" not in record["ignored"][0]
    suggestions = record["geometry"]["suggestions"]
    assert suggestions["min_pixels"]["value"] == 31
    assert suggestions["crop_size"]["size"] == {"height": 5, "width": 8}
    table = run("histogram", tmp_path / "m", "--geometry", "--void", "4", "--ignore", "255")
    assert "suggested DAFormer min_pixels: 31 (the largest 2**k - 1" in table.stdout
    assert "suggested crop size: 5 x 8 (height x width:" in table.stdout


@pytest.mark.parametrize(
    ("bins", "q", "expected"),
    [
        ([1, 0, 9], 0.5, 2),
        ([5, 5], 0.5, 0),  # the ceil(10 / 2) = 5th smallest is in bin 0
        ([5, 6], 0.5, 1),  # the 6th of 11
        ([0, 0, 0], 0.5, None),
        ([3], 0.0, 0),
    ],
)
def test_bin_quantile(bins, q, expected):
    from fractions import Fraction

    assert bin_quantile(bins, Fraction(q)) == expected
