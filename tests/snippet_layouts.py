"""Class layouts, their records and batches, and the snippets run against any framework.

Each layout is a small dataset written from arithmetic (no files) and the options a user
gives for it; its weights, priors and sampling records come from mfb's own library, as
the commands build them. ``run`` executes a snippet with the modules given (numpy
stand-ins in the normal suite, the real frameworks in the ``frameworks`` group), and the
expected losses are worked out pixel by pixel here, a second method beside both.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from mfb_cli.class_set import ClassSet
from mfb_cli.count.counts import CountsAccumulator
from mfb_cli.count.kernels import histogram_of_array
from mfb_cli.count.per_image import ImageCounts
from mfb_cli.show.records import weights_record
from mfb_cli.show.sampling import priors_record, sampling_record
from mfb_cli.weigh.classes import class_stats
from mfb_cli.weigh.priors import class_priors
from mfb_cli.weigh.sampling import sample_images
from mfb_cli.weigh.spec import LabelSpec
from mfb_cli.weigh.weights import class_weights


@dataclass(frozen=True)
class Layout:
    """A dataset's class layout: which label values are classes, void or ignored."""

    name: str
    classes: int  # output channels
    void: tuple[int, ...] = ()
    ignore: tuple[int, ...] = ()
    void_in_median: bool = False
    #: Classes the data holds (the rest of 0..classes-1 is absent, as in a subset).
    present: int | None = None
    class_set: ClassSet | None = None
    options: dict[str, object] = field(default_factory=dict)

    @property
    def values(self) -> list[int]:
        """Every label value the data holds: present classes, void ids, ignored values."""
        top = self.classes if self.present is None else self.present
        return sorted({*range(top), *self.void, *self.ignore})

    @property
    def dropped(self) -> set[int]:
        """Labels that must add no loss and get no gradient: void and ignored."""
        return {*self.void, *self.ignore}

    def spec(self) -> LabelSpec:
        return LabelSpec.of(None, self.void, self.ignore, self.class_set)


CITYSCAPES_SET = ClassSet(tuple(range(19)), "--remap cityscapes", (255,))

LAYOUTS = [
    Layout("void channel (--void 11)", 12, void=(11,)),
    Layout("ignored value (--ignore 255)", 5, ignore=(255,)),
    Layout("SegNet's 11 (--ignore 11 --void-in-median)", 11, ignore=(11,), void_in_median=True),
    Layout("VOC's 255 (21 classes, --ignore 255)", 21, ignore=(255,)),
    Layout(
        "class set (--remap cityscapes, 14 of 19 present)",
        19,
        ignore=(255,),
        present=14,
        class_set=CITYSCAPES_SET,
    ),
    Layout("void and two ignored values", 12, void=(11,), ignore=(254, 255)),
    Layout("every label a class", 6),
]
LAYOUT_IDS = [layout.name for layout in LAYOUTS]


def images_of(layout: Layout, count: int = 6) -> list[np.ndarray]:
    """Label images holding every value of the layout, in uneven amounts (no randomness)."""
    values = layout.values
    images = []
    for k in range(count):
        index = (np.arange(7 * 9).reshape(7, 9) * (k + 2) + k * k) % (len(values) + k + 1)
        image = np.asarray(values, dtype=np.int64)[np.minimum(index, len(values) - 1)]
        images.append(image)
    return images


def stats_of(layout: Layout):
    accumulator = CountsAccumulator()
    for image in images_of(layout):
        accumulator.add(*histogram_of_array(image))
    return class_stats(accumulator.result(), layout.spec())


def weights_of(layout: Layout, normalize: str = "none") -> dict:
    stats = stats_of(layout)
    options = {"void_in_median": True} if layout.void_in_median else {}
    return weights_record(stats, class_weights(stats, normalize=normalize, **options))


def priors_of(layout: Layout) -> dict:
    stats = stats_of(layout)
    return priors_record(class_priors(stats), stats)


def per_image(layout: Layout) -> list[ImageCounts]:
    result = []
    for k, image in enumerate(images_of(layout)):
        ids, pixels = np.unique(image, return_counts=True)
        result.append(ImageCounts(f"img_{k}.png", tuple(ids.tolist()), tuple(pixels.tolist())))
    return result


