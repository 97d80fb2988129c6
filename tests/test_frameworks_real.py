"""The emitted snippets, run against the real frameworks (the optional ``frameworks`` group).

pip install -e '.[test,frameworks]' && python -m pytest -m frameworks -rs

The extra is light: PyTorch, Keras 3 (run here on the torch backend, no TensorFlow),
mmengine-lite and mmsegmentation 1.2.2 (whose own __init__ wants mmcv's compiled ops: the
loss and registry modules are loaded without it, see ``_mmseg``).

Each test imports its framework and skips, with the reason, when it is missing, so the
default ``python -m pytest`` passes without them. The expected numbers are those of the
numpy re-implementations in tests/test_frameworks.py (the worked example of docs/frameworks.md).
"""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pytest

from mfb_cli.show.sampling import PRIOR_FORMATS, SAMPLING_FORMATS
from mfb_cli.show.weights_formats import WEIGHTS_FORMATS

from . import snippet_layouts as lay
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
    keras_module = _keras()
    sample_weight = np.where(target == 255, 0.0, np.asarray([*weights, 0])[np.minimum(target, 5)])
    labels = np.where(target == 255, 0, target)
    for reduction in ("sum_over_batch_size", "mean_with_sample_weight"):
        function = keras_module.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction=reduction
        )
        real = float(function(labels, scores, sample_weight=sample_weight))
        expected = keras(sample_weight, loss, reduction=reduction)
        assert real == pytest.approx(expected, rel=1e-5)


def _keras():
    """Keras 3 on the torch backend (the extra installs no TensorFlow); KERAS_BACKEND, when
    set, wins. Imported once: a later call gets the same backend."""
    import os

    if "keras" not in sys.modules and "KERAS_BACKEND" not in os.environ:
        pytest.importorskip("torch", reason="PyTorch (Keras's backend here) is not installed")
        os.environ["KERAS_BACKEND"] = "torch"
    return pytest.importorskip("keras", reason="Keras 3 is not installed")


def test_keras_snippet_leaves_weight_0_pixels_out_of_the_average():
    keras_module = _keras()
    logits = logits_for()[:, None]  # (1, 1, 5, 3): one image, one row, channels last
    label = TARGET.reshape(1, 1, 5).astype(np.uint8)
    for weights, default in ((W, 0.78), (DOUBLED, 1.56)):
        names = snippet("keras", weights)
        _, new_label, sample_weight = names["add_sample_weights"](logits, label)
        sample_weight = np.asarray(keras_module.ops.convert_to_numpy(sample_weight))
        assert sample_weight.tolist() == [[[*weights[:1] * 2, weights[1], weights[2], 0]]]
        loss = names["loss"](new_label, logits, sample_weight=sample_weight)
        assert float(loss) == pytest.approx(0.78, rel=1e-5)
        # Keras's default reduction counts the weight-0 pixel: sum / 5 pixels.
        plain = keras_module.losses.SparseCategoricalCrossentropy(from_logits=True)
        assert float(plain(new_label, logits, sample_weight=sample_weight)) == pytest.approx(
            default, rel=1e-5
        )
        # The route a training script takes: compile, then evaluate with the sample weights.
        inputs = keras_module.Input(shape=(1, 5, 3))
        model = keras_module.Model(inputs, keras_module.layers.Identity()(inputs))
        model.compile(loss=names["loss"])
        x, y, _ = names["add_sample_weights"](logits, label)
        evaluated = model.evaluate(
            x, keras_module.ops.convert_to_numpy(y), sample_weight=sample_weight, verbose=0
        )
        assert evaluated == pytest.approx(0.78, rel=1e-5)


