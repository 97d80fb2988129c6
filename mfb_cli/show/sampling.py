"""Sampling and priors as records, CSV, an effect table, snippets and DAFormer's files."""

from __future__ import annotations

import csv
import io
import json
import posixpath
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import MfbError
from .serialize import to_json

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ..count.per_image import ImageCounts
    from ..weigh.classes import ClassStats
    from ..weigh.priors import ClassPriors
    from ..weigh.sampling import Sampling
    from .records import Record


def sampling_record(
    sampling: Sampling,
    stats: ClassStats,
    source: Mapping[str, Any] | None = None,
    images: Sequence[ImageCounts] = (),
) -> Record:
    """Everything about a sampling run as plain data: per image, per class, the effect.

    ``images`` (the per-image counts sampled, in order) add each patch's window, and a
    raster's geotransform and CRS, when the images are patches (``mfb scan --patch``).
    """
    from ..weigh.sampling_schemes import SAMPLING_SCHEMES

    effect = sampling.effect
    record: Record = {
        "scheme": sampling.scheme,
        **sampling.parameters,
        "num_classes": stats.num_classes,
        "void": list(stats.void),
        "ignore": list(stats.ignore),
        "num_images": len(sampling.images),
        "images": [
            {"image": image, "weight": weight, "probability": p, "classes": list(classes)}
            for image, weight, p, classes in zip(
                sampling.images,
                sampling.weights,
                sampling.probabilities,
                sampling.classes,
                strict=True,
            )
        ],
    }
    patch = None if source is None else source.get("patch")
    if patch is not None and images:
        record["patch"] = patch
        for entry, one in zip(record["images"], images, strict=True):
            if one.window is not None:
                entry["window"] = one.window.record()
            if one.geo:
                entry["geo"] = dict(one.geo)
    if sampling.class_probabilities:
        record["class_probabilities"] = {str(c): p for c, p in sampling.class_probabilities.items()}
    record["effect"] = {
        "draws_per_epoch": effect.draws,
        "distinct_images_per_epoch": effect.distinct_images,
        "classes": [
            {
                "class": c,
                "pixel_share": effect.pixel_share[c],
                "sampled_pixel_share": effect.sampled_pixel_share[c],
                "image_share": effect.image_share[c],
                "sampled_image_share": effect.sampled_image_share[c],
            }
            for c in effect.classes
            if c not in stats.void
        ],
    }
    record["warnings"] = list(sampling.warnings)
    record["definitions"] = {
        "scheme": SAMPLING_SCHEMES[sampling.scheme],
        "weight": {
            "repeat-factor": "the repeat factor r(I) after rounding (ceil: an integer; "
            "stochastic: its expectation)",
            "rare-class": "the probability that one RCS draw is this image",
            "weighted": "the WeightedRandomSampler weight w(I)",
        }[sampling.scheme],
        "probability": "the chance that one drawn sample is this image (sums to 1)",
        "classes": "counted classes present in the image (void and ignored ids left out)",
        "sampled_pixel_share": "E[pixels of c in a draw] / E[labelled pixels in a draw]",
        "sampled_image_share": "P(a drawn image contains c)",
        "draws_per_epoch": "repeat-factor: sum of the repeat factors; else the number of "
        "images (one epoch of draws with replacement)",
        "distinct_images_per_epoch": "expected number of different images in one epoch",
    }
    record["mfb_version"] = __version__
    if source is not None:
        record["source"] = dict(source)
    return record


def to_csv(record: Record) -> str:
    """``image,weight,probability``: one row per image, in scan order (patches add their
    window: slice, row, col, height, width); a byte of a file name that is not UTF-8 reads
    ``\\xNN`` (JSON, -f json, keeps the exact name)."""
    from .output import shown_bytes

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    rows = record["images"]
    keys = ["slice"] if any("slice" in row.get("window", {}) for row in rows) else []
    keys += ["row", "col", "height", "width"] if any("window" in row for row in rows) else []
    writer.writerow(["image", *keys, "weight", "probability"])
    for row in rows:
        window = row.get("window", {})
        writer.writerow(
            [
                shown_bytes(row["image"]),
                *(window.get(key, "") for key in keys),
                repr(row["weight"]),
                repr(row["probability"]),
            ]
        )
    return out.getvalue()