def sampling_of(layout: Layout, scheme: str = "repeat-factor", **options: object) -> dict:
    stats = stats_of(layout)
    return sampling_record(sample_images(per_image(layout), stats, scheme, **options), stats)


def batch(layout: Layout, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits (2, C, 3, 4) float32 and labels (2, 3, 4) int64 holding every label value."""
    generator = np.random.default_rng(seed)
    logits = generator.normal(scale=2.0, size=(2, layout.classes, 3, 4)).astype(np.float32)
    values = np.asarray(layout.values)
    target = values[np.arange(24) % len(values)]
    target = generator.permutation(target).reshape(2, 3, 4).astype(np.int64)
    return logits, target


def pixel_losses(logits: np.ndarray, target: np.ndarray, offset=None) -> dict:
    """Per pixel (n, y, x): -log softmax of its true class, in float64, one pixel at a time;
    ``offset`` (C,) is added to every pixel's logits first (logit adjustment)."""
    losses = {}
    channels = logits.shape[1]
    for n, y, x in np.ndindex(*target.shape):
        label = int(target[n, y, x])
        if not 0 <= label < channels:
            continue
        scores = [float(logits[n, c, y, x]) for c in range(channels)]
        if offset is not None:
            scores = [s + float(o) for s, o in zip(scores, offset, strict=True)]
        top = max(scores)
        log_total = top + math.log(sum(math.exp(s - top) for s in scores))
        losses[(n, y, x)] = log_total - scores[label]
    return losses


def expected_loss(layout: Layout, weights, logits, target, divide_by: str, offset=None):
    """sum over kept pixels of w[y] * loss, divided by the sum of w[y] ("weights") or by the
    number of kept pixels ("pixels"); kept: neither ignored nor (for priors) void."""
    losses = pixel_losses(logits, target, offset)
    total = divisor = 0.0
    for (n, y, x), loss in losses.items():
        label = int(target[n, y, x])
        if label in layout.ignore:
            continue
        w = 1.0 if weights is None else float(weights[label])
        if weights is None and label in layout.void:
            continue
        total += w * loss
        divisor += w if divide_by == "weights" else 1.0
    return total / divisor


def run(text: str, modules: dict[str, ModuleType] | None = None) -> dict:
    """Execute a snippet with ``modules`` standing in for its imports (None: the real ones)."""
    saved = {}
    for name, module in (modules or {}).items():
        saved[name] = sys.modules.get(name)
        sys.modules[name] = module
    try:
        namespace: dict = {}
        exec(compile(text, "<snippet>", "exec"), namespace)
        return namespace
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def caffe_loss_param(text: str) -> tuple[list[float], int | None]:
    """The class_weighting values and ignore_label of a Caffe snippet's loss_param."""
    weights, ignore = [], None
    for line in text.splitlines():
        words = line.split("#")[0].split()
        if words[:1] == ["class_weighting:"]:
            weights.append(float(words[1]))
        elif words[:1] == ["ignore_label:"]:
            ignore = int(words[1])
    return weights, ignore


def caffe_segnet(weights, ignore, logits, target) -> float:
    """caffe-segnet's SoftmaxWithLoss (alexgkendall/caffe-segnet,
    src/caffe/layers/softmax_loss_layer.cpp Forward_cpu, normalize true): the sum over
    pixels whose label is not ignore_label of w[y] * -log(max(p, FLT_MIN)), divided by the
    count of those pixels. A label outside 0..C-1 that is not ignored is undefined there
    (a DCHECK): refused here."""
    channels = logits.shape[1]
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss, count = 0.0, 0
    for n, y, x in np.ndindex(*target.shape):
        label = int(target[n, y, x])
        if ignore is not None and label == ignore:
            continue
        if not 0 <= label < channels:
            raise IndexError(f"label {label} is no channel of {channels}")
        loss -= math.log(max(p[n, label, y, x], np.finfo(np.float32).tiny)) * weights[label]
        count += 1
    return loss / count