def test_keras_class_weight_fails_on_per_pixel_targets():
    """What the Keras snippet says of fit(class_weight=...) (Keras 3.15.1): it maps one
    class per sample to a weight, and fails on (N, H, W) targets."""
    _keras()
    from keras.src.trainers.data_adapters.data_adapter_utils import (
        class_weight_to_sample_weights,
    )

    weights = {0: 10.0, 1: 20.0, 2: 30.0}
    assert np.asarray(class_weight_to_sample_weights(np.array([2, 0]), weights)).tolist() == [
        30.0,
        10.0,
    ]
    labels = np.array([[[0, 2, 1], [1, 1, 0]], [[1, 1, 0], [2, 2, 2]]])  # (N=2, H=2, W=3)
    with pytest.raises(TypeError):
        class_weight_to_sample_weights(labels, weights)


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


def _mmseg():
    """mmsegmentation's own loss and registry modules, loaded without its package __init__,
    which asserts an mmcv release whose compiled ops have no wheel here (mmseg 1.2.2 wants
    mmcv >= 2.0.0rc4, < 2.2.0). Nothing else of mmseg is needed by the snippets."""
    import importlib
    import importlib.util
    from pathlib import Path

    pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("mmengine", reason="mmengine is not installed")
    if "mmseg" in sys.modules:  # loaded before (as below, or whole where mmcv is there)
        pass
    else:
        found = importlib.util.find_spec("mmseg")
        if found is None or found.origin is None:
            pytest.skip("mmsegmentation is not installed")
        root = Path(found.origin).parent
        for name in ("mmseg", "mmseg.models", "mmseg.models.losses"):
            package = types.ModuleType(name)
            package.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
            sys.modules[name] = package
    losses = importlib.import_module("mmseg.models.losses.cross_entropy_loss")
    sys.modules["mmseg.models.losses"].CrossEntropyLoss = losses.CrossEntropyLoss
    registry = importlib.import_module("mmseg.registry")
    for one in (registry.MODELS, registry.DATASETS):
        one._imported = True  # its locations (mmseg.models, .datasets) import mmcv's ops
    version = importlib.import_module("mmseg.version").__version__
    return version, losses.CrossEntropyLoss


_LOSS_CLASS: list[type] = []


def _ignore_safe_class():
    """The snippet's IgnoreSafeCrossEntropyLoss, registered once in mmseg's MODELS."""
    _mmseg()
    if not _LOSS_CLASS:
        names: dict[str, object] = {}
        exec(_ignore_safe_loss_source(), names)
        _LOSS_CLASS.append(names["IgnoreSafeCrossEntropyLoss"])
    return _LOSS_CLASS[0]


def _mmseg_losses():
    return _mmseg()


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
    loss_class = _ignore_safe_class()
    logits, target = _mmseg_inputs(torch)
    for weights in (W, DOUBLED):
        loss = loss_class(class_weight=weights, avg_non_ignore=True)
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


# --- Every snippet, every class layout, on the real frameworks ----------------------------
# The same batches and expected losses as tests/test_frameworks.py's numpy stand-ins.


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed")


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_torch_weights_snippet_on_every_layout(layout):
    """PyTorch 2.13.0: the loss is the expected one; void and ignored pixels get exactly no
    gradient, every other pixel some."""
    torch = _torch()
    record = lay.weights_of(layout)
    names = lay.run(WEIGHTS_FORMATS["torch"](record))
    assert names["weight"].dtype == torch.float32 and len(names["weight"]) == layout.classes
    to_target = names.get("training_target", lambda t: t)
    for seed in range(3):
        logits, target = lay.batch(layout, seed)
        scores = torch.from_numpy(logits).requires_grad_()
        loss = names["criterion"](scores, to_target(torch.from_numpy(target)))
        expected = lay.expected_loss(layout, record["weights"], logits, target, "weights")
        assert float(loss) == pytest.approx(expected, rel=1e-5)
        loss.backward()
        _no_gradient_where_dropped(layout, record["weights"], scores.grad.numpy(), target)


