"""Every statement mfb makes about a framework's loss, checked numerically.

Each framework's reduction is re-implemented below in plain numpy from its own source (file
and release named on each function), and the worked example of docs/frameworks.md and the snippets'
claims are run through them. tests/test_frameworks_real.py runs the emitted snippets
against the real frameworks when they are installed.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfb_cli.count.counts import CountsAccumulator
from mfb_cli.count.kernels import histogram_of_array
from mfb_cli.show.records import weights_record
from mfb_cli.show.weights_formats import WEIGHTS_FORMATS
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.schemes import SCHEMES
from mfb_cli.weigh.spec import LabelSpec
from mfb_cli.weigh.weights import class_weights

from .test_frameworks_example import PAGE

# The worked example of docs/frameworks.md: four labelled pixels and one ignored (255) pixel
# whose loss must not matter; the weights come from one image with 6, 3 and 1 pixels of
# classes 0-2.
TARGET = np.array([0, 0, 1, 2, 255])
LOSS = np.array([0.2, 0.4, 0.6, 1.0, 7.0])
IGNORE = 255
W = [0.5, 1.0, 3.0]
DOUBLED = [1.0, 2.0, 6.0]
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def per_pixel(weights, target=TARGET, ignore=IGNORE, loss=LOSS):
    """F.cross_entropy(weight=w, ignore_index=i, reduction='none'): w[y] * l, 0 if ignored."""
    keep = target != ignore
    w = np.asarray(weights, dtype=float)
    return np.where(keep, w[np.where(keep, target, 0)] * loss, 0.0), keep


def torch_mean(weights, target=TARGET, ignore=IGNORE, loss=LOSS):
    """PyTorch 2.13.0 torch/nn/modules/loss.py, CrossEntropyLoss docstring, reduction='mean':
    sum_n l_n / sum_n w[y_n] * 1{y_n != ignore_index} (aten LossNLL's total_weight)."""
    values, keep = per_pixel(weights, target, ignore, loss)
    w = np.asarray(weights, dtype=float)
    return float(values.sum() / w[target[keep]].sum())


def mmseg_0x_1_1(weights, target=TARGET, ignore=IGNORE, avg_non_ignore=True):
    """mmsegmentation 0.30.0, 1.0.0, 1.1.0 and 1.1.2 (identical there):
    mmseg/models/losses/cross_entropy_loss.py::cross_entropy sets
    avg_factor = label.numel() - (label == ignore_index).sum() when avg_non_ignore, and
    mmseg/models/losses/utils.py::weight_reduce_loss returns loss.sum() / (avg_factor + eps),
    eps = torch.finfo(torch.float32).eps; without avg_non_ignore, loss.mean() (all pixels)."""
    values, keep = per_pixel(weights, target, ignore)
    if not avg_non_ignore:
        return float(values.mean())
    return float(values.sum() / (keep.sum() + FLOAT32_EPS))


def mmseg_1_2(weights, target=TARGET, ignore=IGNORE, avg_non_ignore=True, release="1.2.2"):
    """mmsegmentation 1.2.x mmseg/models/losses/cross_entropy_loss.py::cross_entropy with a
    class_weight: label_weights = class_weight[cls] for every label (1.2.2:
    torch.stack([...]); 1.2.0 and 1.2.1: torch.tensor([...]), which fails for any label of
    more than one dimension), label_weights[label == ignore_index] = 0 when avg_non_ignore,
    avg_factor = label_weights.sum(); then utils.py: loss.sum() / (avg_factor + eps)."""
    target = np.asarray(target)
    if release in ("1.2.0", "1.2.1") and target.ndim > 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    w = np.asarray(weights, dtype=float)
    if target.max() >= len(w):  # indexing class_weight by every label, ignored ones too
        raise IndexError(
            f"index {target.max()} is out of bounds for dimension 0 with size {len(w)}"
        )
    label_weights = w[target]
    if avg_non_ignore:
        label_weights = np.where(target == ignore, 0.0, label_weights)
    values, _ = per_pixel(weights, target, ignore)
    return float(values.sum() / (label_weights.sum() + FLOAT32_EPS))


def ignore_safe_1_2(weights, target=TARGET, ignore=IGNORE):
    """The snippet's IgnoreSafeCrossEntropyLoss: avg_factor = sum of w[y] over non-ignored
    pixels, passed in, so 1.2's cross_entropy skips its own avg_factor branch."""
    values, keep = per_pixel(weights, target, ignore)
    w = np.asarray(weights, dtype=float)
    return float(values.sum() / (w[target[keep]].sum() + FLOAT32_EPS))


def keras(sample_weight, values=LOSS, reduction="sum_over_batch_size"):
    """Keras 3.15.1 keras/src/losses/loss.py: reduce_weighted_values multiplies the losses by
    sample_weight, then reduce_values divides the sum by prod(shape) (sum_over_batch_size,
    the default) or, from Keras 3.7, by sum(sample_weight) (mean_with_sample_weight), with
    divide_no_nan."""
    weighted = np.asarray(values) * np.asarray(sample_weight, dtype=float)
    if reduction == "mean_with_sample_weight":
        divisor = float(np.sum(sample_weight))
    else:
        divisor = float(np.prod(np.shape(values)))
    return float(weighted.sum() / divisor) if divisor else 0.0


def keras_sample_weight(weights):
    """The snippet's add_sample_weights: ignored labels read an extra weight-0 entry."""
    return np.asarray([*weights, 0.0])[np.where(TARGET == IGNORE, len(weights), TARGET)]


def test_every_reduction_on_the_readme_example():
    assert float(LOSS[:4].mean()) == pytest.approx(0.55)  # unweighted
    for weights in (W, DOUBLED):  # PyTorch and mmseg 1.2: the scale cancels
        assert torch_mean(weights) == pytest.approx(3.9 / 5)
        assert ignore_safe_1_2(weights) == pytest.approx(0.78)
        assert keras(keras_sample_weight(weights), reduction="mean_with_sample_weight") == (
            pytest.approx(0.78)
        )
    assert mmseg_0x_1_1(W) == pytest.approx(0.975)  # 3.9 / 4 pixels
    assert mmseg_0x_1_1(DOUBLED) == pytest.approx(1.95)
    assert keras(keras_sample_weight(W)) == pytest.approx(0.78)  # 3.9 / 5: the ignored pixel
    assert keras(keras_sample_weight(DOUBLED)) == pytest.approx(1.56)  # counts, scale stays
    # mmseg 0.30-1.1 without avg_non_ignore also counts the ignored pixel.
    assert mmseg_0x_1_1(W, avg_non_ignore=False) == pytest.approx(0.78)


def test_mmseg_1_2_divides_like_pytorch_when_no_label_is_ignored():
    target = np.array([0, 0, 1, 2, 1])  # the fifth pixel now a class-1 pixel
    for weights in (W, DOUBLED):
        assert mmseg_1_2(weights, target) == pytest.approx(torch_mean(weights, target))
        assert mmseg_1_2(weights, target) == pytest.approx((3.9 + 7.0) / 6)


def test_mmseg_1_2_crashes_on_the_ignore_value_and_1_2_0_on_any_mask():
    with pytest.raises(IndexError, match="index 255 is out of bounds for dimension 0 with size 3"):
        mmseg_1_2(W)  # 1.2.2, the page's example as it is
    with pytest.raises(ValueError, match="only one element tensors"):
        mmseg_1_2(W, np.array([[0, 0, 1, 2, 1]]), release="1.2.0")


def test_the_readme_table_matches_the_reductions():
    rows = {
        "| unweighted | | 2.2 | 4 pixels | 0.55 |": float(LOSS[:4].mean()),
        "| PyTorch, `reduction='mean'` | [0.5, 1, 3] | 3.9 | sum(w[y]) = 5 | 0.78 |": torch_mean(W),
        "| PyTorch, weights doubled | [1, 2, 6] | 7.8 | 10 | 0.78 |": torch_mean(DOUBLED),
        "| mmseg 1.2.x (with the snippet's loss) | [1, 2, 6] | 7.8 | 10 | 0.78 |": (
            ignore_safe_1_2(DOUBLED)
        ),
        "| Keras, `mean_with_sample_weight` (the snippet) | [1, 2, 6] | 7.8 | 10 | 0.78 |": (
            keras(keras_sample_weight(DOUBLED), reduction="mean_with_sample_weight")
        ),
        "| mmseg 0.30-1.1.x, `avg_non_ignore=True` | [0.5, 1, 3] | 3.9 | 4 pixels | 0.975 |": (
            mmseg_0x_1_1(W)
        ),
        "| mmseg 0.30-1.1.x, weights doubled | [1, 2, 6] | 7.8 | 4 pixels | 1.95 |": (
            mmseg_0x_1_1(DOUBLED)
        ),
        "| Keras default, `sum_over_batch_size` | [1, 2, 6] | 7.8 | 5 pixels | 1.56 |": (
            keras(keras_sample_weight(DOUBLED))
        ),
    }
    for row, value in rows.items():
        assert row in PAGE
        assert value == pytest.approx(float(row.rstrip(" |").rsplit("| ", 1)[1]))


def stats_of_the_example_image(void=()):
    accumulator = CountsAccumulator()
    accumulator.add(*histogram_of_array(np.array([[0, 0, 0, 0, 0], [0, 1, 1, 1, 2]])))
    return class_stats(accumulator.result(), LabelSpec.of(void=void))


@pytest.mark.parametrize(
    ("normalize", "scale"),
    [("none", Fraction(9, 10)), ("mean", Fraction(3, 5)), ("pixels", Fraction(1))],
)
def test_the_scale_of_a_pixel_average_is_the_pixel_weighted_mean_weight(normalize, scale):
    """A pixel-averaged loss (mmseg 0.30-1.1, Keras's default) with the same cross-entropy on
    every pixel of the data: only --normalize pixels keeps the unweighted loss."""
    weights = class_weights(stats_of_the_example_image(), normalize=normalize).weights
    target = np.array([0] * 6 + [1] * 3 + [2])  # every pixel of the image
    loss = np.full(target.shape, 0.7)
    weighted = np.asarray(weights)[target] * loss
    assert float(weighted.mean()) == pytest.approx(float(scale) * 0.7)
    assert mmseg_0x_1_1_uniform(weights, target, 0.7) == pytest.approx(float(scale) * 0.7)
    assert keras(np.asarray(weights)[target], loss) == pytest.approx(float(scale) * 0.7)
    assert f"{float(scale)} l" in PAGE


@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=6),
    st.sampled_from(sorted(SCHEMES)),
    st.floats(0.01, 10),
)
@settings(max_examples=60, deadline=None)
def test_after_normalize_pixels_a_pixel_average_of_a_uniform_loss_is_unchanged(
    pixels, scheme, value
):
    """Every counted pixel of the data, each with cross-entropy ``value``: the weighted
    pixel average (mmseg 0.30-1.1, Keras's default) equals the unweighted one."""
    if not any(pixels):
        return
    accumulator = CountsAccumulator()
    accumulator.add(*histogram_of_array(np.repeat(np.arange(len(pixels)), pixels)[None]))
    weights = class_weights(class_stats(accumulator.result()), scheme, normalize="pixels")
    target = np.repeat(np.arange(len(pixels)), pixels)
    assert mmseg_0x_1_1_uniform(weights.weights, target, value) == pytest.approx(value)
    loss = np.full(target.shape, value)
    assert keras(np.asarray(weights.weights)[target], loss) == pytest.approx(value)


