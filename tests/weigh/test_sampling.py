"""Sampling schemes, their effect and the class priors, on hand-computed per-image counts."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfb_cli import (
    ClassCounts,
    ImageCounts,
    LabelSpec,
    OptionError,
    class_priors,
    class_stats,
    sample_images,
)


def _stats(images: list[ImageCounts], spec: LabelSpec):
    total = ClassCounts.empty()
    for one in images:
        total = total + ClassCounts.from_histogram(np.array(one.ids), np.array(one.pixels))
    return class_stats(total, spec)


# The 4-image set every hand computation below uses (255 marks pixels without a class):
#   A: 90 of class 0, 10 of 1;  B: 100 of 0;  C: 50 of 0, 50 of 2;  D: 60 of 1, 40 of 255.
# Labelled pixels: class 0 240, class 1 70, class 2 50 (360); images: 3, 2, 1 of N = 4.
FOUR = [
    ImageCounts("A", (0, 1), (90, 10)),
    ImageCounts("B", (0,), (100,)),
    ImageCounts("C", (0, 2), (50, 50)),
    ImageCounts("D", (1, 255), (60, 40)),
]
IGNORE = LabelSpec.of(ignore=[255])


def test_repeat_factor_ceil_by_hand():
    # t = 0.5: r(0) = max(1, sqrt(0.5/0.75)) = 1, r(1) = sqrt(0.5/0.5) = 1, r(2) = sqrt(2).
    result = sample_images(FOUR, _stats(FOUR, IGNORE), "repeat-factor", threshold=0.5)
    assert result.weights == (1.0, 1.0, 2.0, 1.0)  # ceil(sqrt 2) = 2 for C
    assert result.probabilities == pytest.approx((0.2, 0.2, 0.4, 0.2), abs=1e-15)
    effect = result.effect
    # Drawn labelled pixels per sample: (100 + 100 + 2*100 + 60) / 5 = 92.
    assert effect.sampled_pixel_share == pytest.approx((58 / 92, 14 / 92, 20 / 92), abs=1e-15)
    assert effect.sampled_image_share == pytest.approx((0.8, 0.4, 0.4), abs=1e-15)
    assert effect.pixel_share == pytest.approx((240 / 360, 70 / 360, 50 / 360), abs=1e-15)
    assert effect.image_share == (0.75, 0.5, 0.25)
    assert effect.draws == 5.0
    assert effect.distinct_images == 4.0
    assert result.classes == ((0, 1), (0,), (0, 2), (1,))  # 255 is not a class


def test_repeat_factor_stochastic_by_hand():
    result = sample_images(
        FOUR, _stats(FOUR, IGNORE), "repeat-factor", threshold=0.5, rounding="stochastic"
    )
    root2 = math.sqrt(2)
    assert result.weights == pytest.approx((1, 1, root2, 1), abs=1e-15)
    assert result.probabilities == pytest.approx(
        tuple(r / (3 + root2) for r in (1, 1, root2, 1)), abs=1e-15
    )
    assert result.effect.draws == pytest.approx(3 + root2, abs=1e-15)
    assert result.effect.distinct_images == 4.0  # every r >= 1: every image at least once


def test_repeat_factor_void_classes_never_raise_a_factor():
    # With class 1 void, D holds no counted class: r(D) = 1 (mmengine's default).
    # t = 1: r(0) = sqrt(4/3), r(2) = sqrt(4) = 2.
    spec = LabelSpec.of(void=[1], ignore=[255])
    result = sample_images(FOUR, _stats(FOUR, spec), "repeat-factor", threshold=1.0)
    assert result.weights == (2.0, 2.0, 2.0, 1.0)
    assert result.classes == ((0,), (0,), (0, 2), ())


def test_weighted_by_hand():
    # w(I) = max over its classes of N / images(c): 4/3 (class 0), 2 (class 1), 4 (class 2).
    result = sample_images(FOUR, _stats(FOUR, IGNORE), "weighted")
    assert result.weights == pytest.approx((2, 4 / 3, 4, 2), abs=1e-15)
    assert result.probabilities == pytest.approx((3 / 14, 1 / 7, 3 / 7, 3 / 14), abs=1e-15)
    p = (3 / 14, 1 / 7, 3 / 7, 3 / 14)
    assert result.effect.draws == 4
    assert result.effect.distinct_images == pytest.approx(sum(1 - (1 - q) ** 4 for q in p))
    drawn = [100, 100, 100, 60]  # labelled pixels per image
    total = sum(q * n for q, n in zip(p, drawn, strict=True))
    assert result.effect.sampled_pixel_share[2] == pytest.approx(p[2] * 50 / total)
    assert result.effect.sampled_image_share == pytest.approx(
        (11 / 14, 3 / 7, 3 / 7)
    )  # A+B+C, A+D, C


def _exact_effect(weights: list[Fraction], images: list[ImageCounts], classes: int):
    """The effect by its definition, in fractions: (probabilities, pixel and image shares)."""
    total = sum(weights, Fraction(0))
    p = [w / total for w in weights]
    drawn_pixels = [Fraction(0)] * classes
    drawn_images = [Fraction(0)] * classes
    for chance, one in zip(p, images, strict=True):
        for label, n in zip(one.ids, one.pixels, strict=True):
            if label < classes:
                drawn_pixels[label] += chance * n
                drawn_images[label] += chance
    labelled = sum(drawn_pixels, Fraction(0))
    return (
        tuple(float(q) for q in p),
        tuple(float(d / labelled) for d in drawn_pixels),
        tuple(float(d) for d in drawn_images),
    )


@pytest.mark.parametrize(
    ("scheme", "weights"),
    [
        ("weighted", [Fraction(2), Fraction(4, 3), Fraction(4), Fraction(2)]),
        ("repeat-factor", [Fraction(1), Fraction(1), Fraction(2), Fraction(1)]),
    ],
)
def test_probabilities_and_shares_are_the_exact_fractions_rounded_once(scheme, weights):
    result = sample_images(FOUR, _stats(FOUR, IGNORE), scheme, threshold=0.5)
    probabilities, pixel_share, image_share = _exact_effect(weights, FOUR, 3)
    assert result.probabilities == probabilities  # 3/14, 1/7, 3/7, 3/14 for weighted
    assert result.effect.sampled_pixel_share == pixel_share
    assert result.effect.sampled_image_share == image_share
    assert result.weights == tuple(float(w) for w in weights)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(1, 50), min_size=1, max_size=4),  # pixels of classes 1, 2, ...
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["weighted", "repeat-factor", "rare-class"]),
)
def test_a_class_in_every_image_is_drawn_with_chance_exactly_one(raw, scheme):
    images = [
        ImageCounts(str(i), tuple(range(len(row) + 1)), (7, *row)) for i, row in enumerate(raw)
    ]
    stats = _stats(images, LabelSpec())
    result = sample_images(
        images, stats, scheme, threshold=0.9, rounding="stochastic", min_pixels=0
    )
    assert result.effect.sampled_image_share[0] == 1.0
    assert all(0.0 <= p <= 1.0 for p in result.probabilities)
    assert all(0.0 <= share <= 1.0 for share in result.effect.sampled_image_share)
    if scheme != "rare-class":
        # Repeat factors are floats (a square root), exact as binary fractions; the weighted
        # scheme's are the ratios N / images(c), by definition.
        holding = [sum(1 for one in images if c in one.ids) for c in range(stats.num_classes)]
        weights = (
            [max(Fraction(len(images), holding[c]) for c in one.ids) for one in images]
            if scheme == "weighted"
            else [Fraction(w) for w in result.weights]
        )
        exact = _exact_effect(weights, images, stats.num_classes)
        assert (result.effect.sampled_pixel_share, result.effect.sampled_image_share) == exact[1:]


def test_weighted_images_without_a_counted_class_are_never_drawn():
    spec = LabelSpec.of(void=[1], ignore=[255])
    result = sample_images(FOUR, _stats(FOUR, spec), "weighted")
    assert result.weights[3] == 0.0
    assert any("1 images contain no counted class" in w for w in result.warnings)


def _softmax(logits: list[float]) -> list[float]:
    exps = [math.exp(x) for x in logits]
    return [e / sum(exps) for e in exps]


def test_rare_class_by_hand_all_classes_eligible():
    # T = 1, min_pixels 0: P(c) = softmax(1 - f_c), f = 240/360, 70/360, 50/360.
    result = sample_images(FOUR, _stats(FOUR, IGNORE), "rare-class", temperature=1.0, min_pixels=0)
    p0, p1, p2 = _softmax([1 - 240 / 360, 1 - 70 / 360, 1 - 50 / 360])
    # DAFormer's order: fewest pixels first.
    assert list(result.class_probabilities) == [2, 1, 0]
    assert result.class_probabilities[0] == pytest.approx(p0, abs=1e-15)
    assert result.class_probabilities[2] == pytest.approx(p2, abs=1e-15)
    # Then an image uniformly among the holders: class 0 in A, B, C; 1 in A, D; 2 in C.
    expected = (p0 / 3 + p1 / 2, p0 / 3, p0 / 3 + p2, p1 / 2)
    assert result.probabilities == pytest.approx(expected, abs=1e-15)
    assert result.weights == result.probabilities


def test_rare_class_min_pixels_is_strict_and_empty_classes_are_dropped():
    # min_pixels 50 (DAFormer: pixels > min_pixels): class 0 only A (90) and B (100), class
    # 1 only D (60), class 2 none (C has exactly 50): dropped, P renormalised over 0 and 1.
    result = sample_images(FOUR, _stats(FOUR, IGNORE), "rare-class", temperature=1.0, min_pixels=50)
    e0, e1 = math.exp(1 - 240 / 360), math.exp(1 - 70 / 360)
    p0, p1 = e0 / (e0 + e1), e1 / (e0 + e1)
    assert result.probabilities == pytest.approx((p0 / 2, p0 / 2, 0.0, p1), abs=1e-15)
    assert result.class_probabilities[2] == 0.0
    assert any("classes 2 have no image with more than" in w for w in result.warnings)


def test_rare_class_refuses_when_no_class_has_an_image():
    with pytest.raises(OptionError, match="min_pixels=3000"):
        sample_images(FOUR, _stats(FOUR, IGNORE), "rare-class")


def test_unknown_scheme_and_bad_parameters_are_option_errors():
    stats = _stats(FOUR, IGNORE)
    with pytest.raises(OptionError, match="unknown sampling scheme"):
        sample_images(FOUR, stats, "uniform")
    with pytest.raises(OptionError, match="threshold="):
        sample_images(FOUR, stats, "repeat-factor", threshold=0.0)
    with pytest.raises(OptionError, match="rounding"):
        sample_images(FOUR, stats, "repeat-factor", rounding="floor")


def test_priors_by_hand_with_absent_and_void_classes():
    priors = class_priors(_stats(FOUR, LabelSpec.of(num_classes=4, ignore=[255])))
    assert priors.prior == (240 / 360, 70 / 360, 50 / 360, 0.0)
    assert priors.floor == 0.5 / 360
    assert priors.log_prior[:3] == tuple(math.log(n / 360) for n in (240, 70, 50))
    assert priors.log_prior[3] == math.log(0.5 / 360)  # absent: floored, never -inf
    assert priors.floored == (3,)
    assert any("not -inf: 3" in w for w in priors.warnings)
    assert not any(w.startswith("classes never seen, given weight") for w in priors.warnings)

    voided = class_priors(_stats(FOUR, LabelSpec.of(void=[1], ignore=[255])))
    assert voided.prior == (240 / 290, 0.0, 50 / 290)  # void pixels are not labelled
    assert voided.log_prior[1] == math.log(0.5 / 290)
    assert voided.floored == (1,)


# --- the effect equals a long seeded simulation of each sampler -------------------------

_images = st.lists(
    st.dictionaries(
        st.sampled_from([0, 1, 2, 3, 255]), st.integers(20, 100), min_size=1, max_size=4
    ).filter(lambda d: any(k != 255 for k in d)),
    min_size=2,
    max_size=6,
)


def _dense(images: list[ImageCounts], size: int) -> np.ndarray:
    table = np.zeros((len(images), size), dtype=np.float64)
    for row, one in enumerate(images):
        for c, n in zip(one.ids, one.pixels, strict=True):
            if c < size:
                table[row, c] = n
    return table


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    raw=_images,
    scheme=st.sampled_from(["weighted", "rare-class", "repeat-ceil", "repeat-stochastic"]),
    temperature=st.floats(0.05, 1.0),
    min_pixels=st.integers(0, 60),
    threshold=st.floats(0.1, 1.0),
)
def test_expected_shares_equal_a_long_simulation(raw, scheme, temperature, min_pixels, threshold):
    """The exact expected shares match 40,000 seeded draws (or epochs) within 0.02 absolute.

    The simulation draws the way each sampler does (class then image for RCS, floor(r) +
    Bernoulli repeats for detectron2), not from the per-image probabilities under test.
    """
    images = [
        ImageCounts(f"i{k}", tuple(sorted(d)), tuple(d[c] for c in sorted(d)))
        for k, d in enumerate(raw)
    ]
    stats = _stats(images, LabelSpec.of(ignore=[255]))
    name = "repeat-factor" if scheme.startswith("repeat") else scheme
    try:
        result = sample_images(
            images,
            stats,
            name,
            threshold=threshold,
            rounding="stochastic" if scheme == "repeat-stochastic" else "ceil",
            temperature=temperature,
            min_pixels=min_pixels,
        )
    except OptionError:  # RCS with no image above min_pixels: refused, nothing to draw
        return
    rng = np.random.default_rng(1234)
    table = _dense(images, stats.num_classes)
    draws = 40_000
    if name == "weighted":
        w = np.asarray(result.weights)
        counts = np.bincount(rng.choice(len(images), draws, p=w / w.sum()), minlength=len(images))
    elif name == "rare-class":
        classes = list(result.class_probabilities)
        chosen = rng.choice(classes, draws, p=list(result.class_probabilities.values()))
        counts = np.zeros(len(images), dtype=np.int64)
        for c in classes:
            holders = np.flatnonzero(table[:, c] > min_pixels)
            n = int((chosen == c).sum())
            if n:
                counts += np.bincount(rng.choice(holders, n), minlength=len(images))
    else:
        r = np.asarray(result.weights)
        epochs = draws // len(images)
        if scheme == "repeat-ceil":
            counts = np.ceil(r) * epochs
        else:
            extra = rng.random((epochs, len(images))) < (r - np.floor(r))
            counts = np.floor(r) * epochs + extra.sum(axis=0)
    drawn = counts @ table
    pixel_share = drawn / drawn.sum()
    image_share = (counts @ (table > 0)) / counts.sum()
    assert pixel_share == pytest.approx(result.effect.sampled_pixel_share, abs=0.02)
    assert image_share == pytest.approx(result.effect.sampled_image_share, abs=0.02)


def test_the_effect_of_no_draws_is_zero_not_an_error():
    from mfb_cli import sampling_effect

    effect = sampling_effect(FOUR, _stats(FOUR, IGNORE), [0.0] * 4, draws=4)
    assert effect.sampled_image_share == (0.0, 0.0, 0.0)
    assert effect.sampled_pixel_share == (0.0, 0.0, 0.0) and effect.distinct_images == 0.0