def _no_gradient_where_dropped(layout, weights, grad, target):
    pixel_grad = np.abs(grad).sum(axis=1)  # (N, H, W)
    dropped = np.isin(target, sorted(layout.dropped))
    assert (pixel_grad[dropped] == 0).all()
    trained = ~dropped
    if weights is not None:
        trained &= np.asarray(weights)[np.where(dropped, 0, target)] > 0
    assert (pixel_grad[trained] > 0).all()


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_torch_priors_snippet_on_every_layout(layout):
    torch = _torch()
    record = lay.priors_of(layout)
    names = lay.run(PRIOR_FORMATS["torch"](record))
    for seed in range(3):
        logits, target = lay.batch(layout, seed)
        scores = torch.from_numpy(logits).requires_grad_()
        loss = names["training_loss"](scores, torch.from_numpy(target))
        offset = np.asarray(record["log_prior"], dtype=np.float32)
        expected = lay.expected_loss(layout, None, logits, target, "weights", offset)
        assert float(loss) == pytest.approx(expected, rel=1e-5)
        loss.backward()
        _no_gradient_where_dropped(layout, None, scores.grad.numpy(), target)
        plain = names["adjusted_logits"](scores, training=False)
        assert plain is scores


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_keras_weights_snippet_on_every_layout(layout):
    keras_module = _keras()
    record = lay.weights_of(layout)
    names = lay.run(WEIGHTS_FORMATS["keras"](record))
    for seed in range(2):
        logits, target = lay.batch(layout, seed)
        channels_last = np.ascontiguousarray(logits.transpose(0, 2, 3, 1))
        _, label, sample_weight = names["add_sample_weights"](channels_last, target)
        loss = names["loss"](label, channels_last, sample_weight=sample_weight)
        expected = lay.expected_loss(layout, record["weights"], logits, target, "weights")
        assert float(keras_module.ops.convert_to_numpy(loss)) == pytest.approx(expected, rel=1e-5)


def test_torch_tensor_of_the_library_result_just_works():
    """torch.tensor(result) and torch.from_numpy(np.asarray(result)) are float32 and train
    against float32 logits (PyTorch 2.13.0)."""
    torch = _torch()
    from pathlib import Path

    from mfb_cli import compute_class_weights

    samples = Path(__file__).resolve().parent.parent / "sample_masks"
    result = compute_class_weights(samples, void=[11])
    logits = torch.zeros((1, 12, 2, 2))
    target = torch.tensor([[[0, 1], [2, 11]]])
    for weight in (torch.tensor(result), torch.from_numpy(np.asarray(result))):
        assert weight.dtype == torch.float32 and weight.tolist() == pytest.approx(list(result))
        assert float(torch.nn.CrossEntropyLoss(weight=weight)(logits, target)) == (
            pytest.approx(np.log(12), rel=1e-6)
        )


@pytest.mark.parametrize("rounding", ["ceil", "stochastic"])
def test_repeat_factor_sampler_on_real_torch(rounding):
    _torch()
    record = lay.sampling_of(lay.LAYOUTS[0], threshold=2.0, rounding=rounding)
    names = lay.run(SAMPLING_FORMATS["torch"](record))
    repeats = np.asarray(names["REPEATS"])
    from torch.utils.data import DataLoader

    loader = DataLoader(list(range(len(repeats))), batch_size=4, sampler=names["sampler"])
    for _ in range(3):
        counts = np.bincount(np.concatenate([b.numpy() for b in loader]), minlength=len(repeats))
        if rounding == "ceil":
            assert counts.tolist() == repeats.tolist()
            assert counts.sum() == record["effect"]["draws_per_epoch"]
        else:
            assert (np.floor(repeats) <= counts).all() and (counts <= np.ceil(repeats)).all()


def test_weighted_sampler_snippet_on_real_torch():
    torch = _torch()
    record = lay.sampling_of(lay.LAYOUTS[0], "weighted")
    sampler = lay.run(SAMPLING_FORMATS["torch"](record))["sampler"]
    assert isinstance(sampler, torch.utils.data.WeightedRandomSampler)
    assert sampler.weights.tolist() == [row["probability"] for row in record["images"]]
    assert len(list(sampler)) == record["effect"]["draws_per_epoch"]