def effect_table(record: Record) -> str:
    """The effect as a plain-text table: the dataset's shares beside a drawn sample's."""
    effect = record["effect"]
    lines = [
        f"{record['scheme']}: share of labelled pixels and of images, dataset vs a drawn sample",
        f"{'class':>5}  {'pixels':>8} {'sampled':>8}  {'images':>8} {'sampled':>8}",
        *(
            f"{row['class']:>5}  {row['pixel_share']:>8.2%} {row['sampled_pixel_share']:>8.2%}"
            f"  {row['image_share']:>8.2%} {row['sampled_image_share']:>8.2%}"
            for row in effect["classes"]
        ),
        f"draws per epoch {effect['draws_per_epoch']:g}, distinct images "
        f"{effect['distinct_images_per_epoch']:.1f} of {record['num_images']}",
    ]
    return "\n".join(lines) + "\n"


def torch_snippet(record: Record) -> str:
    """A sampler whose epoch is the one the effect table describes.

    repeat-factor: every image its repeat count per epoch, shuffled (with replacement, a
    WeightedRandomSampler would show only about 1 - 1/e of the images and repeat others
    at random). weighted and rare-class: independent draws, a WeightedRandomSampler.
    """
    images = [row["image"] for row in record["images"]]
    draws = record["effect"]["draws_per_epoch"]
    head = [
        f"# mfb sampling --scheme {record['scheme']}: one entry per image, in this order;",
        "# build your dataset in the same order (or reorder by IMAGES).",
    ]
    if record["scheme"] == "repeat-factor":
        stochastic = record.get("rounding") == "stochastic"
        repeats = [row["weight"] for row in record["images"]]
        if not stochastic:
            repeats = [int(r) for r in repeats]
        return "\n".join(
            [
                *head,
                *(
                    [
                        "# An epoch shows image i floor(REPEATS[i]) times, plus once more with",
                        "# probability REPEATS[i] - floor(REPEATS[i]) (detectron2's stochastic",
                        f"# rounding): {draws:g} draws on average, every image at least once.",
                    ]
                    if stochastic
                    else [
                        "# An epoch shows image i exactly REPEATS[i] times (mmengine's",
                        f"# ClassBalancedDataset): {draws:g} draws, every image, in a new random "
                        "order",
                        "# each epoch.",
                    ]
                ),
                "import math",
                "",
                "import torch",
                "from torch.utils.data import Sampler",
                "",
                f"IMAGES = {json.dumps(images)}",
                f"REPEATS = {json.dumps(repeats)}",
                "",
                "",
                "class RepeatFactorSampler(Sampler):",
                '    """Each index its repeat count per epoch, shuffled; seeded, reproducible."""',
                "",
                "    def __init__(self, repeats, seed=0):",
                "        self.repeats = list(repeats)",
                "        self.generator = torch.Generator().manual_seed(seed)",
                "",
                "    def __iter__(self):",
                "        chance = torch.rand(len(self.repeats), generator=self.generator).tolist()",
                "        indices = [",
                "            i",
                "            for i, r in enumerate(self.repeats)",
                "            for _ in range(math.floor(r) + (chance[i] < r - math.floor(r)))",
                "        ]",
                "        order = torch.randperm(len(indices), generator=self.generator).tolist()",
                "        return iter([indices[k] for k in order])",
                "",
                "    def __len__(self):  # the expected length with stochastic rounding",
                "        return round(sum(self.repeats))",
                "",
                "",
                "sampler = RepeatFactorSampler(REPEATS)",
                "# loader = DataLoader(dataset, batch_size=8, sampler=sampler)  # your dataset",
                "",
            ]
        )
    weights = [row["probability"] for row in record["images"]]
    return "\n".join(
        [
            *head,
            f"# An epoch is {max(1, round(draws))} independent draws with these probabilities "
            "(with",
            "# replacement), as the effect table assumes.",
            "import torch",
            "from torch.utils.data import WeightedRandomSampler",
            "",
            f"IMAGES = {json.dumps(images)}",
            f"WEIGHTS = {json.dumps(weights)}",
            "sampler = WeightedRandomSampler(",
            f"    torch.tensor(WEIGHTS, dtype=torch.double), num_samples={max(1, round(draws))}, "
            "replacement=True",
            ")",
            "# loader = DataLoader(dataset, batch_size=8, sampler=sampler)  # your dataset",
            "",
        ]
    )