def mmseg_0x_1_1_uniform(weights, target, value):
    values = np.asarray(weights, dtype=float)[target] * value
    return float(values.sum() / (target.size + FLOAT32_EPS))


def test_sample_masks_mean_normalisation_scale_is_0_083():
    # The number: after --normalize mean, sum_c share_c w_c on sample_masks is 0.083.
    from pathlib import Path

    from mfb_cli.count.scan import count_masks
    from mfb_cli.read.sources.find import find_label_files

    samples = Path(__file__).resolve().parent.parent / "sample_masks"
    stats = class_stats(count_masks(find_label_files([samples])), LabelSpec.of(void=[11]))
    for normalize, expected in (("mean", 0.0831), ("pixels", 1.0)):
        result = class_weights(stats, normalize=normalize)
        shares = np.asarray(stats.pixels[:11], dtype=float) / stats.labelled_pixels
        assert float(shares @ np.asarray(result.weights[:11])) == pytest.approx(expected, abs=1e-4)


def record_of_the_example(normalize="none"):
    """The example image with a row of 255 added, --ignore 255."""
    accumulator = CountsAccumulator()
    accumulator.add(*histogram_of_array(np.array([[0, 0, 0, 0, 0], [0, 1, 1, 1, 2], [255] * 5])))
    stats = class_stats(accumulator.result(), LabelSpec.of(ignore=[255]))
    return weights_record(stats, class_weights(stats, normalize=normalize))