def test_mmengine_class_balanced_dataset_repeats_as_mfb_says():
    """mmengine 0.10.7's ClassBalancedDataset over the snippet's CatIdsDataset repeats each
    image ceil(r(I)) times: mfb's repeat factors, image for image."""
    _mmseg()
    from mmengine.dataset import ClassBalancedDataset
    from mmseg.registry import DATASETS

    layout = lay.LAYOUTS[0]
    threshold = 2.0
    record = lay.sampling_of(layout, threshold=threshold)
    names = lay.run(SAMPLING_FORMATS["mmengine"]({**record, "threshold": threshold}))

    from mmengine.dataset import BaseDataset

    @DATASETS.register_module(force=True)
    class TinySegDataset(BaseDataset):
        """An mmengine dataset of label paths only (as mmseg's give seg_map_path)."""

        def __init__(self, paths):
            self.paths = paths
            super().__init__(lazy_init=True)

        def full_init(self):
            pass

        def __len__(self):
            return len(self.paths)

        def get_data_info(self, idx):
            return {"seg_map_path": f"data/ann/{self.paths[idx]}"}

    images = [row["image"] for row in record["images"]]
    dataset = DATASETS.build(
        {"type": "CatIdsDataset", "base_type": "TinySegDataset", "paths": images}
    )
    balanced = ClassBalancedDataset(dataset, oversample_thr=threshold)
    counts = np.bincount(balanced.repeat_indices, minlength=len(images)).tolist()
    assert counts == [int(row["weight"]) for row in record["images"]]
    assert len(balanced) == record["effect"]["draws_per_epoch"]
    assert names["CAT_IDS"] == {row["image"]: row["classes"] for row in record["images"]}


def _mmseg_text(layout=None):
    record = record_of_the_example() if layout is None else lay.weights_of(layout)
    return WEIGHTS_FORMATS["mmseg"](record), record


@pytest.mark.parametrize("base_loss", ["list", "dict"])
def test_mmseg_snippet_merges_into_a_base_config(tmp_path, base_loss):
    """mmengine 0.10.7: the snippet as a child of a base whose loss_decode is a list of
    losses (or a dict) replaces it whole, thanks to _delete_=True; without it, a list base
    is refused."""
    pytest.importorskip("mmengine", reason="mmengine is not installed")
    from mmengine.config import Config

    losses = (
        "[dict(type='CrossEntropyLoss', loss_weight=1.0), dict(type='DiceLoss', loss_weight=3.0)]"
        if base_loss == "list"
        else "dict(type='CrossEntropyLoss', loss_weight=1.0, loss_name='loss_ce')"
    )
    (tmp_path / "base.py").write_text(
        f"model = dict(decode_head=dict(type='FCNHead', num_classes=19, loss_decode={losses}))\n"
    )
    text, record = _mmseg_text()
    (tmp_path / "child.py").write_text("_base_ = ['./base.py']\n" + text)
    head = Config.fromfile(str(tmp_path / "child.py")).model.decode_head
    assert head.type == "FCNHead" and head.num_classes == 3 and head.ignore_index == 255
    assert dict(head.loss_decode) == {
        "type": "CrossEntropyLoss",
        "use_sigmoid": False,
        "loss_weight": 1.0,
        "avg_non_ignore": True,
        "class_weight": record["weights"],
    }
    if base_loss == "list":
        (tmp_path / "plain.py").write_text(
            "_base_ = ['./base.py']\n" + text.replace("            _delete_=True,\n", "")
        )
        with pytest.raises(TypeError, match="You may set `_delete_=True`"):
            Config.fromfile(str(tmp_path / "plain.py"))


def _recipe_module(text: str, first: str) -> str:
    """The lines of a snippet from ``first`` on, without their '# ' (as the recipe says)."""
    block = text[text.index(first) :].splitlines()
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in block)


