"""mfb: class balance statistics and loss weights for semantic-segmentation label masks.

A training script needs one call::

    from mfb_cli import compute_class_weights

    result = compute_class_weights("labels/", void=[11])
    weights = np.asarray(result)  # result.warnings: what ``mfb weights`` would print
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    BadMaskError,
    LabelRangeError,
    MfbError,
    MissingExtraError,
    NoMasksFoundError,
    OptionError,
    Param,
)

if TYPE_CHECKING:  # what mypy and editors see; nothing is imported at run time
    from .compute import compute_class_weights, compute_sampling
    from .count.check import CheckReport, check_masks
    from .count.connectivity import Connectivity
    from .count.counts import ClassCounts
    from .count.geometry import ImageGeometry, geometry_of
    from .count.geometry_counts import GeometryCounts
    from .count.label_check import LabelCheck
    from .count.patches import PatchGrid, Window
    from .count.per_image import ImageCounts, PerImageStats, load_per_image
    from .count.scan import count_masks
    from .count.stats import StatsFile, load_stats, merge_stats, stats_record
    from .read.labels.colormaps import load_colormap
    from .read.labels.remap import load_remap
    from .read.options import ReadOptions
    from .read.sources.find import find_label_files, find_label_sources
    from .show.sampling import daformer_files
    from .weigh.classes import ClassStats, class_stats
    from .weigh.geometry import ClassGeometry, class_geometry
    from .weigh.priors import ClassPriors, class_priors
    from .weigh.sampling import Sampling, SamplingEffect, sample_images, sampling_effect
    from .weigh.sampling_schemes import SAMPLING_SCHEMES
    from .weigh.schemes import SCHEMES, ClassWeights, median_frequency
    from .weigh.spec import LabelSpec
    from .weigh.split import Grouping, Parts, Split, split_images
    from .weigh.weights import NORMALIZATIONS, class_weights, clip_weights, normalize_weights

#: Public name -> the module that defines it, imported on first use (PEP 562), so
#: ``import mfb_cli`` (and ``mfb --help``) loads neither NumPy nor Pillow.
_EXPORTS: dict[str, str] = {
    "CheckReport": "mfb_cli.count.check",
    "ClassCounts": "mfb_cli.count.counts",
    "ClassGeometry": "mfb_cli.weigh.geometry",
    "Connectivity": "mfb_cli.count.connectivity",
    "GeometryCounts": "mfb_cli.count.geometry_counts",
    "ImageGeometry": "mfb_cli.count.geometry",
    "ClassPriors": "mfb_cli.weigh.priors",
    "ClassStats": "mfb_cli.weigh.classes",
    "ClassWeights": "mfb_cli.weigh.schemes",
    "Grouping": "mfb_cli.weigh.split",
    "ImageCounts": "mfb_cli.count.per_image",
    "LabelCheck": "mfb_cli.count.label_check",
    "LabelSpec": "mfb_cli.weigh.spec",
    "NORMALIZATIONS": "mfb_cli.weigh.weights",
    "Parts": "mfb_cli.weigh.split",
    "PatchGrid": "mfb_cli.count.patches",
    "PerImageStats": "mfb_cli.count.per_image",
    "ReadOptions": "mfb_cli.read.options",
    "SAMPLING_SCHEMES": "mfb_cli.weigh.sampling_schemes",
    "SCHEMES": "mfb_cli.weigh.schemes",
    "Sampling": "mfb_cli.weigh.sampling",
    "SamplingEffect": "mfb_cli.weigh.sampling",
    "Split": "mfb_cli.weigh.split",
    "StatsFile": "mfb_cli.count.stats",
    "Window": "mfb_cli.count.patches",
    "check_masks": "mfb_cli.count.check",
    "class_geometry": "mfb_cli.weigh.geometry",
    "class_priors": "mfb_cli.weigh.priors",
    "class_stats": "mfb_cli.weigh.classes",
    "class_weights": "mfb_cli.weigh.weights",
    "clip_weights": "mfb_cli.weigh.weights",
    "compute_class_weights": "mfb_cli.compute",
    "compute_sampling": "mfb_cli.compute",
    "count_masks": "mfb_cli.count.scan",
    "daformer_files": "mfb_cli.show.sampling",
    "find_label_files": "mfb_cli.read.sources.find",
    "find_label_sources": "mfb_cli.read.sources.find",
    "geometry_of": "mfb_cli.count.geometry",
    "load_colormap": "mfb_cli.read.labels.colormaps",
    "load_per_image": "mfb_cli.count.per_image",
    "load_remap": "mfb_cli.read.labels.remap",
    "load_stats": "mfb_cli.count.stats",
    "median_frequency": "mfb_cli.weigh.schemes",
    "merge_stats": "mfb_cli.count.stats",
    "normalize_weights": "mfb_cli.weigh.weights",
    "sample_images": "mfb_cli.weigh.sampling",
    "sampling_effect": "mfb_cli.weigh.sampling",
    "split_images": "mfb_cli.weigh.split",
    "stats_record": "mfb_cli.count.stats",
}

__all__ = [
    "NORMALIZATIONS",
    "SAMPLING_SCHEMES",
    "SCHEMES",
    "BadMaskError",
    "CheckReport",
    "ClassCounts",
    "ClassGeometry",
    "ClassPriors",
    "ClassStats",
    "ClassWeights",
    "Connectivity",
    "GeometryCounts",
    "Grouping",
    "ImageCounts",
    "ImageGeometry",
    "LabelCheck",
    "LabelRangeError",
    "LabelSpec",
    "MfbError",
    "MissingExtraError",
    "NoMasksFoundError",
    "OptionError",
    "Param",
    "Parts",
    "PatchGrid",
    "PerImageStats",
    "ReadOptions",
    "Sampling",
    "SamplingEffect",
    "Split",
    "StatsFile",
    "Window",
    "__version__",
    "check_masks",
    "class_geometry",
    "class_priors",
    "class_stats",
    "class_weights",
    "clip_weights",
    "compute_class_weights",
    "compute_sampling",
    "count_masks",
    "daformer_files",
    "find_label_files",
    "find_label_sources",
    "geometry_of",
    "load_colormap",
    "load_per_image",
    "load_remap",
    "load_stats",
    "median_frequency",
    "merge_stats",
    "normalize_weights",
    "sample_images",
    "sampling_effect",
    "split_images",
    "stats_record",
]


def __getattr__(name: str) -> Any:
    try:
        home = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
