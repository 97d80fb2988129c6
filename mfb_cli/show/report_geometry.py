"""The report's Geometry section: component sizes per class on a log axis, specks, boundary
share and extents, with the suggestions and their rules. Inline SVG only (the page fetches
nothing); every cell names its exact count in a tooltip (an SVG <title>).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .geometry import range_text, size_label, suggestion_lines
from .report_tables import IdCell, NameCell, NumCell, Row, table_body

if TYPE_CHECKING:
    from collections.abc import Callable

    from .records import Record

#: Classes drawn in the size chart at most (those with most components); the table has all.
MAX_CHART_CLASSES = 200
#: Heat-map colours of a share 0..1 of a class's components, light to dark (8 levels).
_HEAT = ("#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603", "#7f2704")


def geometry_section(
    record: Record,
    name: Callable[[Record, int], str],
    share: Callable[[float | None], str],
) -> str:
    """The section's HTML; empty when the counts hold no geometry (no --geometry scan)."""
    histogram = record["histogram"]
    geometry = histogram.get("geometry")
    if geometry is None:
        return ""
    rows = [r for r in [*histogram["classes"], *histogram["void"]] if r["geometry"]["components"]]
    suggestions = "".join(f"<li>{escape(line)}</li>" for line in suggestion_lines(geometry))
    connectivity = geometry["connectivity"]
    axes: list[str] = geometry["axes"]
    body = []
    for row in rows:
        shape = row["geometry"]
        label = row["id"]
        extents = [shape["median_extent"][axis] for axis in axes]
        per_image = shape["components_per_image"]
        body.append(
            Row(
                (
                    IdCell(label, label),
                    NameCell(
                        name(record, label),
                        name(record, label),
                        badges=(("void", "void"),) if row["kind"] == "void" else (),
                        space=row["kind"] == "void",
                    ),
                    NumCell(shape["components"], f"{shape['components']:,}", "", "int"),
                    NumCell(per_image, "\N{EN DASH}" if per_image is None else f"{per_image:,.2f}"),
                    NumCell((shape["median_size"] or [None])[0], range_text(shape["median_size"])),
                    NumCell(shape["speck_share"], share(shape["speck_share"]), "", "share"),
                    NumCell(shape["boundary_share"], share(shape["boundary_share"]), "", "share"),
                    NumCell(
                        None if None in extents else extents[0][1],
                        " \N{MULTIPLICATION SIGN} ".join(range_text(pair) for pair in extents),
                    ),
                ),
                row["kind"],
            )
        )
    table = table_body("geometry-table", body)
    extent_head = " \N{MULTIPLICATION SIGN} ".join(axes)
    return (
        '<section id="geometry"><h2>Geometry</h2>'
        f"<p>Connected components of each class ({connectivity['2d']}-connected in 2D, "
        f"{connectivity['3d']}-connected in 3D), counted per image. Sizes are exact counts in "
        "power-of-two bins; a median is the bin holding it. Specks: the share of a class's "
        f"pixels in components of fewer than {geometry['speck_pixels']} pixels. Boundary: the "
        "share of its pixels with a face neighbour of another value (void and ignored values "
        "too; the image border is none).</p>"
        + (f'<ul id="geometry-suggestions">{suggestions}</ul>' if suggestions else "")
        + _size_chart(record, rows, name)
        + f'<table id="geometry-table" class="sortable{table.css}"><thead><tr>'
        '<th data-type="num">Id</th><th data-type="text">Class</th>'
        '<th data-type="num">Components</th><th data-type="num">Per image</th>'
        '<th data-type="num">Median size (px)</th><th data-type="num">Specks</th>'
        '<th data-type="num">Boundary</th>'
        f'<th data-type="num">Median extent ({escape(extent_head)})</th>'
        f"</tr></thead>{table.tbody}</table>{table.after}</section>"
    )


