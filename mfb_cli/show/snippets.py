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
    "# mmseg 1.2.x: save the lines below, without their '# ', as ignore_safe_ce.py beside",
    "# the config, add custom_imports = dict(imports=['ignore_safe_ce']) to it and set",
    '# type="IgnoreSafeCrossEntropyLoss" above. It passes the sum of the weights of the',
    "# non-ignored pixels as avg_factor, so 1.2's crashing branch is skipped (same loss).",
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


def _one_ignore(record: Record, framework: str, module: str = "np") -> tuple[int | None, list[str]]:
    """The single ignore value a framework accepts, and comments on how to get there."""
    ignore: list[int] = record["ignore"]
    if not ignore:
        return None, [f"# no --ignore value: every label value is a class ({framework})."]
    if len(ignore) == 1:
        return ignore[0], []
    keep, others = max(ignore), [v for v in ignore if v != max(ignore)]
    return keep, [
        f"# labels {', '.join(map(str, ignore))} are all ignored but {framework} takes one",
        f"# ignore value: remap {', '.join(map(str, others))} to {keep} in the ground truth "
        "first, e.g.",
        f"#   target[{module}.isin(target, {module}.tensor({others}))] = {keep}"
        if module == "torch"
        else f"#   target[np.isin(target, {others})] = {keep}",
    ]


def to_torch(record: Record) -> str:
    """``nn.CrossEntropyLoss(weight=torch.tensor([...]), ignore_index=...)``."""
    ignore, notes = _one_ignore(record, "nn.CrossEntropyLoss", "torch")
    argument = "" if ignore is None else f", ignore_index={ignore}"
    return "\n".join(
        [
            *_header(record),
            "# reduction='mean' divides by the sum of the weights of the target pixels, so the",
            "# overall scale of the weights cancels (a batch with only ignored or zero-weight",
            "# pixels gives nan).",
            *notes,
            "import torch",
            "from torch import nn",
            "",
            "weight = torch.tensor(",
            "    [",
            _vector(record, "        "),
            "    ]",
            ")",
            f"criterion = nn.CrossEntropyLoss(weight=weight{argument})",
            "# loss = criterion(logits, target): logits (N, C, H, W) raw scores, target (N, H, W)",
            "# int64 ground-truth ids; move the criterion to the model's device with .to(device).",
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
            "# Merge into your config (an auxiliary_head has its own loss_decode).",
            "model = dict(",
            "    decode_head=dict(",
            f"        num_classes={record['num_classes']},",
            *head,
            "        loss_decode=dict(",
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
    """A ``dataset.map`` function giving per-pixel ``sample_weight`` with ``tf.gather``."""
    ignore: list[int] = record["ignore"]
    count = record["num_classes"]
    if ignore:
        tests = [f"tf.equal(label, {v})" for v in ignore]
        ignored = tests[0]
        for test in tests[1:]:
            ignored = f"tf.logical_or({ignored}, {test})"
        body = [
            f"    ignored = {ignored}",
            f"    # Ignored labels read the extra entry {count} (weight 0) and become a valid",
            "    # class id for the loss, which refuses ids outside 0..C-1.",
            f"    sample_weight = tf.gather(CLASS_WEIGHTS, tf.where(ignored, {count}, label))",
            "    label = tf.where(ignored, 0, label)",
        ]
        extra = f"0.0,  # {count}: ignored labels {', '.join(map(str, ignore))}"
    else:
        body = ["    sample_weight = tf.gather(CLASS_WEIGHTS, label)"]
        extra = ""
    return "\n".join(
        [
            *_header(record),
            "# Keras refuses class_weight for per-pixel targets: pass sample_weight instead.",
            "# reduction='mean_with_sample_weight' (Keras >= 3.7) divides by the sum of the",
            "# pixels' sample_weight, like PyTorch: ignored and void pixels (weight 0) leave the",
            "# average and the scale of the weights cancels. Keras's default reduction,",
            "# 'sum_over_batch_size', divides by all pixels, weight-0 ones included, instead.",
            "import tensorflow as tf",
            "",
            "CLASS_WEIGHTS = tf.constant(",
            "    [",
            _vector(record, "        ", extra),
            "    ],",
            "    dtype=tf.float32,",
            ")",
            "",
            "",
            "def add_sample_weights(image, label):",
            '    """(image, label) -> (image, label, per-pixel weight of the true class)."""',
            "    label = tf.cast(label, tf.int32)",
            *body,
            "    return image, label, sample_weight",
            "",
            "",
            "# train = train.map(add_sample_weights)",
            "loss = tf.keras.losses.SparseCategoricalCrossentropy(",
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
            "# For the SoftmaxWithLoss layer of SegNet's Caffe fork (weight_by_label_freqs is",
            f"# not in upstream Caffe); the model needs {record['num_classes']} output channels.",
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
