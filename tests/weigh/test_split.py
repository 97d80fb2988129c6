"""Splits and folds on hand-worked per-image counts, properties over random data, and the
effect against a naive computation."""

from __future__ import annotations

import itertools
import math
import random
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfb_cli import ClassCounts, ImageCounts, LabelSpec, OptionError, class_stats
from mfb_cli.weigh.split import (
    Grouping,
    Parts,
    SplitError,
    groups_from_pattern,
    groups_from_table,
    split_images,
)


def _stats(images: list[ImageCounts], spec: LabelSpec | None = None):
    spec = spec or LabelSpec.of()
    total = ClassCounts.empty()
    for one in images:
        total = total + ClassCounts.from_histogram(np.array(one.ids), np.array(one.pixels))
    return class_stats(total, spec)


def _parts_of(split) -> set[frozenset[str]]:
    return {frozenset(p.images) for p in split.parts}


# Six images on a path: each class is in two neighbouring images (A in 1 and 2, B in 2
# and 3, ... E in 5 and 6), so a 2-fold split with every class in both folds must put
# neighbours apart: {1, 3, 5} and {2, 4, 6}, the only one (test_six_only_one_by_brute_force).
SIX = [
    ImageCounts("i1", (1,), (10,)),
    ImageCounts("i2", (1, 2), (10, 10)),
    ImageCounts("i3", (2, 3), (10, 10)),
    ImageCounts("i4", (3, 4), (10, 10)),
    ImageCounts("i5", (4, 5), (10, 10)),
    ImageCounts("i6", (5,), (10,)),
]
SIX_SPLIT = {frozenset({"i1", "i3", "i5"}), frozenset({"i2", "i4", "i6"})}


def test_six_only_one_by_brute_force():
    stratified = set()
    for bits in itertools.product((0, 1), repeat=6):
        folds = [frozenset(SIX[i].image for i in range(6) if bits[i] == f) for f in (0, 1)]
        if len(folds[0]) != 3:
            continue
        per_class = {c: [0, 0] for c in range(1, 6)}
        for one, fold in zip(SIX, bits, strict=True):
            for c in one.ids:
                per_class[c][fold] += 1
        if all(counts == [1, 1] for counts in per_class.values()):
            stratified.add(frozenset(folds))
    assert stratified == {frozenset(SIX_SPLIT)}


@given(seed=st.integers(0, 2**63 - 1), order=st.permutations(range(6)))
@settings(max_examples=60, deadline=None)
def test_six_splits_into_the_only_stratified_folds(seed, order):
    images = [SIX[i] for i in order]
    split = split_images(images, _stats(images), Parts.k_folds(2), seed=seed)
    assert _parts_of(split) == SIX_SPLIT
    assert [p.name for p in split.parts] == ["fold0", "fold1"]
    assert all(not p.missing for p in split.effect.parts)
    # Every class in one image of each fold: image share 1/3, the whole's 2/6. Class 0,
    # which no image holds, is not in the effect.
    assert split.effect.classes == (1, 2, 3, 4, 5)
    for part in split.effect.parts:
        assert part.class_images == (1, 1, 1, 1, 1)
        assert part.max_image_share_gap == 0.0


def test_ratios_are_normalised_and_named():
    assert Parts.of_ratios(["0.8", "0.1", "0.1"]) == Parts(("train", "val", "test"), (8, 1, 1))
    assert Parts.of_ratios([8, 1, 1]) == Parts.of_ratios([0.8, 0.1, 0.1])
    assert Parts.of_ratios(["3", "1"]).names == ("train", "val")
    assert Parts.of_ratios(["1"] * 4).names == ("part1", "part2", "part3", "part4")
    assert Parts.k_folds(3) == Parts(("fold0", "fold1", "fold2"), (1, 1, 1), folds=True)
    assert Parts.of_ratios(["0.7", "0.3"]).share(0) == Fraction(7, 10)
    for bad in (["1"], ["0.5", "0"], ["a", "1"], ["-1", "2"], [math.inf, 1]):
        with pytest.raises(OptionError):
            Parts.of_ratios(bad)
    with pytest.raises(OptionError):
        Parts.k_folds(1)


