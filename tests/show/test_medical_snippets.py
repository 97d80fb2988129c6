"""-f nnunet and -f monai: the snippets' losses, in numpy always and in the real frameworks
(the optional ``frameworks`` group: python -m pytest -m frameworks) where installed.

The worked example of tests/test_frameworks.py: targets 0, 0, 1, 2 and one ignored voxel
(nnU-Net's ignore label 3 here), per-voxel cross-entropies 0.2, 0.4, 0.6, 1.0 (7.0 for the
ignored one), weights 0.5, 1, 3: the weighted mean is 3.9 / 5 = 0.78.
"""

from __future__ import annotations

import ast
import math
import types

import numpy as np
import pytest

from mfb_cli.errors import MfbError
from mfb_cli.show.weights_formats import WEIGHTS_FORMATS
from mfb_cli.weigh.crop_ratios import crop_ratios

from ..test_frameworks import W, record_of_the_example, torch_mean

TARGET = np.array([0, 0, 1, 2, 3])
LOSS = np.array([0.2, 0.4, 0.6, 1.0, 7.0])


def nnunet_record() -> dict:
    """The example's record with nnU-Net's ignore label 3 and weights 0.5, 1, 3."""
    return {**record_of_the_example(), "weights": W, "ignore": [3]}


def assigned(text: str, name: str) -> list[float]:
    """The list literal a snippet assigns to ``name``."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return list(ast.literal_eval(node.value))
    raise AssertionError(f"{name} not assigned")


def test_the_nnunet_weights_give_the_weighted_mean_of_torch():
    text = WEIGHTS_FORMATS["nnunet"](nnunet_record())
    weights = assigned(text, "CLASS_WEIGHTS")
    assert weights == W
    assert torch_mean(weights, TARGET, 3, LOSS) == pytest.approx(0.78, rel=1e-12)
    assert "RobustCrossEntropyLoss(**ce_kwargs), a torch.nn.CrossEntropyLoss" in text
    assert "nnUNetv2_train DATASET CONFIGURATION FOLD -tr nnUNetTrainerClassWeights" in text


def test_the_nnunet_snippet_refuses_regions_and_asks_for_one_ignore_label():
    record = nnunet_record()
    record["source"] = {"label_mapping": {"dataset": {"regions": {"whole": [1, 2]}}}}
    with pytest.raises(MfbError, match="region-based dataset"):
        WEIGHTS_FORMATS["nnunet"](record)
    text = WEIGHTS_FORMATS["nnunet"]({**nnunet_record(), "ignore": [3, 255]})
    assert "relabel 3 to\n# 255 in labelsTr/ first" in text


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def monai_dice_ce(scores: np.ndarray, target: np.ndarray, weights: list[float]) -> float:
    """MONAI 1.6.1 monai/losses/dice.py, DiceCELoss(to_onehot_y=True, softmax=True,
    weight=w): DiceLoss per (batch, class) f = 1 - (2 tp + 1e-5) / (2 tp + fp + fn + 1e-5)
    (fp and fn halved from 2 (tp + fp/2 + fn/2)), times w[class], averaged over batch and
    classes; plus nn.CrossEntropyLoss(weight=w): sum w[y] (-log p_y) / sum w[y]."""
    w = np.asarray(weights, dtype=float)
    probabilities = softmax(scores)  # (B, C, ...)
    classes = scores.shape[1]
    onehot = np.moveaxis(np.eye(classes)[target], -1, 1)  # (B, C, ...)
    axes = tuple(range(2, scores.ndim))
    tp = (probabilities * onehot).sum(axis=axes)
    fp = (probabilities * (1 - onehot)).sum(axis=axes)
    fn = ((1 - probabilities) * onehot).sum(axis=axes)
    dice = (1 - (2 * tp + 1e-5) / (2 * tp + fp + fn + 1e-5)) * w[None, :]
    picked = np.take_along_axis(probabilities, target[:, None], axis=1)[:, 0]
    ce = (w[target] * -np.log(picked)).sum() / w[target].sum()
    return float(dice.mean() + ce)


def test_the_monai_snippet_names_each_version_and_its_ratios_follow_the_rule():
    record = {**record_of_the_example(), "weights": W}
    text = WEIGHTS_FORMATS["monai"](record)
    assert assigned(text, "CLASS_WEIGHTS") == W
    assert "`weight` from MONAI 1.3 on" in text and "`ce_weight` up to 1.2" in text
    ratios = assigned(text, "CROP_RATIOS")
    # Naively: the example has 6, 3, 1 labelled pixels of 0, 1, 2 in its one image.
    shares = [6 / 10, 3 / 10, 1 / 10]
    raw = [math.sqrt(s) / 1.0 for s in shares]  # every class is in the one image: p = 1
    assert ratios == pytest.approx([r / sum(raw) for r in raw], rel=1e-12)
    assert sum(ratios) == pytest.approx(1.0)


def test_crop_ratios_raise_classes_found_in_few_cases():
    # Two cases; class 2 in one of them only: its ratio is doubled before normalising.
    ratios, target, share = crop_ratios([36, 3, 6], [2, 2, 1], 2)
    roots = [math.sqrt(36 / 45), math.sqrt(3 / 45), math.sqrt(6 / 45)]
    assert target == pytest.approx([r / sum(roots) for r in roots])
    raw = [roots[0], roots[1], 2 * roots[2]]
    assert ratios == pytest.approx([r / sum(raw) for r in raw])
    assert share == pytest.approx([36 / 45, 3 / 45, 6 / 45])
    assert crop_ratios([5, 0, 5], [1, 0, 1], 1, void=[2])[0] == [1.0, 0.0, 0.0]


def test_the_numpy_dice_ce_weighs_the_classes():
    scores = np.log(np.array([[[0.7, 0.2], [0.2, 0.5], [0.1, 0.3]]]))  # (1, 3 classes, 2)
    target = np.array([[0, 1]])
    plain = monai_dice_ce(scores, target, [1.0, 1.0, 1.0])
    heavier = monai_dice_ce(scores, target, [1.0, 3.0, 1.0])
    assert heavier != plain
    # CE by hand with w = 1: (-log 0.7 - log 0.5) / 2.
    ce = (-math.log(0.7) - math.log(0.5)) / 2
    tp = np.array([0.7, 0.5, 0.0])
    fp = np.array([0.2, 0.2, 0.4])
    fn = np.array([0.3, 0.5, 0.0])
    dice = (1 - (2 * tp + 1e-5) / (2 * tp + fp + fn + 1e-5)).mean()
    assert plain == pytest.approx(ce + dice, rel=1e-12)


# ------------------------------------------------------------------ the real frameworks


@pytest.mark.frameworks
def test_the_nnunet_trainer_gives_nnunets_own_cross_entropy_the_weights():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("nnunetv2", reason="nnU-Net v2 is not installed")
    from nnunetv2.training.loss.robust_ce_loss import RobustCrossEntropyLoss
    from nnunetv2.utilities.label_handling.label_handling import LabelManager

    namespace: dict = {}
    exec(compile(WEIGHTS_FORMATS["nnunet"](nnunet_record()), "<nnunet>", "exec"), namespace)
    trainer_class = namespace["nnUNetTrainerClassWeights"]
    for deep_supervision in (False, True):
        trainer = object.__new__(trainer_class)  # _build_loss needs these attributes only
        trainer.label_manager = LabelManager({"background": 0, "a": 1, "b": 2, "ignore": 3}, None)
        trainer.configuration_manager = types.SimpleNamespace(batch_dice=True)
        trainer.is_ddp = False
        trainer.enable_deep_supervision = deep_supervision
        trainer.device = torch.device("cpu")
        trainer._get_deep_supervision_scales = lambda: [[1, 1, 1], [0.5, 0.5, 0.5]]
        loss = trainer._build_loss()
        found = [m for m in loss.modules() if isinstance(m, RobustCrossEntropyLoss)]
        assert len(found) == 1 and found[0].ignore_index == 3
        # Scores whose softmax cross-entropy against TARGET is LOSS (3 output channels).
        scores = np.zeros((1, 3, 5, 1, 1), dtype=np.float32)
        for i, (value, label) in enumerate(zip(LOSS, TARGET, strict=True)):
            scores[0, label if label < 3 else 0, i] = -math.log((math.exp(value) - 1) / 2)
        value = found[0](torch.from_numpy(scores), torch.from_numpy(TARGET.reshape(1, 1, 5, 1, 1)))
        assert float(value) == pytest.approx(torch_mean(W, TARGET, 3, LOSS), rel=1e-5)


@pytest.mark.frameworks
def test_the_monai_snippet_runs_and_its_loss_equals_numpy():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    pytest.importorskip("monai", reason="MONAI is not installed")
    record = {**record_of_the_example(), "weights": W}
    namespace: dict = {}
    exec(compile(WEIGHTS_FORMATS["monai"](record), "<monai>", "exec"), namespace)
    generator = np.random.default_rng(5)
    scores = generator.normal(size=(2, 3, 4, 3, 2)).astype(np.float32)
    target = generator.integers(0, 3, size=(2, 4, 3, 2))
    value = namespace["loss_function"](
        torch.from_numpy(scores), torch.from_numpy(target[:, None]).float()
    )
    expected = monai_dice_ce(scores.astype(np.float64), target, W)
    assert float(value) == pytest.approx(expected, rel=1e-5)
    assert list(namespace["crop"].cropper.ratios) == namespace["CROP_RATIOS"]
