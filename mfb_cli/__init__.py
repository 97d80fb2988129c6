"""mfb: class balance statistics and loss weights for semantic-segmentation label masks.

A training script needs one call::

    from mfb_cli import compute_class_weights

    result = compute_class_weights("labels/", void=[11])
    weights = np.asarray(result)  # result.warnings: what ``mfb weights`` would print
"""

from __future__ import annotations

__version__ = "0.1.0"

from .check import CheckReport, check_masks
from .classes import ClassStats, LabelSpec, class_stats
from .colormaps import load_colormap
from .compute import compute_class_weights
from .counting import ClassCounts, LabelCheck, count_masks
from .decode import ReadOptions
from .errors import BadMaskError, LabelRangeError, MfbError, NoMasksFoundError, OptionError
from .remap import load_remap
from .sources import find_label_files, find_label_sources
from .stats import StatsFile, load_stats, merge_stats, stats_record
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
    "CheckReport",
    "ClassCounts",
    "ClassStats",
    "ClassWeights",
    "LabelCheck",
    "LabelRangeError",
    "LabelSpec",
    "MfbError",
    "NoMasksFoundError",
    "OptionError",
    "ReadOptions",
    "StatsFile",
    "__version__",
    "check_masks",
    "class_stats",
    "class_weights",
    "clip_weights",
    "compute_class_weights",
    "count_masks",
    "find_label_files",
    "find_label_sources",
    "load_colormap",
    "load_remap",
    "load_stats",
    "median_frequency",
    "merge_stats",
    "normalize_weights",
    "stats_record",
]
