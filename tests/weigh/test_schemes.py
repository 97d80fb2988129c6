"""Every scheme on a tiny mask with hand-computed numbers, the post-steps, and invariances.

The mask holds n = [6, 3, 1] pixels of classes 0, 1, 2, two pixels of void class 3, and
--num-classes 5 leaves class 4 absent: N = 10, K = 3.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfb_cli.count.scan import count_masks
from mfb_cli.errors import MfbError, OptionError
from mfb_cli.read.sources.find import find_label_files
from mfb_cli.weigh.classes import ClassStats, class_stats
from mfb_cli.weigh.schemes import SCHEMES, effective_number, enet
from mfb_cli.weigh.spec import LabelSpec
from mfb_cli.weigh.weights import class_weights, clip_weights, normalize_weights

from ..conftest import save_mask

MASK = [[0, 0, 0, 0], [0, 0, 1, 1], [1, 2, 3, 3]]


@pytest.fixture
def stats(tmp_path) -> ClassStats:
    save_mask(tmp_path / "m" / "a.png", MASK)
    counts = count_masks(find_label_files([tmp_path / "m"]), jobs=1)
    return class_stats(counts, LabelSpec.of(num_classes=5, void=[3]))


def by_hand(*values: Fraction | float) -> tuple[float, ...]:
    """Weights of classes 0, 1, 2 as given, then void 3 and absent 4 at 0."""
    return (*(float(v) for v in values), 0.0, 0.0)


def test_the_fixture_counts(stats):
    assert stats.pixels.tolist() == [6, 3, 1, 2, 0]
    assert stats.labelled_pixels == 10


def test_median_frequency(stats):
    # One image: freq = n / 10 = [0.6, 0.3, 0.1], median 0.3.
    assert class_weights(stats).weights == by_hand(0.5, 1, 3)


def test_inverse_frequency(stats):
    # N / (K n) = 10 / 18, 10 / 9, 10 / 3.
    result = class_weights(stats, "inverse-frequency")
    assert result.weights == by_hand(Fraction(5, 9), Fraction(10, 9), Fraction(10, 3))
    assert result.frequencies == (0.6, 0.3, 0.1, None, None)
    assert result.counted == (0, 1, 2)
    assert result.parameters["counted_pixels"] == 10
    assert result.parameters["counted_classes"] == 3


def test_inverse_sqrt(stats):
    result = class_weights(stats, "inverse-sqrt")
    assert result.weights == by_hand(math.sqrt(10 / 6), math.sqrt(10 / 3), math.sqrt(10))


@pytest.mark.parametrize("c", [1.02, 1.1])
def test_enet(stats, c):
    # 1 / ln(c + n / N); the logarithm is a float step, hence approx.
    result = class_weights(stats, "enet", enet_c=c)
    expected = [1 / math.log(c + p) for p in (0.6, 0.3, 0.1)]
    assert result.weights[:3] == pytest.approx(expected, rel=1e-14)
    assert result.weights[3:] == (0.0, 0.0)
    assert all(1 / math.log(c + 1) < w < 1 / math.log(c) for w in result.weights[:3])
    assert result.parameters["enet_c"] == c


def test_enet_default_is_paszkes_constant(stats):
    assert class_weights(stats, "enet").weights[2] == pytest.approx(1 / math.log(1.12))


def test_effective_number(stats):
    # beta = 1/2: raw (1/2) / (1 - 2^-n) = 32/63, 4/7, 1; scaled to sum to K = 3:
    # 3 * (32, 36, 63) / 131.
    result = class_weights(stats, "effective-number", beta=0.5)
    expected = [Fraction(96, 131), Fraction(108, 131), Fraction(189, 131)]
    assert result.weights[:3] == pytest.approx([float(w) for w in expected], rel=1e-14)
    assert result.weights[3:] == (0.0, 0.0)
    assert math.fsum(result.weights) == pytest.approx(3, rel=1e-15)
    # Class 4 never occurs (3 is void): the class layout's warning, no saturation warning.
    assert result.warnings == ("classes never seen, given weight 0: 4",)


def test_uniform(stats):
    assert class_weights(stats, "uniform").weights == by_hand(1, 1, 1)


def test_every_scheme_gives_void_and_absent_zero(stats):
    for name in SCHEMES:
        result = class_weights(stats, name)
        assert result.scheme == name
        assert result.weights[3:] == (0.0, 0.0), name
        assert all(w > 0 for w in result.weights[:3]), name
        assert SCHEMES[name].__doc__, name


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        # inverse-frequency [5/9, 10/9, 30/9]: mean 5/3, sum 5, median 10/9.
        ("mean", (Fraction(1, 3), Fraction(2, 3), Fraction(2))),
        ("sum", (Fraction(1, 9), Fraction(2, 9), Fraction(6, 9))),
        ("median", (Fraction(1, 2), Fraction(1), Fraction(3))),
        ("none", (Fraction(5, 9), Fraction(10, 9), Fraction(10, 3))),
        # pixel shares [6, 3, 1] / 10: (6 * 5/9 + 3 * 10/9 + 1 * 10/3) / 10 = 1 already, as
        # for every inverse-frequency vector (n_c / N * N / (K n_c) summed over K classes).
        ("pixels", (Fraction(5, 9), Fraction(10, 9), Fraction(10, 3))),
    ],
)
def test_normalize_is_exact(stats, how, expected):
    result = class_weights(stats, "inverse-frequency", normalize=how)
    assert result.weights == by_hand(*expected)
    assert result.exact[:3] == expected
    assert result.parameters["normalize"] == how
    assert ("normalize" in result.definitions) == (how != "none")


def test_clip_comes_after_normalize(stats):
    result = class_weights(stats, "inverse-frequency", normalize="mean", clip=1.5)
    assert result.weights == by_hand(Fraction(1, 3), Fraction(2, 3), 1.5)
    assert result.parameters["clip"] == 1.5
    assert result.parameters["clipped"] == [2]
    assert result.definitions["post_steps"] == "scheme, then --normalize, then --clip"


def test_clip_without_normalize_caps_the_natural_scale(stats):
    result = class_weights(stats, clip=2.0)
    assert result.weights == by_hand(0.5, 1, 2)
    assert clip_weights(result).parameters["clipped"] == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: enet(s, enet_c=1.0), "^enet_c=1.0: must be > 1"),
        (lambda s: effective_number(s, beta=1.0), r"^beta=1.0: must be in \[0, 1\)"),
        (lambda s: effective_number(s, beta=-0.1), r"^beta=-0.1"),
        (lambda s: normalize_weights(class_weights(s), "max"), "unknown normalization 'max'"),
        (lambda s: class_weights(s, clip=0.0), "^clip=0.0: must be > 0"),
    ],
)
def test_bad_options(stats, call, message):
    with pytest.raises(OptionError, match=message):
        call(stats)


def test_normalize_pixels_needs_the_pixels(stats):
    # A ClassWeights built by hand without counted_pixels: an error, not a silent guess.
    bare = replace(class_weights(stats), counted_pixels=())
    with pytest.raises(MfbError, match=r"^normalize='pixels' needs the counted classes' pixels"):
        normalize_weights(bare, "pixels")
    assert normalize_weights(bare, "mean").parameters["normalize"] == "mean"


def stats_of(pixels, void=(), scale=1):
    """ClassStats of one image holding ``pixels[c]`` pixels of class c, each times ``scale``."""
    spec = LabelSpec.of(len(pixels), void)
    counts = np.asarray(pixels, dtype=np.int64) * scale
    labelled = int(sum(int(n) for c, n in enumerate(counts) if c not in set(void)))
    every = int(counts.sum())
    present = counts > 0
    return ClassStats(
        spec=spec,
        num_classes=len(pixels),
        pixels=counts,
        images=present.astype(np.int64),
        presence=np.where(present, labelled, 0).astype(np.int64),
        presence_with_void=np.where(present, every, 0).astype(np.int64),
        num_images=1,
        total_pixels=every,
        ignored_pixels={},
    )


def test_everything_void_is_an_error_in_every_scheme():
    for name in SCHEMES:
        with pytest.raises(MfbError, match="no labelled pixels"):
            class_weights(stats_of([0, 4], void=[1]), name)


def test_effective_number_warns_when_pixel_counts_saturate_beta():
    counts = [2_000_000, 500_000, 100_000]
    result = effective_number(stats_of(counts), beta=0.9999)
    # 0.9999 ** 100_000 = e^-10: every weight within 0.1% of uniform.
    assert max(result.weights) / min(result.weights) < 1.001
    (warning,) = result.warnings
    assert "beta^n_c < 0.001 for every class" in warning
    assert "counts differ up to 20x" in warning
    assert "try beta=0.99999800 (1 - 1 / 500000, the median count)" in warning
    better = effective_number(stats_of(counts), beta=0.999998)
    assert better.warnings == ()
    assert max(better.weights) / min(better.weights) > 2


def test_effective_number_warns_when_some_classes_saturate():
    # -ln(0.9999) * n > -ln(0.001) for n >= 69075: the three largest classes look alike.
    counts = [811_649, 618_263, 150_116, 3936, 40_329]
    result = effective_number(stats_of(counts), beta=0.9999)
    (warning,) = result.warnings
    assert "for 3 of 5 classes (counts >= 150116)" in warning
    assert "try beta=0.99999334 (1 - 1 / 150116, the median count)" in warning
    big = [result.weights[c] for c in (0, 1, 2)]
    assert max(big) / min(big) < 1.001
    assert effective_number(stats_of(counts), beta=0.9).warnings != ()
    assert effective_number(stats_of(counts), beta=0.999).warnings != ()
    assert effective_number(stats_of(counts), beta=0.99999).warnings == ()


def test_effective_number_with_beta_zero_is_uniform_and_says_so():
    result = effective_number(stats_of([5, 1]), beta=0.0)
    assert result.weights == (1.0, 1.0)
    assert len(result.warnings) == 1


def test_effective_number_depends_on_the_dataset_size():
    # Unlike the others it is not a function of n / N: doubling the counts changes it.
    once = effective_number(stats_of([6, 3, 1]), beta=0.5).weights
    assert effective_number(stats_of([6, 3, 1], scale=2), beta=0.5).weights != once


pixel_lists = st.lists(st.integers(0, 10**9), min_size=1, max_size=8)


@given(pixel_lists, st.sets(st.integers(0, 7), max_size=2), st.integers(2, 1000))
@settings(max_examples=150, deadline=None)
def test_scaling_every_count_leaves_ratio_schemes_unchanged(pixels, void, scale):
    """median-frequency, inverse-frequency, inverse-sqrt, enet and uniform depend only on
    ratios of counts (n_c / N, or pixels / presence), so multiplying every count by the same
    factor leaves their weights bit-for-bit unchanged, at their natural scale and after
    any --normalize."""
    void = {v for v in void if v < len(pixels)}
    if not any(n for c, n in enumerate(pixels) if c not in void):
        return
    for name in ("median-frequency", "inverse-frequency", "inverse-sqrt", "enet", "uniform"):
        for how in ("none", "mean"):
            once = class_weights(stats_of(pixels, void), name, normalize=how)
            scaled = class_weights(stats_of(pixels, void, scale), name, normalize=how)
            assert scaled.weights == once.weights, (name, how)


@given(pixel_lists, st.sets(st.integers(0, 7), max_size=2), st.sampled_from(sorted(SCHEMES)))
@settings(max_examples=150, deadline=None)
def test_weights_are_finite_and_normalize_is_exact(pixels, void, name):
    void = {v for v in void if v < len(pixels)}
    if not any(n for c, n in enumerate(pixels) if c not in void):
        return
    stats = stats_of(pixels, void)
    natural = class_weights(stats, name)
    assert all(math.isfinite(w) and w >= 0 for w in natural.weights)
    assert all((w > 0) == (c in natural.counted) for c, w in enumerate(natural.weights))
    mean = class_weights(stats, name, normalize="mean")
    assert sum(mean.exact[c] for c in mean.counted) == len(mean.counted)
    total = class_weights(stats, name, normalize="sum")
    assert sum(total.exact) == 1
    # pixels: the pixel-weighted mean weight, sum_c n_c w_c / N, is exactly 1.
    pixel = class_weights(stats, name, normalize="pixels")
    counted = [c for c, n in enumerate(pixels) if n and c not in void]
    assert sum(pixels[c] * pixel.exact[c] for c in counted) == sum(pixels[c] for c in counted)
    capped = class_weights(stats, name, normalize="mean", clip=1.25)
    assert max(capped.weights) <= 1.25
