"""The geometry of a dataset's classes as plain data: per-row fields and the suggestions.

Drawn from weigh/geometry.py's ClassGeometry, so the table, CSV, JSON and the report's
section show the same numbers: counts exact, shares as floats, quantiles as the
[smallest, largest] value of the bin holding them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..count.geometry_counts import AXES
from ..weigh.geometry import (
    DAFORMER_MIN_PIXELS,
    DEFINITIONS,
    SPECK_PIXELS,
    class_geometry,
    size_edges,
)

if TYPE_CHECKING:
    from ..count.geometry_counts import GeometryCounts
    from ..weigh.classes import ClassStats
    from ..weigh.geometry import ClassGeometry, ClassShape
    from .records import Record

#: Extra CSV columns of ``mfb histogram -f csv`` when the counts hold geometry.
CSV_COLUMNS = (
    "components",
    "components_per_image",
    "max_components_per_image",
    "median_size_min",
    "median_size_max",
    "specks",
    "speck_share",
    "boundary_share",
    "median_height_max",
    "median_width_max",
    "median_depth_max",
)


def geometry_rows(geometry: GeometryCounts, stats: ClassStats) -> tuple[ClassGeometry, Record]:
    """The class view of ``geometry`` and its dataset-level record (suggestions, rules)."""
    shapes = class_geometry(geometry, stats)
    return shapes, dataset_record(shapes)


def shape_record(shape: ClassShape, axes: tuple[str, ...]) -> Record:
    """One class's geometry as plain data."""
    extents = {name: shape.median_extent(axis) for axis, name in enumerate(axes)}
    return {
        "components": shape.components,
        "components_per_image": shape.components_per_image,
        "max_components_per_image": shape.max_components,
        "size_bins": list(shape.size_bins),
        "size_bin_pixels": list(shape.size_pixels),
        "median_size": _pair(shape.median_size),
        "specks": shape.specks,
        "speck_pixels": shape.speck_pixels,
        "speck_share": shape.speck_share,
        "boundary_pixels": shape.boundary,
        "boundary_share": shape.boundary_share,
        "median_extent": {name: _pair(value) for name, value in extents.items()},
    }


def _pair(value: tuple[int, int] | None) -> list[int] | None:
    return None if value is None else list(value)


def dataset_record(shapes: ClassGeometry) -> Record:
    """The dataset's geometry settings and suggestions, each with its rule."""
    suggestions: dict[str, Any] = {"min_pixels": None, "crop_size": None}
    if shapes.min_pixels is not None:
        suggestions["min_pixels"] = {
            "value": shapes.min_pixels.value,
            "daformer_default": DAFORMER_MIN_PIXELS,
            "rule": shapes.min_pixels.rule,
            "eligible": [
                {"id": label, "images": images, "with_more_pixels": kept}
                for label, images, kept in shapes.min_pixels.eligible
            ],
        }
    if shapes.crop is not None:
        axes = shapes.axes
        suggestions["crop_size"] = {
            "size": dict(zip(axes, shapes.crop.size, strict=True)),
            "rule": shapes.crop.rule,
            "medians": [
                {"id": label, **{name: list(pair) for name, pair in zip(axes, pairs, strict=True)}}
                for label, pairs in shapes.crop.medians
            ],
        }
    return {
        "connectivity": shapes.connectivity.record(),
        "volumes": shapes.volumes,
        "axes": list(shapes.axes),
        "speck_pixels": SPECK_PIXELS,
        "size_bin_edges": "bin k: 2**k to 2**(k+1)-1 pixels",
        "rare": list(shapes.rare),
        "suggestions": suggestions,
        "definitions": dict(DEFINITIONS),
    }


def csv_cells(geometry: Record | None) -> dict[str, Any]:
    """A row's extra CSV cells (empty for a row without geometry, e.g. an ignored value)."""
    if geometry is None:
        return dict.fromkeys(CSV_COLUMNS)
    size = geometry["median_size"] or [None, None]
    extents = geometry["median_extent"]
    cells = {
        "components": geometry["components"],
        "components_per_image": geometry["components_per_image"],
        "max_components_per_image": geometry["max_components_per_image"],
        "median_size_min": size[0],
        "median_size_max": size[1],
        "specks": geometry["specks"],
        "speck_share": geometry["speck_share"],
        "boundary_share": geometry["boundary_share"],
    }
    for name in AXES:
        pair = extents.get(name)
        cells[f"median_{name}_max"] = None if pair is None else pair[1]
    return cells


def size_label(index: int) -> str:
    """A size bin as people read it: '1', '2-3', '64-127'."""
    low, high = size_edges(index)
    return str(low) if low == high else f"{low}-{high}"


def range_text(pair: list[int] | None) -> str:
    """[low, high] as '12' or '96-103'; '-' when there is nothing."""
    if pair is None:
        return "-"
    low, high = pair
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def suggestion_lines(geometry: Record) -> list[str]:
    """The suggestions, one line each with its rule, for tables and the report."""
    lines: list[str] = []
    found = geometry["suggestions"]
    if found["min_pixels"] is not None:
        lines.append(
            f"suggested DAFormer min_pixels: {found['min_pixels']['value']:,} "
            f"({found['min_pixels']['rule']})"
        )
    if found["crop_size"] is not None:
        size = " x ".join(f"{v:,}" for v in found["crop_size"]["size"].values())
        lines.append(f"suggested crop size: {size} ({found['crop_size']['rule']})")
    return lines