def test_groups_from_pattern_file_name_or_whole_name():
    names = ["cam/0001TP_006690.png", "cam/0006R0_f02400.png", "cam/Seq05VD_f00000.png"]
    assert groups_from_pattern(names, r"^([^_]+)_") == {
        names[0]: "0001TP",
        names[1]: "0006R0",
        names[2]: "Seq05VD",
    }
    # A pattern with '/' is searched in the whole name.
    assert groups_from_pattern(["p7/a.nii.gz", "p9/b.nii.gz"], r"^(p\d+)/") == {
        "p7/a.nii.gz": "p7",
        "p9/b.nii.gz": "p9",
    }
    # The CamVid pattern that lists only 'TP' sequences misses two of the four: an error.
    with pytest.raises(SplitError, match=r"0006R0_f02400.png: group=.* does not match"):
        groups_from_pattern(names, r"^(\d+TP|Seq\d+)_")
    with pytest.raises(OptionError, match="capture group"):
        groups_from_pattern(names, r"^\w+_")
    with pytest.raises(OptionError, match="not a regular expression"):
        groups_from_pattern(names, r"^(")


def test_groups_from_table_by_name_or_file_name():
    table = {"a/x.png": "g1", "y.png": "g2", "gone.png": "g3"}
    found, warnings = groups_from_table(["a/x.png", "b/y.png"], table, "g.csv")
    assert found == {"a/x.png": "g1", "b/y.png": "g2"}
    assert warnings == ["1 row of g.csv names no image of this split (first: gone.png)"]
    with pytest.raises(SplitError, match=r"c/z\.png: not in g\.csv"):
        groups_from_table(["c/z.png"], table, "g.csv")
    with pytest.raises(SplitError, match="two groups"):
        groups_from_table(["q/x.png"], {"a/x.png": "g1", "b/x.png": "g2"}, "g.csv")


def _random_images(rng: random.Random, count: int, classes: int) -> list[ImageCounts]:
    images = []
    for index in range(count):
        ids = sorted(rng.sample(range(classes), rng.randint(0, min(classes, 4))))
        images.append(
            ImageCounts(f"d/{index:03d}.png", tuple(ids), tuple(rng.randint(1, 99) for _ in ids))
        )
    return images


parts_strategy = st.one_of(
    st.integers(2, 5).map(Parts.k_folds),
    st.lists(st.integers(1, 9), min_size=2, max_size=4).map(Parts.of_ratios),
)


