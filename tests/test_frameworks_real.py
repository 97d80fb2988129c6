"""The emitted snippets, run against the real frameworks (the optional ``frameworks`` group).

pip install -e '.[test,frameworks]' && python -m pytest -m frameworks -rs

Each test imports its framework and skips, with the reason, when it is missing, so the
default ``python -m pytest`` passes without them. The expected numbers are those of the
numpy re-implementations in tests/test_frameworks.py (the README's worked example).
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pytest

from mfb_cli.show.weights_formats import WEIGHTS_FORMATS

from .test_frameworks import DOUBLED, LOSS, TARGET, W, keras, record_of_the_example, torch_mean

pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"),  # from mmengine/torch
]


def snippet(output_format: str, weights: list[float]) -> dict[str, object]:
    """Run the snippet for the worked example (ignore 255) with ``weights``."""
    record = {**record_of_the_example(), "weights": weights}
    namespace: dict[str, object] = {}
    exec(compile(WEIGHTS_FORMATS[output_format](record), f"<{output_format}>", "exec"), namespace)
    return namespace


def logits_for(loss=LOSS, target=TARGET, classes=3):
    """(1, 5, classes) scores whose softmax cross-entropy against ``target`` is ``loss``:
    true-class score a with log(1 + (classes - 1) e^-a) = l, every other score 0."""
    scores = np.zeros((1, len(target), classes), dtype=np.float32)
    for i, (value, label) in enumerate(zip(loss, target, strict=True)):
        scores[0, i, label if label < classes else 0] = -math.log(
            (math.exp(value) - 1) / (classes - 1)
        )
    return scores


def test_torch_snippet_divides_by_the_weight_sum():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    logits = torch.from_numpy(logits_for()).permute(0, 2, 1).unsqueeze(-1)  # (N, C, H, W)
    target = torch.from_numpy(TARGET).reshape(1, -1, 1)
    for weights in (W, DOUBLED):
        criterion = snippet("torch", weights)["criterion"]
        assert criterion.ignore_index == 255
        assert float(criterion(logits, target)) == pytest.approx(0.78, rel=1e-6)


def _random_case(seed):
    """Scores (N, H, W, C), labels with some 255, weights, and numpy's cross-entropy."""
    generator = np.random.default_rng(seed)
    scores = generator.normal(size=(2, 3, 4, 5)).astype(np.float32)
    target = generator.integers(0, 5, size=(2, 3, 4))
    target[generator.random(target.shape) < 0.2] = 255
    weights = generator.uniform(0, 4, size=5).round(3).tolist()
    shifted = scores - scores.max(axis=-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    loss = -np.take_along_axis(log_softmax, np.where(target == 255, 0, target)[..., None], -1)
    return scores, target, weights, loss[..., 0]


@pytest.mark.parametrize("seed", range(5))
def test_the_numpy_reductions_are_the_real_ones(seed):
    """test_frameworks.py's torch_mean and keras re-implementations, on random data."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    scores, target, weights, loss = _random_case(seed)
    criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights), ignore_index=255)
    real = float(criterion(torch.from_numpy(scores).permute(0, 3, 1, 2), torch.from_numpy(target)))
    assert real == pytest.approx(torch_mean(weights, target, 255, loss), rel=1e-5)
    tf = pytest.importorskip("tensorflow", reason="TensorFlow (Keras 3) is not installed")
    sample_weight = np.where(target == 255, 0.0, np.asarray([*weights, 0])[np.minimum(target, 5)])
    labels = np.where(target == 255, 0, target)
    for reduction in ("sum_over_batch_size", "mean_with_sample_weight"):
        function = tf.keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction=reduction
        )
        real = float(function(labels, scores, sample_weight=sample_weight))
        expected = keras(sample_weight, loss, reduction=reduction)
        assert real == pytest.approx(expected, rel=1e-5)


def test_keras_snippet_leaves_weight_0_pixels_out_of_the_average():
    tf = pytest.importorskip("tensorflow", reason="TensorFlow (Keras 3) is not installed")
    keras = tf.keras
    logits = tf.constant(logits_for()[:, None])  # (1, 1, 5, 3): one image, one row
    label = tf.constant(TARGET.reshape(1, 1, 5), dtype=tf.uint8)
    for weights, default in ((W, 0.78), (DOUBLED, 1.56)):
        names = snippet("keras", weights)
        _, new_label, sample_weight = names["add_sample_weights"](logits, label)
        assert sample_weight.numpy().tolist() == [[[*weights[:1] * 2, weights[1], weights[2], 0]]]
        # The snippet's loss: divided by the weight sum, like PyTorch.
        loss = names["loss"](new_label, logits, sample_weight=sample_weight)
        assert float(loss) == pytest.approx(0.78, rel=1e-5)
        # Keras's default reduction counts the weight-0 pixel: sum / 5 pixels.
        plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        assert float(plain(new_label, logits, sample_weight=sample_weight)) == pytest.approx(
            default, rel=1e-5
        )
        # The route a training script takes: dataset.map, then compile / evaluate.
        data = tf.data.Dataset.from_tensors((logits[0], label[0])).batch(1)
        inputs = keras.Input(shape=(1, 5, 3))
        model = keras.Model(inputs, keras.layers.Identity()(inputs))
        model.compile(loss=names["loss"])
        evaluated = model.evaluate(data.map(names["add_sample_weights"]), verbose=0)
        assert evaluated == pytest.approx(0.78, rel=1e-5)


def test_mmseg_snippet_is_a_config_mmengine_reads():
    pytest.importorskip("mmengine", reason="mmengine is not installed")
    from mmengine.config import Config

    text = WEIGHTS_FORMATS["mmseg"](record_of_the_example())
    head = Config.fromstring(text, ".py").model.decode_head
    assert head.ignore_index == 255
    assert head.loss_decode.class_weight == [0.5, 1.0, 3.0]
    assert head.loss_decode.avg_non_ignore is True


def _ignore_safe_loss_source() -> str:
    """The 1.2.x loss class the mmseg snippet carries in comments, uncommented."""
    text = WEIGHTS_FORMATS["mmseg"](record_of_the_example())
    block = text[text.index("# import torch") :].splitlines()
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in block)


def _mmseg_losses():
    try:
        import mmseg
        from mmseg.models.losses import CrossEntropyLoss
    except Exception as error:  # mmseg needs mmcv's compiled ops: often not installable
        pytest.skip(f"mmsegmentation's loss does not import here: {error!r:.120}")
    return mmseg.__version__, CrossEntropyLoss


def _mmseg_inputs(torch):
    logits = torch.from_numpy(logits_for()).permute(0, 2, 1).unsqueeze(-1)
    return logits, torch.from_numpy(TARGET).reshape(1, -1, 1)


def test_mmseg_stock_loss_divides_as_its_version_says():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    version, loss_class = _mmseg_losses()
    logits, target = _mmseg_inputs(torch)
    release = tuple(int(part) for part in version.split(".")[:3] if part.isdigit())
    for weights, pixel_average in ((W, 0.975), (DOUBLED, 1.95)):
        loss = loss_class(class_weight=weights, avg_non_ignore=True)
        if release < (1, 2):
            assert float(loss(logits, target, ignore_index=255)) == pytest.approx(pixel_average)
        elif release < (1, 2, 2):
            with pytest.raises(ValueError, match="only one element tensors"):
                loss(logits, target, ignore_index=255)
        else:
            with pytest.raises(IndexError, match="index 255 is out of bounds"):
                loss(logits, target, ignore_index=255)


def test_mmseg_snippet_loss_class_with_the_installed_mmseg():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    _, _ = _mmseg_losses()
    namespace: dict[str, object] = {}
    exec(_ignore_safe_loss_source(), namespace)
    logits, target = _mmseg_inputs(torch)
    for weights in (W, DOUBLED):
        loss = namespace["IgnoreSafeCrossEntropyLoss"](class_weight=weights, avg_non_ignore=True)
        assert float(loss(logits, target, ignore_index=255)) == pytest.approx(0.78, rel=1e-5)


def test_mmseg_snippet_loss_class_against_1_2_2_logic(monkeypatch):
    """Where mmseg does not import, the snippet's class still runs on real torch over a
    stand-in base class written from mmsegmentation 1.2.2's
    mmseg/models/losses/cross_entropy_loss.py (CrossEntropyLoss.forward, cross_entropy) and
    utils.py (weight_reduce_loss): the avg_factor it passes must skip the crashing branch."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    functional = torch.nn.functional

    class CrossEntropyLoss(torch.nn.Module):  # 1.2.2, use_sigmoid=False, loss_weight=1
        def __init__(self, class_weight=None, avg_non_ignore=False, reduction="mean"):
            super().__init__()
            self.class_weight, self.avg_non_ignore = class_weight, avg_non_ignore
            self.reduction = reduction

        def forward(self, cls_score, label, weight=None, avg_factor=None, **kwargs):
            ignore_index = kwargs.get("ignore_index", -100)
            class_weight = cls_score.new_tensor(self.class_weight)
            loss = functional.cross_entropy(
                cls_score, label, weight=class_weight, reduction="none", ignore_index=ignore_index
            )
            if avg_factor is None:  # 1.2.2's branch: indexes class_weight by every label
                label_weights = torch.stack([class_weight[cls] for cls in label])
                if self.avg_non_ignore:
                    label_weights[label == ignore_index] = 0
                avg_factor = label_weights.sum()
            return loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)

    losses = types.ModuleType("mmseg.models.losses")
    losses.CrossEntropyLoss = CrossEntropyLoss
    registry = types.ModuleType("mmseg.registry")
    registry.MODELS = types.SimpleNamespace(register_module=lambda: lambda cls: cls)
    monkeypatch.setitem(sys.modules, "mmseg.models.losses", losses)
    monkeypatch.setitem(sys.modules, "mmseg.registry", registry)
    namespace: dict[str, object] = {}
    exec(_ignore_safe_loss_source(), namespace)
    logits, target = _mmseg_inputs(torch)
    with pytest.raises(IndexError, match="index 255 is out of bounds"):
        CrossEntropyLoss(class_weight=W, avg_non_ignore=True)(logits, target, ignore_index=255)
    for weights in (W, DOUBLED):
        loss = namespace["IgnoreSafeCrossEntropyLoss"](class_weight=weights, avg_non_ignore=True)
        assert float(loss(logits, target, ignore_index=255)) == pytest.approx(0.78, rel=1e-5)
