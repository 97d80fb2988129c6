"""Weights as snippets to paste into PyTorch, mmsegmentation, Keras, Caffe."""

from __future__ import annotations

from .records import Record, display_names


def _one_line(text: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _mmseg_average(record: Record) -> list[str]:
    """How each mmseg version divides the weighted sum (losses/cross_entropy_loss.py)."""
    scale = (
        [
            "#   pixels, so the scale of the weights scales the loss. --normalize pixels made",
            "#   sum over classes of (pixel share x weight) 1: the unweighted loss scale.",
        ]
        if record.get("normalize") == "pixels"
        else [
            "#   pixels, so the scale of the weights scales the loss (and the learning rate):",
            "#   by sum over classes of (pixel share x weight), not by the mean weight.",
            "#   --normalize pixels makes that 1, keeping the unweighted loss scale.",
        ]
    )
    void = (
        [
            "#   Void pixels (weight 0) still count in that average; map them to the ignore",
            "#   value too to leave them out of it.",
        ]
        if record["void"]
        else []
    )
    return [
        "# mmseg's average depends on its version (mmseg/models/losses/cross_entropy_loss.py):",
        "# - 0.30 to 1.1.x: sum(w[y] * loss) / number of non-ignored (avg_non_ignore=True)",
        *scale,
        *void,
        "# - 1.2.x: sum(w[y] * loss) / sum(w[y]) over the non-ignored pixels, like PyTorch:",
        "#   the scale cancels. But the stock loss crashes with class_weight: 1.2.0 and",
        "#   1.2.1 on every (N, H, W) label (upstream issue #3412), 1.2.2 with 'index 255 is",
        "#   out of bounds' as soon as a label is the ignore value, seg_pad_val padding",
        "#   included (#3492, #3734). On 1.2.x use the loss at the end of this snippet.",
        "#   Your version: python -c 'import mmseg; print(mmseg.__version__)'",
    ]


# mmseg 1.2.x: passing avg_factor skips the branch that indexes class_weight by every label.
_MMSEG_12_LOSS = [
    "# mmseg 1.2.x: save the lines below, without their '# ', as ignore_safe_ce.py in a",
    "# folder (the config's, say), add to the config",
    "#   custom_imports = dict(imports=['ignore_safe_ce'], allow_failed_imports=False)",
    '# set type="IgnoreSafeCrossEntropyLoss" above, and train with that folder on the',
    "# import path (mmengine 0.10 imports custom_imports by module name; the config's own",
    "# folder is not searched):",
    "#   PYTHONPATH=path/to/folder python tools/train.py path/to/config.py",
    "# It passes the sum of the weights of the non-ignored pixels as avg_factor, so 1.2's",
    "# crashing branch is skipped (same loss, checked with mmseg 1.2.2).",
    "# import torch",
    "# from mmseg.models.losses import CrossEntropyLoss",
    "# from mmseg.registry import MODELS",
    "#",
    "#",
    "# @MODELS.register_module()",
    "# class IgnoreSafeCrossEntropyLoss(CrossEntropyLoss):",
    "#     def forward(self, cls_score, label, weight=None, avg_factor=None, **kwargs):",
    "#         ignore_index = kwargs.get('ignore_index', -100)",
    "#         mean = (kwargs.get('reduction_override') or self.reduction) == 'mean'",
    "#         if avg_factor is None and self.class_weight is not None and mean:",
    "#             keep = label != ignore_index",
    "#             class_weight = cls_score.new_tensor(self.class_weight)",
    "#             avg_factor = (class_weight[torch.where(keep, label, 0)] * keep).sum()",
    "#         return super().forward(cls_score, label, weight, avg_factor, **kwargs)",
]


def _vector(record: Record, indent: str, extra: str = "") -> str:
    """The weights as Python/list lines, each commented with its class id and name."""
    lines = [
        f"{indent}{weight!r},  # {c}{'' if name == str(c) else ' ' + name}"
        for c, (weight, name) in enumerate(
            zip(record["weights"], display_names(record), strict=True)
        )
    ]
    return "\n".join([*lines, *([indent + extra] if extra else [])])


def _header(record: Record) -> list[str]:
    void = record["void"]
    clip = "none" if record.get("clip") is None else repr(record["clip"])
    return [
        f"# mfb {record['mfb_version']}: {record['scheme']} weights, one per class id "
        f"0..{record['num_classes'] - 1} (normalize {record.get('normalize', 'none')}, "
        f"clip {clip})",
        *(
            [f"# void {', '.join(map(str, void))}: weight 0, so those pixels add nothing"]
            if void
            else []
        ),
        "# The weight of a pixel is the weight of its GROUND-TRUTH class and multiplies that",
        "# pixel's cross-entropy; never multiply the logits or the predictions by it.",
        # The run's warnings travel with the pasted snippet (one line each, never code).
        *(f"# warning: {_one_line(w)}" for w in record.get("warnings", [])),
    ]


def _one_ignore(record: Record, framework: str) -> tuple[int | None, list[str]]:
    """The single ignore value a framework's config accepts, and how to get there."""
    ignore: list[int] = record["ignore"]
    if not ignore:
        return None, [f"# no --ignore value: every label value is a class ({framework})."]
    if len(ignore) == 1:
        return ignore[0], []
    keep, others = max(ignore), [v for v in ignore if v != max(ignore)]
    return keep, [
        f"# labels {', '.join(map(str, ignore))} are all ignored but {framework} takes one",
        f"# ignore value: remap {', '.join(map(str, others))} to {keep} in the ground truth first.",
    ]


def torch_target(drop: list[int], what: str) -> tuple[int | None, list[str], str]:
    """How a torch loss leaves the label values ``drop`` out: its ``ignore_index``, the code
    that maps several values to that one (a ``training_target`` function), and the call
    that gives the loss its target."""
    if not drop:
        return None, [], "target"
    keep = max(drop)
    if len(drop) == 1:
        return keep, [], "target"
    others = [v for v in drop if v != keep]
    return (
        keep,
        [
            f"# {what} {', '.join(map(str, drop))} are left out, and the loss takes one",
            f"# ignore_index: training_target maps {', '.join(map(str, others))} to {keep}.",
            f"OTHERS = torch.tensor({others})",
            "",
            "",
            "def training_target(target):",
            f'    """int64 labels with {", ".join(map(str, others))} replaced by {keep}."""',
            f"    return torch.where(torch.isin(target, OTHERS.to(target.device)), {keep}, target)",
            "",
            "",
        ],
        "training_target(target)",
    )


def to_torch(record: Record) -> str:
    """``nn.CrossEntropyLoss(weight=torch.tensor([...]), ignore_index=...)``."""
    ignore, remap, call = torch_target(list(record["ignore"]), "ignored labels")
    argument = "" if ignore is None else f", ignore_index={ignore}"
    return "\n".join(
        [
            *_header(record),
            "# PyTorch (checked with 2.13.0): reduction='mean' divides by the sum of the",
            "# weights of the target pixels, so the overall scale of the weights cancels and",
            "# weight-0 (void) and ignored pixels get no gradient (a batch with only such",
            "# pixels gives nan). Float32, as the logits.",
            *([] if ignore is not None else ["# no --ignore value: every label is a class."]),
            "import torch",
            "from torch import nn",
            "",
            *remap,
            "weight = torch.tensor(",
            "    [",
            _vector(record, "        "),
            "    ]",
            ")",
            f"criterion = nn.CrossEntropyLoss(weight=weight{argument})",
            f"# loss = criterion(logits, {call}): logits (N, C, H, W) raw scores, target",
            "# (N, H, W) int64 ground-truth ids; move the criterion to the model's device with",
            "# .to(device).",
            "",
        ]
    )


def to_mmseg(record: Record) -> str:
    """``model.decode_head`` fragment: ``loss_decode=dict(type='CrossEntropyLoss', ...)``."""
    ignore, notes = _one_ignore(record, "mmseg's decode head")
    if ignore is None and record["num_classes"] > 255:
        ignore, notes = -100, ["# no --ignore value, and 255 is a class: ignore -100 instead."]
    head = (
        []
        if ignore is None
        else [
            f"        ignore_index={ignore},  # set on the head, which passes it to the loss;",
            "        # the data_preprocessor's seg_pad_val must be this value too.",
        ]
    )
    return "\n".join(
        [
            *_header(record),
            *_mmseg_average(record),
            *notes,
            "# Merge into your config (an auxiliary_head has its own loss_decode). _delete_=True",
            "# replaces the base config's loss_decode whole, a list of losses included (mmengine",
            "# 0.10 refuses to merge a dict into a list without it); in a config without",
            "# _base_ drop that line, or the loss receives it as an argument.",
            "model = dict(",
            "    decode_head=dict(",
            f"        num_classes={record['num_classes']},",
            *head,
            "        loss_decode=dict(",
            "            _delete_=True,",
            '            type="CrossEntropyLoss",',
            "            use_sigmoid=False,",
            "            loss_weight=1.0,",
            "            avg_non_ignore=True,  # average over the non-ignored pixels only",
            "            class_weight=[",
            _vector(record, "                "),
            "            ],",
            "        ),",
            "    ),",
            ")",
            *_MMSEG_12_LOSS,
            "",
        ]
    )


def to_keras(record: Record) -> str:
    """A function giving per-pixel ``sample_weight`` with ``keras.ops.take``, any backend."""
    ignore: list[int] = record["ignore"]
    count = record["num_classes"]
    if ignore:
        tests = [f"ops.equal(label, {v})" for v in ignore]
        ignored = tests[0]
        for test in tests[1:]:
            ignored = f"ops.logical_or({ignored}, {test})"
        body = [
            f"    ignored = {ignored}",
            f"    # Ignored labels read the extra entry {count} (weight 0) and become a valid",
            "    # class id for the loss, which refuses ids outside 0..C-1.",
            f"    sample_weight = ops.take(CLASS_WEIGHTS, ops.where(ignored, {count}, label))",
            "    label = ops.where(ignored, 0, label)",
        ]
        extra = f"0.0,  # {count}: ignored labels {', '.join(map(str, ignore))}"
    else:
        body = ["    sample_weight = ops.take(CLASS_WEIGHTS, label)"]
        extra = ""
    return "\n".join(
        [
            *_header(record),
            "# Keras 3 (checked with 3.15.1 on the torch backend; keras.ops runs on every",
            "# backend, inside tf.data's map too). fit(class_weight=...) takes one class per",
            "# sample and fails on (N, H, W) targets, so each pixel gets a sample_weight, the",
            "# weight of its true class.",
            "# reduction='mean_with_sample_weight' (Keras >= 3.7) divides by the sum of the",
            "# pixels' sample_weight, like PyTorch: ignored and void pixels (weight 0) leave the",
            "# average and the scale of the weights cancels. Keras's default reduction,",
            "# 'sum_over_batch_size', divides by all pixels, weight-0 ones included, instead.",
            "import keras",
            "import numpy as np",
            "from keras import ops",
            "",
            "CLASS_WEIGHTS = np.array(",
            "    [",
            _vector(record, "        ", extra),
            "    ],",
            '    dtype="float32",',
            ")",
            "",
            "",
            "def add_sample_weights(image, label):",
            '    """(image, label) -> (image, label, per-pixel weight of the true class)."""',
            '    label = ops.cast(label, "int32")',
            *body,
            "    return image, label, sample_weight",
            "",
            "",
            "# tf.data: train = train.map(add_sample_weights); a PyDataset or generator: return",
            "# add_sample_weights(image, label) from __getitem__.",
            "loss = keras.losses.SparseCategoricalCrossentropy(",
            '    from_logits=True, reduction="mean_with_sample_weight"',
            ")",
            "# model.compile(loss=loss, ...); model.fit(train, ...)",
            "",
        ]
    )


def to_caffe(record: Record) -> str:
    """SegNet-style ``loss_param``: one ``class_weighting`` line per output channel."""
    ignore, notes = _one_ignore(record, "Caffe's ignore_label")
    names = display_names(record)
    weighting = [
        f"    class_weighting: {w!r}  # {c}{'' if name == str(c) else ' ' + name}"
        for c, (w, name) in enumerate(zip(record["weights"], names, strict=True))
    ]
    return "\n".join(
        [
            *_header(record),
            "# For the SoftmaxWithLoss layer of SegNet's Caffe fork (alexgkendall/caffe-segnet,",
            "# its last commit; weight_by_label_freqs is not in upstream Caffe). The model needs",
            f"# {record['num_classes']} output channels, one class_weighting each. With",
            "# normalize: true (the default) the fork divides sum(w[y] * loss) by the number of",
            "# non-ignored pixels, void (weight-0) pixels included, so the scale of the weights",
            "# scales the loss and the learning rate: --normalize pixels keeps the unweighted",
            "# scale.",
            *(
                line
                for v in record["void"][:1]
                for line in (
                    f"# SegNet's own layout has no channel for void: --ignore {v} "
                    "--void-in-median gives it",
                    f"# (ignore_label: {v}; its frequency joins the median), not --void {v}.",
                )
            ),
            *notes,
            "layer {",
            '  name: "loss"',
            '  type: "SoftmaxWithLoss"',
            '  bottom: "score"  # your last convolution',
            '  bottom: "label"',
            '  top: "loss"',
            "  softmax_param { engine: CAFFE }",
            "  loss_param {",
            "    weight_by_label_freqs: true",
            *([] if ignore is None else [f"    ignore_label: {ignore}"]),
            *weighting,
            "  }",
            "}",
            "",
        ]
    )
