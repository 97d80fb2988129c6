"""mfb: class balance statistics and loss weights for semantic-segmentation label masks.

A training script can use the library directly::

    from mfb_cli import LabelSpec, class_stats, class_weights, count_masks, find_label_files

    counts = count_masks(find_label_files(["labels/"]))
    stats = class_stats(counts, LabelSpec.of(void=[11]))
    weights = class_weights(stats).weights
"""

from __future__ import annotations

__version__ = "0.1.0"

from .classes import ClassStats, LabelSpec, class_stats
from .counting import ClassCounts, LabelCheck, count_masks
from .errors import BadMaskError, LabelRangeError, MfbError, NoMasksFoundError, OptionError
from .sources import find_label_files
from .weighting import (
    NORMALIZATIONS,
    SCHEMES,
    ClassWeights,
    class_weights,
    clip_weights,
    median_frequency,
    normalize_weights,
)

__all__ = [
    "NORMALIZATIONS",
    "SCHEMES",
    "BadMaskError",
    "ClassCounts",
    "ClassStats",
    "ClassWeights",
    "LabelCheck",
    "LabelRangeError",
    "LabelSpec",
    "MfbError",
    "NoMasksFoundError",
    "OptionError",
    "__version__",
    "class_stats",
    "class_weights",
    "clip_weights",
    "count_masks",
    "find_label_files",
    "median_frequency",
    "normalize_weights",
]
