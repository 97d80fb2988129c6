"""Weights as snippets for 3D medical trainers: nnU-Net v2 and MONAI.

nnU-Net v2 (nnunetv2 2.0 to 2.8.1; nnunetv2/training/nnUNetTrainer/nnUNetTrainer.py):
``_build_loss`` makes ``DC_and_CE_loss(soft_dice_kwargs, ce_kwargs={}, ...)``, whose
cross-entropy is ``RobustCrossEntropyLoss(**ce_kwargs)`` (training/loss/compound_losses.py),
a ``torch.nn.CrossEntropyLoss`` given nnU-Net's ignore label as ``ignore_index``; deep
supervision wraps it (``DeepSupervisionWrapper.loss``). The trainer subclass below sets
the weight of that cross-entropy, wherever the wrapper put it. Region-based datasets are
trained with ``DC_and_BCE_loss`` (sigmoid outputs), which has no softmax class weight.

MONAI (monai/losses/dice.py): ``DiceCELoss`` takes the class weights as ``ce_weight`` up
to 1.2, as ``weight`` from 1.3 (``ce_weight`` deprecated in 1.3, removed in 1.4); from 1.3
the same weights also weigh each class's Dice term, up to 1.2 only the cross-entropy. The
snippet picks the name the installed MONAI has.
"""

from __future__ import annotations

import textwrap
from typing import Any

from ..errors import MfbError
from .records import Record, display_names


def _weights(record: Record, name: str = "CLASS_WEIGHTS") -> list[str]:
    """``NAME = [...]`` with one commented line per class id."""
    lines = [f"{name} = ["]
    for c, (weight, label) in enumerate(zip(record["weights"], display_names(record), strict=True)):
        lines.append(f"    {weight!r},  # {c}{'' if label == str(c) else ' ' + label}")
    return [*lines, "]"]


def _head(record: Record, what: str) -> list[str]:
    clip = "none" if record.get("clip") is None else repr(record["clip"])
    count = record.get("source", {}).get("count", "voxels")
    return [
        f"# mfb {record['mfb_version']}: {record['scheme']} weights for {what}, one per class "
        f"id 0..{record['num_classes'] - 1} (normalize {record.get('normalize', 'none')}, "
        f"clip {clip}; counted in {count})",
        *(f"# warning: {' '.join(str(w).split())}" for w in record.get("warnings", [])),
    ]


def _regions(record: Record) -> dict[str, Any]:
    mapping = record.get("source", {}).get("label_mapping", {})
    dataset = mapping.get("dataset") if isinstance(mapping, dict) else None
    regions = dataset.get("regions") if isinstance(dataset, dict) else None
    return regions if isinstance(regions, dict) else {}


