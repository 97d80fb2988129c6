"""The class distribution of a dataset as one plain record, and its text forms.

The table, JSON, YAML, CSV and the plot are all drawn from the same record, so they show
the same numbers: counts exact, shares as floats (the exact ratio, correctly rounded).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from .._version import __version__
from .serialize import to_json, to_yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..count.counts import ClassCounts
    from ..weigh.classes import ClassStats
    from .records import Record

#: Row orders by their command-line name (``--sort``).
SORTS = ("id", "pixels")

DEFINITIONS = {
    "labelled": "pixels that are neither void nor ignored",
    "share_of_labelled": "class rows: pixels / labelled pixels (null for void and ignored rows)",
    "share_of_all": "pixels / all pixels, ignored and void included",
    "share_of_images": "images containing the id / all images",
    "seen": "false for a class with no pixel in any image",
    "imbalance_ratio": "pixels of the largest / of the smallest present non-void class",
}

CSV_COLUMNS = (
    "kind",
    "id",
    "name",
    "pixels",
    "share_of_labelled",
    "share_of_all",
    "images",
    "share_of_images",
    "seen",
)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def distribution_record(
    counts: ClassCounts,
    stats: ClassStats,
    source: Mapping[str, Any] | None = None,
    names: Mapping[int, str] | None = None,
    sort: str = "id",
) -> Record:
    """Per-class rows (classes, then void, then ignored values) and dataset totals."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
    names = names or {}
    labelled = stats.labelled_pixels
    void = set(stats.void)
    images_by_id = dict(zip(counts.ids.tolist(), counts.images.tolist(), strict=True))

    def row(kind: str, label: int, pixels: int, images: int) -> dict[str, Any]:
        return {
            "kind": kind,
            "id": label,
            "name": names.get(label),
            "pixels": pixels,
            "share_of_labelled": _ratio(pixels, labelled) if kind == "class" else None,
            "share_of_all": _ratio(pixels, stats.total_pixels),
            "images": images,
            "share_of_images": _ratio(images, stats.num_images),
            "seen": pixels > 0,
        }

    classes = [
        row("class", c, int(stats.pixels[c]), int(stats.images[c]))
        for c in range(stats.num_classes)
        if c not in void
    ]
    void_rows = [row("void", v, int(stats.pixels[v]), int(stats.images[v])) for v in stats.void]
    geometry = None
    if counts.geometry is not None:  # scanned with --geometry: a field per class and void row
        from .geometry import geometry_rows, shape_record

        shapes, geometry = geometry_rows(counts.geometry, stats)
        for item in [*classes, *void_rows]:
            shape = shapes.shape_of(item["id"])
            assert shape is not None
            item["geometry"] = shape_record(shape, shapes.axes)
    if sort == "pixels":
        classes.sort(key=lambda r: (-r["pixels"], r["id"]))
    present = [r for r in classes if r["seen"]]
    largest = max(present, key=lambda r: (r["pixels"], -r["id"]), default=None)
    smallest = min(present, key=lambda r: (r["pixels"], r["id"]), default=None)
    record: Record = {
        "classes": classes,
        "void": void_rows,
        "ignored": [
            row("ignored", value, pixels, images_by_id.get(value, 0))
            for value, pixels in stats.ignored_pixels.items()
        ],
        "num_classes": stats.num_classes,
        "sort": sort,
        "images": stats.num_images,
        "total_pixels": stats.total_pixels,
        "labelled_pixels": labelled,
        "labelled_share": _ratio(labelled, stats.total_pixels),
        "void_pixels": stats.void_pixels,
        "ignored_pixels": sum(stats.ignored_pixels.values()),
        "absent": list(stats.absent),
        "largest": largest["id"] if largest else None,
        "smallest": smallest["id"] if smallest else None,
        "imbalance_ratio": (
            largest["pixels"] / smallest["pixels"] if largest and smallest else None
        ),
        "warnings": list(stats.warnings),
        "definitions": dict(DEFINITIONS),
        "mfb_version": __version__,
    }
    if geometry is not None:
        record["geometry"] = geometry
    if source is not None:
        record["source"] = dict(source)
    return record


def rows(record: Record) -> list[dict[str, Any]]:
    """Every row of a distribution record: classes (in the record's order), void, ignored."""
    return [*record["classes"], *record["void"], *record["ignored"]]


def to_csv(record: Record) -> str:
    """One CSV line per row; floats at full precision, empty cells for null."""
    buffer = io.StringIO()
    shapes = "geometry" in record  # scanned with --geometry: its columns follow
    if shapes:
        from .geometry import CSV_COLUMNS as GEOMETRY_COLUMNS
        from .geometry import csv_cells
    columns = (*CSV_COLUMNS, *GEOMETRY_COLUMNS) if shapes else CSV_COLUMNS
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for item in rows(record):
        cells = {key: item[key] for key in CSV_COLUMNS}
        if shapes:
            cells.update(csv_cells(item.get("geometry")))
        writer.writerow({key: _cell(value) for key, value in cells.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_table(record: Record) -> str:
    """The rich table, plain text (no colour), at a fixed width: for files and pipes."""
    from .distribution_table import render_distribution  # rich is imported by report only

    return render_distribution(record)


#: Class-distribution output formats by their command-line name (``mfb histogram -f``).
DISTRIBUTION_FORMATS: dict[str, Callable[[Record], str]] = {
    "table": to_table,
    "json": to_json,
    "yaml": to_yaml,
    "csv": to_csv,
}