def mmengine_snippet(record: Record) -> str:
    """Per-image class lists and the wrapper that gives an mmseg dataset ``get_cat_ids``."""
    by_name: dict[str, list[int]] = {}
    for row in record["images"]:
        # As mmseg's seg_map_path ends (and DAFormer's file.split('/')[-1]); a colon is a
        # legal character in a file name, so it is not taken as an archive separator.
        name = posixpath.basename(row["image"].replace("\\", "/"))
        if name in by_name:
            raise MfbError(
                f"-f mmengine keys images by file name, and two images are named {name}; "
                "use -f json and key the class lists by your own paths"
            )
        by_name[name] = row["classes"]
    threshold = record.get("threshold", 0.1)
    return "\n".join(
        [
            "# mmseg datasets (1.x) lack get_cat_ids, so mmengine's ClassBalancedDataset cannot",
            "# wrap them. Save this as cat_ids_dataset.py in a folder (the config's, say), add",
            "#   custom_imports = dict(imports=['cat_ids_dataset'], allow_failed_imports=False)",
            "# to the config, train with that folder on the import path (mmengine 0.10 imports",
            "# custom_imports by module name; the config's own folder is not searched):",
            "#   PYTHONPATH=path/to/folder python tools/train.py path/to/config.py",
            "# and wrap your dataset:",
            "# train_dataloader = dict(dataset=dict(type='ClassBalancedDataset',",
            f"#     oversample_thr={threshold!r}, dataset=dict(type='CatIdsDataset',",
            "#         base_type='CityscapesDataset', ...your dataset's arguments...)))",
            "# Classes: the counted classes of each mask (void and ignored ids left out).",
            "import os.path as osp",
            "",
            "from mmseg.registry import DATASETS",
            "",
            f"CAT_IDS = {json.dumps(by_name)}",
            "",
            "",
            "@DATASETS.register_module()",
            "class CatIdsDataset:",
            "    def __new__(cls, base_type, **kwargs):",
            "        base = DATASETS.get(base_type)",
            "",
            "        class WithCatIds(base):",
            "            def get_cat_ids(self, idx):",
            "                path = self.get_data_info(idx)['seg_map_path']",
            "                return CAT_IDS[osp.basename(path)]",
            "",
            "        return WithCatIds(**kwargs)",
            "",
        ]
    )


#: The files DAFormer's converter writes, in the order ``daformer_files`` gives them.
DAFORMER_FILES = (
    "sample_class_stats.json",
    "sample_class_stats_dict.json",
    "samples_with_class.json",
)


def daformer_files(images: Sequence[ImageCounts], stats: ClassStats) -> dict[str, str]:
    """DAFormer's three class-statistics files, byte for byte as its converter writes them.

    Its ``save_class_stats`` (tools/convert_datasets/cityscapes.py) dumps with
    ``json.dump(..., indent=2)``: no final newline, classes in id order then ``file``,
    ``samples_with_class`` keyed in order of first appearance. Only counted classes
    (not void, not ignored) appear, as the converter counts only the 19 train ids.
    """
    void = set(stats.void)
    per_image: list[dict[Any, Any]] = []
    for one in images:
        entry: dict[Any, Any] = {
            int(c): int(n)
            for c, n in zip(one.ids, one.pixels, strict=True)
            if 0 <= c < stats.num_classes and c not in void
        }
        entry["file"] = one.image
        per_image.append(entry)
    files = {"sample_class_stats.json": json.dumps(per_image, indent=2)}
    by_file: dict[str, dict[Any, Any]] = {}
    for entry in per_image:
        rest = dict(entry)
        by_file[rest.pop("file")] = rest
    files["sample_class_stats_dict.json"] = json.dumps(by_file, indent=2)
    with_class: dict[int, list[tuple[str, int]]] = {}
    for file, counts in by_file.items():
        for c, n in counts.items():
            with_class.setdefault(c, []).append((file, n))
    files["samples_with_class.json"] = json.dumps(with_class, indent=2)
    return files