def to_nnunet(record: Record) -> str:
    """A trainer subclass giving nnU-Net v2's cross-entropy the class weights."""
    regions = _regions(record)
    if regions:
        raise MfbError(
            f"the dataset.json defines regions ({', '.join(regions)}): nnU-Net trains a "
            "region-based dataset with sigmoid outputs and binary cross-entropy + Dice "
            "(DC_and_BCE_loss), which take no softmax class weights"
        )
    ignored: list[int] = record["ignore"]
    if len(ignored) > 1:  # nnU-Net has one ignore label, the largest id
        others = ", ".join(str(v) for v in ignored if v != max(ignored))
        ignore = (
            f"# Labels {', '.join(map(str, ignored))} are all ignored, but nnU-Net has one\n"
            f"# ignore label ('ignore' in dataset.json, the largest id): relabel {others} to\n"
            f"# {max(ignored)} in labelsTr/ first."
        )
    elif ignored:
        ignore = (
            f"# Ignored value {ignored[0]}: nnU-Net's 'ignore' label, which nnU-Net\n"
            "# gives the cross-entropy itself (ignore_index): it has no weight here."
        )
    else:
        ignore = "# No ignored value: every label id is an output channel."
    return "\n".join(
        [
            *_head(record, "nnU-Net v2"),
            "# nnU-Net v2 (nnunetv2 2.0 to 2.8.1) builds DC_and_CE_loss in",
            "# nnUNetTrainer._build_loss; its cross-entropy is",
            "# RobustCrossEntropyLoss(**ce_kwargs), a torch.nn.CrossEntropyLoss. This trainer",
            "# sets that loss's class weights; the Dice term is unchanged. Save as",
            "# nnUNetTrainerClassWeights.py in",
            "# nnunetv2/training/nnUNetTrainer/ (where nnU-Net finds trainers by name) and run:",
            "#   nnUNetv2_train DATASET CONFIGURATION FOLD -tr nnUNetTrainerClassWeights",
            ignore,
            "import torch",
            "from nnunetv2.training.loss.robust_ce_loss import RobustCrossEntropyLoss",
            "from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer",
            "",
            *_weights(record),
            "",
            "",
            "class nnUNetTrainerClassWeights(nnUNetTrainer):",
            "    def _build_loss(self):",
            "        loss = super()._build_loss()",
            "        weight = torch.tensor(CLASS_WEIGHTS, dtype=torch.float32, device=self.device)",
            "        for module in loss.modules():  # inside DeepSupervisionWrapper when enabled",
            "            if isinstance(module, RobustCrossEntropyLoss):",
            "                module.weight = weight",
            "        return loss",
            "",
        ]
    )


def to_monai(record: Record) -> str:
    """``DiceCELoss`` with the class weights, and ``RandCropByLabelClassesd`` ratios."""
    from ..weigh.crop_ratios import RULE, crop_ratios

    ratios, target, share = crop_ratios(
        record["pixel_counts"], record["image_counts"], record["images"], record["void"]
    )
    names = display_names(record)
    table = [
        f"#   {c} {names[c]}: voxel share {share[c]:.4f}, targeted centres {target[c]:.4f}"
        for c in range(record["num_classes"])
    ]
    ignore = (
        [
            f"# Ignored value(s) {record['ignore']}: DiceCELoss has no ignore index; give those",
            "# voxels a class before the loss (and RandCropByLabelClassesd) sees them.",
        ]
        if record["ignore"]
        else []
    )
    return "\n".join(
        [
            *_head(record, "MONAI"),
            "# DiceCELoss takes class weights as `weight` from MONAI 1.3 on (1.3 also accepts",
            "# the old `ce_weight`, 1.4 removed it) and as `ce_weight` up to 1.2. From 1.3 the",
            "# weights also weigh each class's Dice term; up to 1.2 the cross-entropy only.",
            "# The cross-entropy is torch's: sum(w[y] * loss) / sum(w[y]), so its scale cancels.",
            *ignore,
            "import inspect",
            "",
            "import torch",
            "from monai.losses import DiceCELoss",
            "from monai.transforms import RandCropByLabelClassesd",
            "",
            *_weights(record),
            "# Crop-centre ratios, one per class id (background included), for",
            "# RandCropByLabelClassesd. Rule:",
            *(f"#   {line}" for line in textwrap.wrap(RULE + ".", 84)),
            "# Random crops centre on a class as often as its voxel share; these aim at:",
            *table,
            *_weights({**record, "weights": ratios}, "CROP_RATIOS"),
            "",
            "parameters = inspect.signature(DiceCELoss).parameters",
            'name = "weight" if "weight" in parameters else "ce_weight"  # MONAI <= 1.2',
            "loss_function = DiceCELoss(",
            "    to_onehot_y=True, softmax=True, **{name: torch.tensor(CLASS_WEIGHTS)}",
            ")",
            "crop = RandCropByLabelClassesd(",
            '    keys=["image", "label"],',
            '    label_key="label",',
            "    spatial_size=(96, 96, 96),  # your patch size",
            "    ratios=CROP_RATIOS,",
            f"    num_classes={record['num_classes']},",
            "    num_samples=4,",
            ")",
            "",
        ]
    )