@pytest.mark.parametrize(
    "claim",
    [
        "0.30 to 1.1.x: sum(w[y] * loss) / number of non-ignored (avg_non_ignore=True)",
        "1.2.x: sum(w[y] * loss) / sum(w[y]) over the non-ignored pixels, like PyTorch:",
        "--normalize pixels makes that 1, keeping the unweighted loss scale.",
        "1.2.1 on every (N, H, W) label (upstream issue #3412), 1.2.2 with 'index 255 is",
    ],
)
def test_the_mmseg_snippet_states_what_the_reductions_compute(claim):
    # Each claim is one of the reductions above: torch_mean, mmseg_0x_1_1, mmseg_1_2.
    assert claim in WEIGHTS_FORMATS["mmseg"](record_of_the_example())


def test_the_keras_snippet_states_what_keras_computes():
    text = WEIGHTS_FORMATS["keras"](record_of_the_example())
    assert 'reduction="mean_with_sample_weight"' in text
    assert "divides by the sum of the\n# pixels' sample_weight, like PyTorch" in text
    # ... which is what keras() computes, and the default would not leave pixel 255 out:
    weights = keras_sample_weight(W)
    assert keras(weights, reduction="mean_with_sample_weight") == pytest.approx(torch_mean(W))
    assert keras(weights * 2, reduction="mean_with_sample_weight") == pytest.approx(torch_mean(W))
    assert keras(weights * 2) == pytest.approx(2 * keras(weights))  # the default: no