def _size_chart(record: Record, rows: list[Record], name: Callable[[Record, int], str]) -> str:
    """Rows: classes; columns: power-of-two size bins (a log axis); shade: the share of the
    class's components in the bin; a line marks the speck threshold."""
    if not rows:
        return '<p class="empty">No component counted.</p>'
    left_out = max(0, len(rows) - MAX_CHART_CLASSES)
    if left_out:  # the page stays a few MB: the classes with most components, in id order
        most = sorted(rows, key=lambda r: (-r["geometry"]["components"], r["id"]))
        kept = {id(r) for r in most[:MAX_CHART_CLASSES]}
        rows = [r for r in rows if id(r) in kept]
    bins = max(len(r["geometry"]["size_bins"]) for r in rows)
    cell_w, cell_h, left, top = 34.0, 16.0, 130.0, 30.0
    width = left + cell_w * bins + 10
    height = top + cell_h * len(rows) + 34
    parts = [
        f'<svg id="geometry-chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" xmlns="http://www.w3.org/2000/svg" '
        'aria-label="Component sizes per class, power-of-two bins on a log axis">'
    ]
    for i, row in enumerate(rows):
        counts: list[int] = row["geometry"]["size_bins"]
        total = sum(counts)
        y = top + i * cell_h
        label = escape(name(record, row["id"])[:18])
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y + cell_h * 0.72:.1f}" '
            f'text-anchor="end">{label}</text>'
        )
        for k, count in enumerate(counts):
            if not count:
                continue
            level = min(len(_HEAT) - 1, int(count / total * len(_HEAT)))
            parts.append(
                f'<rect x="{left + k * cell_w:.1f}" y="{y:.1f}" width="{cell_w - 1:.1f}" '
                f'height="{cell_h - 1:.1f}" fill="{_HEAT[level]}"><title>{label}: {count:,} '
                f"components of {size_label(k)} px ({count / total:.1%})</title></rect>"
            )
    axis_y = top + cell_h * len(rows) + 12
    for k in range(bins):
        parts.append(
            f'<text class="tick" x="{left + (k + 0.5) * cell_w:.1f}" y="{axis_y:.1f}" '
            f'text-anchor="middle">{_short(1 << k)}</text>'
        )
    speck = left + 3 * cell_w - 0.5  # components under 8 pixels: bins 0..2
    parts.append(
        f'<line x1="{speck:.1f}" y1="{top - 6:.1f}" x2="{speck:.1f}" y2="{axis_y - 10:.1f}" '
        'stroke="#c0392b" stroke-dasharray="3 2"/>'
        f'<text class="tick" x="{speck + 3:.1f}" y="{top - 8:.1f}">specks | larger</text>'
        f'<text class="tick" x="{left + cell_w * bins / 2:.1f}" y="{axis_y + 16:.1f}" '
        'text-anchor="middle">component size in pixels (power-of-two bins, each from the '
        "number shown; K = 1,024, M = 1,024 K)</text></svg>"
    )
    legend = " ".join(
        f'<span style="white-space:nowrap"><span class="legend-cell" '
        f'style="background:{colour}"></span>'
        f"{i / len(_HEAT):.3g}\N{EN DASH}{(i + 1) / len(_HEAT):.3g}</span>"
        for i, colour in enumerate(_HEAT)
    )
    note = (
        f'<p class="meta" id="geometry-left-out">{left_out:,} classes with the fewest '
        f"components are left out of the chart: it shows the {len(rows):,} with the most; the "
        "table holds every class.</p>"
        if left_out
        else ""
    )
    return (
        f'{note}<figure class="chart heat">{"".join(parts)}<figcaption>Share of the class\'s '
        f"components in each size bin: {legend}</figcaption></figure>"
    )


def _short(size: int) -> str:
    """A power of two as a short axis label: 512, 1K, 2K, ... 1M (binary multiples)."""
    for unit, step in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << step:
            return f"{size >> step}{unit}"
    return str(size)