_LOADER = """
import importlib.util, sys, types
from pathlib import Path
root = Path(importlib.util.find_spec('mmseg').origin).parent
for name in ('mmseg', 'mmseg.models', 'mmseg.models.losses'):
    package = types.ModuleType(name)
    package.__path__ = [str(root.joinpath(*name.split('.')[1:]))]
    sys.modules[name] = package
import mmseg.models.losses.cross_entropy_loss as ce
sys.modules['mmseg.models.losses'].CrossEntropyLoss = ce.CrossEntropyLoss
import mmseg.registry
mmseg.registry.MODELS._imported = mmseg.registry.DATASETS._imported = True  # no mmcv here
from mmengine.config import Config
cfg = Config.fromfile(sys.argv[1])
from mmseg.registry import DATASETS, MODELS
print(MODELS.get('IgnoreSafeCrossEntropyLoss'), DATASETS.get('CatIdsDataset'))
"""


def test_the_custom_imports_recipes_work_as_written(tmp_path):
    """Both recipes (mmseg 1.2's loss class, mmengine's dataset wrapper): saved in the
    config's folder, named in custom_imports, found with PYTHONPATH as the snippet says,
    and refused without it (mmengine 0.10.7 imports by module name only)."""
    import os
    import subprocess

    _mmseg()
    text, _ = _mmseg_text()
    (tmp_path / "ignore_safe_ce.py").write_text(_recipe_module(text, "# import torch"))
    sampling = SAMPLING_FORMATS["mmengine"](lay.sampling_of(lay.LAYOUTS[0]))
    (tmp_path / "cat_ids_dataset.py").write_text(sampling[sampling.index("import os.path") :])
    config = tmp_path / "config.py"
    config.write_text(
        "custom_imports = dict(imports=['ignore_safe_ce', 'cat_ids_dataset'], "
        "allow_failed_imports=False)\n"
        "model = dict(decode_head=dict(loss_decode=dict(type='IgnoreSafeCrossEntropyLoss')))\n"
    )
    assert "custom_imports = dict(imports=['ignore_safe_ce'], allow_failed_imports=False)" in text
    assert "PYTHONPATH=path/to/folder python tools/train.py path/to/config.py" in text
    assert "PYTHONPATH=path/to/folder python tools/train.py path/to/config.py" in sampling
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = tmp_path.parent / f"{tmp_path.name}_load.py"
    script.write_text(_LOADER)
    elsewhere = tmp_path.parent  # not the config's folder: as tools/train.py runs

    def load(**extra):
        return subprocess.run(
            [sys.executable, str(script), str(config)],
            cwd=elsewhere,
            env={**environment, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    found = load(PYTHONPATH=str(tmp_path))
    assert found.returncode == 0, found.stderr
    assert "IgnoreSafeCrossEntropyLoss" in found.stdout and "CatIdsDataset" in found.stdout
    missing = load()
    assert missing.returncode != 0 and "ignore_safe_ce" in missing.stderr


@pytest.mark.parametrize("layout", lay.LAYOUTS, ids=lay.LAYOUT_IDS)
def test_mmseg_1_2_loss_of_the_snippet_on_every_layout(layout):
    """mmseg 1.2.2's own CrossEntropyLoss under the snippet's class: the expected loss (sum
    of the weights) on every layout, ignored labels included."""
    torch = _torch()
    _mmseg()
    text, record = _mmseg_text(layout)
    head = lay.run(text)["model"]["decode_head"]
    ignore = head.get("ignore_index", 255)
    loss = _ignore_safe_class()(
        class_weight=head["loss_decode"]["class_weight"], avg_non_ignore=True
    )
    for seed in range(2):
        logits, target = lay.batch(layout, seed)
        if len(layout.ignore) > 1:  # the snippet says: remap the others to the kept one
            target = np.where(np.isin(target, layout.ignore), ignore, target)
        got = loss(torch.from_numpy(logits), torch.from_numpy(target), ignore_index=ignore)
        expected = lay.expected_loss(layout, record["weights"], logits, target, "weights")
        assert float(got) == pytest.approx(expected, rel=1e-5)