# --- Every snippet, every class layout, run against the numpy stand-ins -------------------
# tests/numpy_frameworks.py stands in for PyTorch and Keras; tests/test_frameworks_real.py
# runs the same snippets on the same batches with the real libraries.

from mfb_cli.show.sampling import PRIOR_FORMATS, SAMPLING_FORMATS  # noqa: E402

from . import snippet_layouts as lay  # noqa: E402
from .numpy_frameworks import keras_modules, torch_modules  # noqa: E402


def _torch_weights_loss(layout, logits, target, record=None):
    names = lay.run(WEIGHTS_FORMATS["torch"](record or lay.weights_of(layout)), torch_modules())
    to_target = names.get("training_target", lambda t: t)
    return names["criterion"](logits, to_target(target))


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_torch_weights_snippet_trains_what_it_says(layout):
    record = lay.weights_of(layout)
    assert len(record["weights"]) == layout.classes
    for seed in range(3):
        logits, target = lay.batch(layout, seed)
        expected = lay.expected_loss(layout, record["weights"], logits, target, "weights")
        # The snippet's weights are float32, as the logits: a few units in the 7th digit.
        assert _torch_weights_loss(layout, logits, target) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
@pytest.mark.parametrize("output_format", ["torch", "keras", "priors"])
def test_void_and_ignored_pixels_change_nothing(layout, output_format):
    """No gradient, exactly: any change to the logits of a void or ignored pixel leaves the
    snippet's loss bit for bit the same (void pixels weigh 0; ignored ones are left out)."""
    logits, target = lay.batch(layout)
    dropped = np.isin(target, sorted(layout.dropped))
    if not dropped.any():
        return
    changed = logits.copy()
    changed.transpose(0, 2, 3, 1)[dropped] += np.float32(5.0)
    losses = [
        _loss(output_format, layout, batch_logits, target) for batch_logits in (logits, changed)
    ]
    assert losses[0] == losses[1]