def priors_record(
    priors: ClassPriors, stats: ClassStats, source: Mapping[str, Any] | None = None
) -> Record:
    """The prior vector, its log and how absent classes were handled, as plain data."""
    from ..weigh.priors import PRIOR_DEFINITION

    record: Record = {
        "prior": list(priors.prior),
        "log_prior": list(priors.log_prior),
        "num_classes": stats.num_classes,
        "void": list(stats.void),
        "ignore": list(stats.ignore),
        "floor": priors.floor,
        "floored": list(priors.floored),
        "labelled_pixels": stats.labelled_pixels,
        "pixel_counts": stats.pixels.tolist(),
        "warnings": list(priors.warnings),
        "definitions": {"prior": PRIOR_DEFINITION},
        "mfb_version": __version__,
    }
    if source is not None:
        record["source"] = dict(source)
    return record


def priors_torch(record: Record) -> str:
    """Logit adjustment: add tau * log(pi) to the logits in training only, and a loss that
    leaves void and ignored labels out."""
    from .snippets import torch_target

    void, ignore = list(record["void"]), list(record["ignore"])
    dropped, remap, call = torch_target(sorted({*void, *ignore}), "void and ignored labels")
    argument = "" if dropped is None else f", ignore_index={dropped}"
    layout = (
        [
            f"# void {', '.join(map(str, void))}: never a target (no loss, no gradient); leave "
            "those channels",
            "# out of the argmax when you predict.",
        ]
        if void
        else []
    )
    return "\n".join(
        [
            "# Logit adjustment (Menon et al. 2021): train on logits + tau * log(prior); predict",
            "# with the plain logits. tau = 1 is Balanced Softmax. Classes without pixels use",
            f"# log({record['floor']!r}) (half a pixel's share), not -inf.",
            "# PyTorch (checked with 2.13.0): cross_entropy's ignore_index leaves a pixel out of",
            "# the loss and its gradient.",
            *layout,
            *([] if dropped is not None else ["# no --void or --ignore: every label is a class."]),
            "import torch",
            "import torch.nn.functional as F",
            "",
            *remap,
            f"LOG_PRIOR = torch.tensor({json.dumps(record['log_prior'])})",
            "",
            "",
            "def adjusted_logits(logits, tau=1.0, training=True):",
            '    """logits: (N, C, ...) in class-id order; the adjustment applies in training."""',
            "    if not training:",
            "        return logits",
            "    shape = (1, -1) + (1,) * (logits.dim() - 2)",
            "    return logits + tau * LOG_PRIOR.to(logits).view(shape)",
            "",
            "",
            "def training_loss(logits, target, tau=1.0):",
            '    """Cross-entropy of the adjusted logits; target (N, ...) int64 label ids."""',
            f"    return F.cross_entropy(adjusted_logits(logits, tau), {call}{argument})",
            "",
            "",
            "# loss = training_loss(model(x), y) in training; model(x) as it is to predict.",
            "",
        ]
    )


def _windows(record: Record) -> str:
    from .windows import to_windows

    return to_windows(record)


def _torchgeo(record: Record) -> str:
    from .windows import torchgeo_snippet

    return torchgeo_snippet(record)


SAMPLING_FORMATS: dict[str, Callable[[Record], str]] = {
    "json": to_json,
    "csv": to_csv,
    "table": effect_table,
    "torch": torch_snippet,
    "mmengine": mmengine_snippet,
    "windows": _windows,
    "torchgeo": _torchgeo,
}

PRIOR_FORMATS: dict[str, Callable[[Record], str]] = {"json": to_json, "torch": priors_torch}