@given(
    data_seed=st.integers(0, 10**6),
    seed=st.integers(0, 10**6),
    parts=parts_strategy,
    count=st.integers(6, 40),
    groups=st.integers(5, 40),
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_groups_never_straddle_parts(data_seed, seed, parts, count, groups):
    rng = random.Random(data_seed)
    images = _random_images(rng, count, 6)
    group_of = {one.image: f"g{rng.randrange(groups)}" for one in images}
    if len(set(group_of.values())) < len(parts.names):
        with pytest.raises(SplitError, match="cannot fill"):
            split_images(images, _stats(images), parts, seed=seed, groups=group_of)
        return
    split = split_images(images, _stats(images), parts, seed=seed, groups=group_of)
    part_of_group: dict[str, str] = {}
    for image, part in split.part_of.items():
        assert part_of_group.setdefault(group_of[image], part) == part
    every = [image for part in split.parts for image in part.images]
    assert sorted(every) == sorted(one.image for one in images)  # each image once
    assert all(part.images for part in split.parts)
    for part in split.parts:
        assert set(part.groups) == {group_of[i] for i in part.images}


@given(data_seed=st.integers(0, 10**6), seed=st.integers(0, 10**6), parts=parts_strategy)
@settings(max_examples=40, deadline=None)
def test_the_same_split_whatever_the_input_order(data_seed, seed, parts):
    rng = random.Random(data_seed)
    images = _random_images(rng, 30, 7)
    group_of = {one.image: f"g{rng.randrange(12)}" for one in images}
    shuffled = list(images)
    rng.shuffle(shuffled)
    for groups in (None, group_of):
        first = split_images(images, _stats(images), parts, seed=seed, groups=groups)
        second = split_images(shuffled, _stats(shuffled), parts, seed=seed, groups=groups)
        assert first.parts == second.parts
        assert first.part_of == second.part_of
        assert first.effect == second.effect
        assert first.random == second.random
        assert first.warnings == second.warnings


@given(
    data_seed=st.integers(0, 10**6),
    seed=st.integers(0, 10**6),
    folds=st.integers(2, 5),
    units=st.integers(5, 30),
)
@settings(max_examples=80, deadline=None)
def test_a_class_in_enough_groups_reaches_every_validation_part(data_seed, seed, folds, units):
    # Data that allow it: every group holds the common class 0 and at most one rare class;
    # a rare class held by at least K groups can be in all K validation parts.
    rng = random.Random(data_seed)
    images, group_of = [], {}
    for unit in range(units):
        rare = rng.choice([None, 1, 2, 3, 4])
        for frame in range(rng.randint(1, 3)):
            name = f"s{unit:02d}_{frame}.png"
            ids = (0,) if rare is None or rng.random() < 0.3 else (0, rare)
            images.append(ImageCounts(name, ids, tuple(rng.randint(1, 50) for _ in ids)))
            group_of[name] = f"s{unit:02d}"
    if units < folds:
        return
    split = split_images(images, _stats(images), Parts.k_folds(folds), seed=seed, groups=group_of)
    holders: dict[int, set[str]] = {}
    for one in images:
        for c in one.ids:
            holders.setdefault(c, set()).add(group_of[one.image])
    for part in split.effect.parts:
        for c, groups in holders.items():
            if len(groups) >= folds:
                assert c not in part.missing, (c, part.name)


@given(data_seed=st.integers(0, 10**6), seed=st.integers(0, 10**6), parts=parts_strategy)
@settings(max_examples=60, deadline=None)
def test_a_missing_class_could_not_move_in(data_seed, seed, parts):
    # Whatever the data: when a part lacks a class, no group holding it could leave its part
    # without that part losing one of its classes (or emptying).
    rng = random.Random(data_seed)
    images = _random_images(rng, 25, 6)
    group_of = {one.image: f"g{rng.randrange(15)}" for one in images}
    if len(set(group_of.values())) < len(parts.names):
        return
    split = split_images(images, _stats(images), parts, seed=seed, groups=group_of)
    classes_of: dict[str, set[int]] = {}
    for one in images:
        classes_of.setdefault(group_of[one.image], set()).update(one.ids)
    part_of = {group_of[i]: p for i, p in split.part_of.items()}
    in_part: dict[str, list[str]] = {}
    for group, part in sorted(part_of.items()):
        in_part.setdefault(part, []).append(group)

    def holding(part: str, c: int) -> int:
        return sum(1 for g in in_part[part] if c in classes_of[g])

    for part in split.effect.parts:
        for c in part.missing:
            for group, where in part_of.items():
                if c not in classes_of[group] or holding(where, c) < 2:
                    continue
                spare = len(in_part[where]) > 1 and all(
                    holding(where, d) > 1 for d in classes_of[group]
                )
                assert not spare, (c, part.name, group)


def _naive_effect(images, part_of, names, classes):
    """Shares per part, counted one image and class at a time, as exact fractions."""
    out = {}
    for name in [None, *names]:
        chosen = [one for one in images if name is None or part_of[one.image] == name]
        labelled = sum(
            n for one in chosen for c, n in zip(one.ids, one.pixels, strict=True) if c in classes
        )
        image_share, pixel_share = [], []
        for c in classes:
            holding = sum(1 for one in chosen if c in one.ids)
            pixels = sum(
                n for one in chosen for d, n in zip(one.ids, one.pixels, strict=True) if d == c
            )
            image_share.append(Fraction(holding, len(chosen)))
            pixel_share.append(Fraction(pixels, labelled))
        out[name] = (image_share, pixel_share)
    return out


def _naive_js(p, q):
    total = 0.0
    for a, b in zip(p, q, strict=True):
        m = (a + b) / 2
        if a:
            total += a / 2 * math.log2(a / m)
        if b:
            total += b / 2 * math.log2(b / m)
    return total


@given(data_seed=st.integers(0, 10**6), seed=st.integers(0, 100), parts=parts_strategy)
@settings(max_examples=40, deadline=None)
def test_effect_against_a_naive_computation(data_seed, seed, parts):
    rng = random.Random(data_seed)
    images = _random_images(rng, 30, 6)
    # Class 5 is void, and every image has 7 ignored pixels (255).
    images = [ImageCounts(one.image, (*one.ids, 255), (*one.pixels, 7)) for one in images]
    stats = _stats(images, LabelSpec.of(num_classes=6, void=[5], ignore=[255]))
    if stats.labelled_pixels == 0:
        return
    split = split_images(images, stats, parts, seed=seed)
    classes = (0, 1, 2, 3, 4)
    assert split.effect.classes == classes
    expected = _naive_effect(images, split.part_of, parts.names, set(classes))
    whole_image, whole_pixel = expected[None]
    assert list(split.effect.image_share) == [float(x) for x in whole_image]
    assert list(split.effect.pixel_share) == [float(x) for x in whole_pixel]
    for part in split.effect.parts:
        image_share, pixel_share = expected[part.name]
        assert list(part.image_share) == [float(x) for x in image_share]
        assert list(part.pixel_share) == [float(x) for x in pixel_share]
        assert part.js_divergence == pytest.approx(
            _naive_js([float(x) for x in pixel_share], [float(x) for x in whole_pixel]),
            abs=1e-12,
        )
        assert part.max_image_share_gap == pytest.approx(
            float(max(abs(a - b) for a, b in zip(image_share, whole_image, strict=True))), abs=1e-15
        )
        assert part.missing == tuple(
            c for c, a, b in zip(classes, image_share, whole_image, strict=True) if b and not a
        )
    # The random split's numbers are the same computation on its own parts: its counts add
    # up to the whole's, and its shares and divergences follow from its counts.
    assert len(split.random.parts) == len(parts.names)
    assert sum(p.images for p in split.random.parts) == len(images)
    assert split.random.class_images == split.effect.class_images
    assert split.random.pixel_share == split.effect.pixel_share
    for k in range(len(classes)):
        assert sum(p.class_images[k] for p in split.random.parts) == split.effect.class_images[k]
        assert sum(p.class_pixels[k] for p in split.random.parts) == split.effect.class_pixels[k]
    for part in split.random.parts:
        labelled = sum(part.class_pixels)
        assert part.labelled_pixels == labelled
        assert list(part.image_share) == [
            float(Fraction(n, part.images)) for n in part.class_images
        ]
        if not labelled:
            assert part.js_divergence is None
            continue
        pixel_share = [float(Fraction(n, labelled)) for n in part.class_pixels]
        assert list(part.pixel_share) == pixel_share
        assert part.js_divergence == pytest.approx(
            _naive_js(pixel_share, [float(x) for x in whole_pixel]), abs=1e-12
        )


def test_hand_worked_effect_and_random_baseline_sizes():
    # Four images, 1:1 ratio: class 1 in a and b only (30 and 10 pixels).
    images = [
        ImageCounts("a", (0, 1), (70, 30)),
        ImageCounts("b", (0, 1), (90, 10)),
        ImageCounts("c", (0,), (100,)),
        ImageCounts("d", (0,), (100,)),
    ]
    split = split_images(images, _stats(images), Parts.of_ratios([1, 1]), seed=3)
    # Class 1 is rarest: a and b go to different parts; c and d fill the sizes.
    assert {frozenset(p.images) for p in split.parts} in (
        {frozenset("ac"), frozenset("bd")},
        {frozenset("ad"), frozenset("bc")},
    )
    assert split.effect.class_images == (4, 2)
    assert split.effect.pixel_share == (360 / 400, 40 / 400)
    for part in split.effect.parts:
        assert part.images == 2
        assert part.class_images == (2, 1)
    assert [p.images for p in split.random.parts] == [2, 2]


def test_oversized_groups_are_reported_and_kept_whole():
    images = [ImageCounts(f"big_{i}.png", (0,), (5,)) for i in range(6)] + [
        ImageCounts(f"s{i}_0.png", (0,), (5,)) for i in range(4)
    ]
    split = split_images(
        images, _stats(images), Parts.of_ratios([8, 1, 1]), groups=Grouping(pattern=r"^([^_]+)_")
    )
    big = next(p for p in split.parts if "big_0.png" in p.images)
    assert sum(1 for i in big.images if i.startswith("big")) == 6
    assert split.grouping == {"by": "pattern", "pattern": r"^([^_]+)_", "groups": 5}
    for found in split.oversized:
        assert found.group == "big" and found.images == 6 and found.part != "train"
    if big.name != "train":
        assert split.oversized and any("group big holds 6 images" in w for w in split.warnings)


def test_a_class_a_part_lacks_is_a_warning():
    # Class 1 is in one image: it can be in one of three parts only.
    images = [ImageCounts("a", (0, 1), (5, 5))] + [
        ImageCounts(f"b{i}", (0,), (10,)) for i in range(9)
    ]
    split = split_images(images, _stats(images), Parts.of_ratios([8, 1, 1]))
    lacking = [p for p in split.effect.parts if p.missing == (1,)]
    assert len(lacking) == 2
    assert (
        sum("holds no image of classes 1 (1: 1 image): no image" in w for w in split.warnings) == 2
    )


def test_errors_name_the_problem():
    images = [ImageCounts("a", (0,), (1,)), ImageCounts("b", (0,), (1,))]
    with pytest.raises(SplitError, match="2 images cannot fill 3 parts"):
        split_images(images, _stats(images), Parts.k_folds(3))
    twice = [*images, ImageCounts("a", (0,), (1,))]
    with pytest.raises(SplitError, match="a: listed twice"):
        split_images(twice, _stats(twice), Parts.k_folds(2))
    with pytest.raises(SplitError, match="b: no group given"):
        split_images(images, _stats(images), Parts.k_folds(2), groups={"a": "x"})
    with pytest.raises(SplitError, match="no images"):
        split_images([], _stats(images), Parts.k_folds(2))


def test_void_and_ignored_ids_take_no_part():
    images = [
        ImageCounts("a", (0, 3, 255), (5, 9, 9)),
        ImageCounts("b", (0, 3), (5, 9)),
        ImageCounts("c", (1, 255), (5, 9)),
        ImageCounts("d", (1,), (5,)),
    ]
    stats = _stats(images, LabelSpec.of(num_classes=4, void=[3], ignore=[255]))
    split = split_images(images, stats, Parts.k_folds(2), seed=1)
    # Class 2 is a class (num_classes=4) that no image holds: not in the effect either.
    assert split.effect.classes == (0, 1)
    assert split.effect.class_pixels == (10, 10)
    assert {frozenset(p.images) for p in split.parts} in (
        {frozenset("ac"), frozenset("bd")},
        {frozenset("ad"), frozenset("bc")},
    )


def test_the_work_and_the_effect_cover_only_the_classes_the_images_hold():
    # --num-classes 65536 with four classes held: the effect lists those four (an absent
    # class has share 0 everywhere and says nothing), and nothing is sized by the 65,536.
    import tracemalloc

    images = [ImageCounts(f"i{i:03d}", (0, 1 + i % 3), (5, 5 + i)) for i in range(100)]
    stats = _stats(images, LabelSpec.of(num_classes=65536))
    tracemalloc.start()
    try:
        split = split_images(images, stats, Parts.k_folds(10), seed=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert split.effect.classes == split.random.classes == (0, 1, 2, 3)
    assert split.effect.class_images == (100, 34, 33, 33)
    assert split.effect.class_pixels == (
        500,
        sum(5 + i for i in range(0, 100, 3)),
        sum(5 + i for i in range(1, 100, 3)),
        sum(5 + i for i in range(2, 100, 3)),
    )
    for part in split.effect.parts:
        assert len(part.image_share) == len(part.pixel_share) == 4
    assert peak < 8 << 20, peak  # 10 parts x 65,536 classes of Python ints would be ~100x


def test_parts_times_classes_held_is_bounded():
    # The effect holds a row per class and part, twice (this split and the random one):
    # leave-one-out over 1,000 images holding 263 classes between them is 263,000 rows.
    from mfb_cli.weigh import split as split_module

    images = [ImageCounts(f"i{i:04d}", (i % 263,), (1,)) for i in range(1000)]
    stats = _stats(images)
    assert split_module.MAX_EFFECT_ROWS == 2**18 == 262_144
    with pytest.raises(
        SplitError, match=r"^1000 parts x 263 classes held = 263,000 rows .*\(262,144\)"
    ):
        split_images(images, stats, Parts.k_folds(1000))
    small = images[:20]
    small_stats = _stats(small)  # 20 classes held
    limit = split_module.MAX_EFFECT_ROWS
    try:
        split_module.MAX_EFFECT_ROWS = 3 * 20
        assert len(split_images(small, small_stats, Parts.k_folds(3)).effect.classes) == 20
        with pytest.raises(SplitError, match="4 parts x 20 classes held = 80 rows"):
            split_images(small, small_stats, Parts.k_folds(4))
    finally:
        split_module.MAX_EFFECT_ROWS = limit


def test_names_below_the_shared_folder():
    from mfb_cli.weigh.split import names_below, shared_folder

    assert shared_folder(["m/a/x.png", "m/b/y.png"]) == "m/"
    assert shared_folder(["m/ab.png", "m/ac.png"]) == "m/"  # not m/a
    assert shared_folder(["s3://b/m/x.png", "s3://b/m/y.png"]) == "s3://b/m/"
    assert shared_folder(["x.png", "y.png"]) == shared_folder([]) == ""
    assert shared_folder(["m/x.png"]) == "m/"
    assert shared_folder(["C:\\m\\x.png", "C:\\m\\y.png"]) == "C:\\m\\"
    assert names_below(["/d/m/p1/a.png", "/d/m/p2/a.png"]) == {
        "/d/m/p1/a.png": "p1/a.png",
        "/d/m/p2/a.png": "p2/a.png",
    }


@given(data_seed=st.integers(0, 10**6), seed=st.integers(0, 10**6), parts=parts_strategy)
@settings(max_examples=30, deadline=None)
def test_the_same_split_whatever_the_shared_folder(data_seed, seed, parts):
    images = _random_images(random.Random(data_seed), 25, 6)
    moved = [ImageCounts("s3://bucket/deep/" + one.image, one.ids, one.pixels) for one in images]
    first = split_images(images, _stats(images), parts, seed=seed)
    second = split_images(moved, _stats(moved), parts, seed=seed)
    assert {k.removeprefix("s3://bucket/deep/"): v for k, v in second.part_of.items()} == (
        first.part_of
    )
    assert second.effect == first.effect and second.random == first.random


def test_shares_are_bounded_numbers():
    # A share is read to double precision: an exponent no float has cannot make Python
    # build a number of millions of digits (1e-9999999 took 19 s; 1e99999999 never ended).
    for text, problem in (
        ("1e-9999999", "is too small"),
        ("1e99999999", "is not a finite number"),
        ("1e-400", "is too small"),
        ("nan", "is not a finite number"),
        ("-inf", "is not a finite number"),
        ("1/3", "is not a number"),
        ("", "is not a number"),
    ):
        with pytest.raises(OptionError, match=f"ratios: '{re.escape(text)}' {problem}"):
            Parts.of_ratios([text, "1"])
    assert Parts.of_ratios(["0.1", "0.2", "0.7"]).weights == (1, 2, 7)
    assert Parts.of_ratios(["1e-300", "1"]).weights == (1, 10**300)
    assert Parts.of_ratios(["0.30000000000000000001", "0.7"]).weights == (3, 7)  # 17 digits
    assert Parts.of_ratios([Fraction(1, 3), Fraction(2, 3)]).weights == (1, 2)
    with pytest.raises(OptionError, match="at most 18 digits"):
        Parts.of_ratios([Fraction(1, 10**30), 1])


def test_a_pattern_capturing_nothing_is_an_error_not_one_group():
    # '^([^_]*)_' captures '' from '_2.png': every such image would silently join one
    # group named '', as '(x)?' does for all of them; a groups table refuses '' too.
    names = ["d/a_1.png", "d/_2.png"]
    with pytest.raises(
        SplitError, match=r"^d/_2\.png: group=.* captures nothing from its file name"
    ):
        groups_from_pattern(names, r"^([^_]*)_")
    with pytest.raises(SplitError, match=r"^d/a_1\.png: group='\(x\)\?' captures nothing from"):
        groups_from_pattern(names, r"(x)?")
    assert groups_from_pattern(names, r"^([^_]*_)") == {"d/a_1.png": "a_", "d/_2.png": "_"}


def test_images_the_stats_do_not_describe_are_refused():
    # Stats of other images (num_classes 2) would silently drop label 7 from b's counts.
    from mfb_cli import LabelRangeError

    images = [ImageCounts("a", (0, 1), (5, 5)), ImageCounts("b", (0, 7), (5, 5))]
    with pytest.raises(LabelRangeError, match=r"^b: label 7 >= num_classes=2"):
        split_images(images, _stats(images[:1]), Parts.k_folds(2))
    # An id twice would count the image twice as holding it; no pixel, as holding it at all.
    stats = _stats(images[:1])
    for bad in (
        ImageCounts("c", (1, 1), (2, 3)),
        ImageCounts("c", (0, 1), (5, 0)),
        ImageCounts("c", (0, 1), (5,)),
    ):
        with pytest.raises(SplitError, match=r"^c: ids must be sorted and distinct, pixels > 0"):
            split_images([images[0], bad], stats, Parts.k_folds(2))


def test_a_pattern_that_backtracks_without_end_is_stopped():
    # '^(a|aa)+\\.png$' tries ~1.6**40 ways on 'aaa...ab.png' before failing: searching a name
    # is bounded (MATCH_SECONDS), then an error naming the image says why.
    from mfb_cli.weigh import split as split_module

    assert split_module.MATCH_SECONDS == 1.0
    names = ["d/aa.png", "d/" + "a" * 40 + "b.png"]
    with pytest.raises(SplitError, match=r"^d/a{40}b\.png: group='.*' took more than 1 s on its"):
        groups_from_pattern(names, r"^(a|aa)+\.png$")
    with pytest.raises(SplitError, match=r"catastrophic backtracking"):
        groups_from_pattern(names, re.compile(r"^(a|aa)+\.png$"))
    # An re pattern keeps its flags.
    assert groups_from_pattern(names, re.compile(r"^(A)", re.IGNORECASE)) == {
        names[0]: "a",
        names[1]: "a",
    }


def test_groups_table_rows_are_found_below_the_shared_folder():
    # Rows written relative to the dataset ('train/s0.png') or from another spelling of it
    # ('/x/tv/train/s0.png') name the same images as 'tv/train/s0.png': the file name alone
    # (s0.png, in both train/ and val/) could not tell them apart.
    images = [f"tv/{part}/s{i}.png" for part in ("train", "val") for i in (0, 1)]
    expected = {image: image.split("/")[1][0] + image[-5] for image in images}
    for root in ("", "/x/tv/", "tv/"):
        table = {f"{root}{image[3:]}": group for image, group in expected.items()}
        assert groups_from_table(images, table, "g.csv") == (expected, [])
    # A file name two rows give different groups is still an error when nothing else finds it.
    with pytest.raises(SplitError, match="two groups"):
        groups_from_table(["other/s0.png"], {"train/s0.png": "a", "val/s0.png": "b"}, "g.csv")