def _loss(output_format, layout, logits, target):
    if output_format == "torch":
        return _torch_weights_loss(layout, logits, target)
    if output_format == "keras":
        return _keras_loss(layout, logits, target)
    names = lay.run(PRIOR_FORMATS["torch"](lay.priors_of(layout)), torch_modules())
    return names["training_loss"](logits.view(type(names["LOG_PRIOR"])), target)


def _keras_loss(layout, logits, target, record=None):
    names = lay.run(WEIGHTS_FORMATS["keras"](record or lay.weights_of(layout)), keras_modules())
    channels_last = logits.transpose(0, 2, 3, 1)
    _, label, sample_weight = names["add_sample_weights"](channels_last, target)
    return names["loss"](label, channels_last, sample_weight=sample_weight)


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_keras_weights_snippet_trains_what_it_says(layout):
    record = lay.weights_of(layout)
    for seed in range(3):
        logits, target = lay.batch(layout, seed)
        expected = lay.expected_loss(layout, record["weights"], logits, target, "weights")
        assert _keras_loss(layout, logits, target) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_priors_snippet_leaves_void_and_ignored_labels_out(layout):
    """The loss of the adjusted logits over the pixels that are neither void nor ignored;
    with --void 11 the void pixels are no target (before, they were trained as class 11)."""
    record = lay.priors_of(layout)
    names = lay.run(PRIOR_FORMATS["torch"](record), torch_modules())
    as_tensor = type(names["LOG_PRIOR"])
    for seed in range(3):
        logits, target = lay.batch(layout, seed)
        for tau in (1.0, 0.5):
            offset = tau * np.asarray(record["log_prior"], dtype=np.float32)
            expected = lay.expected_loss(layout, None, logits, target, "weights", offset)
            got = names["training_loss"](logits.view(as_tensor), target, tau=tau)
            assert got == pytest.approx(expected, rel=1e-6)
        assert names["adjusted_logits"](logits, training=False) is logits


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_mmseg_snippet_config_trains_what_it_says(layout):
    """The config's class_weight and ignore_index through mmseg's reductions (numpy, above):
    0.30-1.1.x divide by the non-ignored pixels, void included; 1.2.x with the snippet's
    loss by the sum of the weights."""
    record = lay.weights_of(layout)
    head = lay.run(WEIGHTS_FORMATS["mmseg"](record))["model"]["decode_head"]
    assert head["num_classes"] == layout.classes
    loss = head["loss_decode"]
    assert loss["_delete_"] is True and loss["class_weight"] == record["weights"]
    ignore = head.get("ignore_index", 255)  # mmseg's decode head default
    for seed in range(2):
        logits, target = lay.batch(layout, seed)
        if len(layout.ignore) > 1:  # the snippet says: remap the others to the kept one
            target = np.where(np.isin(target, layout.ignore), ignore, target)
        losses = lay.pixel_losses(logits, target)
        values = np.asarray([losses.get(p, 7.0) for p in np.ndindex(*target.shape)])
        flat = target.reshape(-1)
        pixels = lay.expected_loss(layout, record["weights"], logits, target, "pixels")
        weights = lay.expected_loss(layout, record["weights"], logits, target, "weights")
        assert _mmseg_reduction(loss["class_weight"], flat, ignore, values, "pixels") == (
            pytest.approx(pixels, rel=1e-6)
        )
        assert _mmseg_reduction(loss["class_weight"], flat, ignore, values, "weights") == (
            pytest.approx(weights, rel=1e-6)
        )


def _mmseg_reduction(class_weight, target, ignore, loss, divide_by):
    """mmseg_0x_1_1 ("pixels") and ignore_safe_1_2 ("weights") above, on these per-pixel
    losses (their eps is float32's, ~1e-7, far below the tolerance)."""
    values, keep = per_pixel(class_weight, target, ignore, loss)
    if divide_by == "pixels":
        return float(values.sum() / (keep.sum() + FLOAT32_EPS))
    return float(values.sum() / (np.asarray(class_weight)[target[keep]].sum() + FLOAT32_EPS))


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_caffe_snippet_trains_what_it_says(layout):
    """caffe-segnet divides by the non-ignored pixels, void (weight 0) included."""
    record = lay.weights_of(layout)
    text = WEIGHTS_FORMATS["caffe"](record)
    weights, ignore = lay.caffe_loss_param(text)
    assert weights == record["weights"]  # one class_weighting per output channel
    assert "number of\n# non-ignored pixels, void (weight-0) pixels included" in text
    for seed in range(2):
        logits, target = lay.batch(layout, seed)
        if len(layout.ignore) > 1:
            target = np.where(np.isin(target, layout.ignore), ignore, target)
        expected = lay.expected_loss(layout, record["weights"], logits, target, "pixels")
        assert lay.caffe_segnet(weights, ignore, logits, target) == pytest.approx(expected)


def test_the_old_priors_loss_is_what_the_stand_in_refuses():
    """The stand-in meets a wrong layout as PyTorch does: class 11 of 11 channels."""
    from .numpy_frameworks import cross_entropy

    layout = lay.LAYOUTS[2]  # SegNet's 11: 11 channels, label 11 ignored
    logits, target = lay.batch(layout)
    with pytest.raises(IndexError, match="Target 11 is out of bounds"):
        cross_entropy(logits, target, ignore_index=255)


@pytest.mark.parametrize("layout", lay.LAYOUTS[:3], ids=lay.LAYOUT_IDS[:3])
@pytest.mark.parametrize("threshold", [0.1, 0.5, 2.0])
def test_repeat_factor_sampler_epoch_is_the_reported_effect(layout, threshold):
    """One epoch holds image i exactly ceil(r(I)) times: the effect's draws, every image."""
    record = lay.sampling_of(layout, threshold=threshold)
    names = lay.run(SAMPLING_FORMATS["torch"](record), torch_modules())
    repeats = [row["weight"] for row in record["images"]]
    assert names["REPEATS"] == repeats and all(r == int(r) for r in repeats)
    assert names["IMAGES"] == [row["image"] for row in record["images"]]
    sampler = names["sampler"]
    for _ in range(3):  # every epoch, each in its own order
        epoch = list(sampler)
        assert np.bincount(epoch, minlength=len(repeats)).tolist() == repeats
        assert len(epoch) == len(sampler) == record["effect"]["draws_per_epoch"]
        assert record["effect"]["distinct_images_per_epoch"] == len(repeats)


def test_repeat_factor_sampler_with_stochastic_rounding():
    layout = lay.LAYOUTS[0]
    record = lay.sampling_of(layout, threshold=2.0, rounding="stochastic")
    names = lay.run(SAMPLING_FORMATS["torch"](record), torch_modules())
    repeats = np.asarray(names["REPEATS"])
    assert any(r != int(r) for r in repeats)
    for _ in range(5):
        counts = np.bincount(list(names["sampler"]), minlength=len(repeats))
        assert (np.floor(repeats) <= counts).all() and (counts <= np.ceil(repeats)).all()


@pytest.mark.parametrize("scheme", ["weighted", "rare-class"])
def test_weighted_sampler_snippet_draws_with_the_record_probabilities(scheme):
    layout = lay.LAYOUTS[0]
    options = {"min_pixels": 1} if scheme == "rare-class" else {}
    record = lay.sampling_of(layout, scheme, **options)
    names = lay.run(SAMPLING_FORMATS["torch"](record), torch_modules())
    sampler = names["sampler"]
    assert sampler.weights.tolist() == [row["probability"] for row in record["images"]]
    assert sampler.replacement and len(sampler) == record["effect"]["draws_per_epoch"]
