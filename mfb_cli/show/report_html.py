"""The report record as one self-contained HTML page: inline CSS, SVG and a little JS.

Nothing is fetched (no CDN, no web font, no image file): the page opens offline, from disk
or as an attachment. Every number is drawn server-side from the record, so the page reads
(and prints) without JavaScript; the script only sorts tables, switches the distribution
bars between log and linear scale and names the co-occurrence cell under the pointer.
Each number cell carries its exact value in ``data-value``, as the JSON outputs give it.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import TYPE_CHECKING, Any

from ..id_list import MAX_SHOWN, id_list
from .output import shown_bytes
from .plot import AUTO_LOG_RATIO
from .report_tables import (
    PAGE_ROWS,
    BarCell,
    IdCell,
    NameCell,
    NumCell,
    Row,
    SplitCell,
    attr,
    range_name,
    table_body,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .records import Record

#: Colours of the weighting schemes in the chart (Okabe-Ito: told apart by most readers).
SCHEME_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
#: Bars and swatches of classes without a colour table.
DEFAULT_BAR = "#4a7fb5"
#: Heat-map colour of share 0..1 by level (light to dark blue), 8 levels above zero.
_HEAT = ("#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
#: Above this many classes the heat map has no axis labels (the pointer names the cell).
MAX_LABELLED_CLASSES = 60
#: Pairs listed beside the heat map.
TOP_PAIRS = 15
#: Shown for a number that does not exist (a share of nothing).
NONE = "\N{EN DASH}"
#: Above this many classes a chart draws lines only, without a marker (and its tooltip)
#: per point: the tables beside it hold every number.
MAX_MARKED_CLASSES = 500
#: Above this many classes a chart's line joins this many of them, evenly spread over the
#: ranks from most to fewest pixels (the first and the last among them): the curve keeps
#: its shape and the page its size; the tables hold every class.
MAX_CHART_POINTS = 1000


def _drawn(count: int) -> list[int]:
    """The ranks a chart line joins: all, or ``MAX_CHART_POINTS`` evenly spread."""
    if count <= MAX_CHART_POINTS:
        return list(range(count))
    step = (count - 1) / (MAX_CHART_POINTS - 1)
    return sorted({round(k * step) for k in range(MAX_CHART_POINTS)})


def _note(text: str) -> str:
    return f'<p class="meta chart-note">{escape(text.strip())}</p>' if text else ""


def _drawn_note(count: int) -> str:
    if count <= MAX_CHART_POINTS:
        return ""
    return (
        f" The lines join {len(_drawn(count)):,} of the {count:,} classes, evenly spread over "
        "the ranks (the first and the last among them); the table holds every class."
    )


#: Classes missing from a split listed one by one at most; the rest are counted (the
#: table flags every one).
MAX_LISTED_MISSING = 50
#: Absent classes named one by one in the summary at most; beyond, as id ranges.
MAX_NAMED_ABSENT = 20


def _spans(ids: Sequence[int], absent: Callable[[int], bool]) -> list[tuple[int, int]]:
    """``ids`` in order as (first, last) spans: each id alone, except that consecutive
    absent ids (no pixel, the same zeros in every column) make one span.

    A table's rows are its spans, so a table has at most two rows per present class
    (there are at most 4096: the distinct-value limit) whatever the class vector's length:
    one 16-bit mask holding 65535 makes 65,536 classes and a page of a few hundred kB.
    """
    spans: list[tuple[int, int]] = []
    for label in ids:
        if spans and absent(label) and label == spans[-1][1] + 1 and absent(spans[-1][0]):
            spans[-1] = (spans[-1][0], label)
        else:
            spans.append((label, label))
    return spans


def _range_name_cell(first: int, last: int) -> NameCell:
    """The class cell of a span of absent classes; sorting keeps it at ``first``."""
    return NameCell(range_name(first, last), range_name(first, last))


_attr = attr


def _int(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def _share(value: float | None) -> str:
    if value is None:
        return NONE
    percent = value * 100
    if percent == 0 or percent >= 0.01:
        return f"{percent:.2f}%"
    return f"{percent:.2g}%"


def _number(value: float | None) -> str:
    return NONE if value is None else f"{value:.4g}"


def _num_cell(value: Any, text: str, extra: str = "") -> str:
    return f'<td class="num{extra}" data-value="{_attr(value)}">{escape(text)}</td>'


def _name(record: Record, label: int) -> str:
    names: list[str | None] = record["names"]
    name = names[label] if 0 <= label < len(names) else None
    return name if name is not None else str(label)


def _colour(record: Record, label: int) -> str:
    colours: list[str | None] = record["colours"]
    colour = colours[label] if 0 <= label < len(colours) else None
    return colour or DEFAULT_BAR


def render_report(record: Record) -> str:
    """The whole page, deterministic for a given record."""
    summary = record["summary"]
    title = f"mfb report: {summary['name']}"
    from .report_geometry import geometry_section
    from .report_rasters import rasters_section

    geometry = geometry_section(record, _name, _share)
    rasters = rasters_section(record, _name)
    sections = [
        _summary(record),
        _distribution(record),
        *([rasters] if rasters else []),
        *([geometry] if geometry else []),
        _weights(record),
        _cooc(record),
        _sampling(record),
        _splits(record),
        _problems(record),
    ]
    nav = "".join(
        f'<a href="#{key}">{label}</a>'
        for key, label in (
            ("summary", "Summary"),
            ("distribution", "Classes"),
            *([("rasters", "Rasters")] if rasters else []),
            *([("geometry", "Geometry")] if geometry else []),
            ("weights", "Weights"),
            ("cooc", "Co-occurrence"),
            ("sampling", "Sampling"),
            ("splits", "Splits"),
            ("problems", "Problems"),
        )
    )
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        f"<header><h1>Class balance: {escape(summary['name'])}</h1>"
        f'<p class="meta">mfb {escape(record["mfb_version"])} · '
        f"<code>{escape(record['command'])}</code></p><nav>{nav}</nav></header>\n<main>\n"
        + "\n".join(sections)
        + f"\n</main>\n<script>{JS}</script>\n</body></html>\n"
    )
    return shown_bytes(page)  # a file name's byte that is not UTF-8 reads \xNN, as in tables


def _summary(record: Record) -> str:
    s = record["summary"]
    absent = s["absent"]
    if not absent:
        absent_text = "0"
    elif len(absent) <= MAX_NAMED_ABSENT:
        absent_text = f"{len(absent):,}: " + ", ".join(_name(record, c) for c in absent)
    else:
        absent_text = f"{len(absent):,}: ids {id_list(absent)}"
    ratio = s["imbalance_ratio"]
    ratio_text = NONE if ratio is None else f"{ratio:,.1f}"
    if ratio is not None:
        ratio_text += f" ({_name(record, s['largest'])} / {_name(record, s['smallest'])})"
    items = [
        ("images", s["images"], _int(s["images"])),
        ("total_pixels", s["total_pixels"], _int(s["total_pixels"])),
        ("labelled_pixels", s["labelled_pixels"], _int(s["labelled_pixels"])),
        ("num_classes", s["num_classes"], _int(s["num_classes"])),
        ("present", s["present"], _int(s["present"])),
        ("absent", len(absent), absent_text),
        (
            "void_share",
            s["void_share"],
            f"{_share(s['void_share'])} (ids {id_list(s['void']) or 'none'})",
        ),
        (
            "ignored_share",
            s["ignored_share"],
            f"{_share(s['ignored_share'])} (values {id_list(s['ignore']) or 'none'})",
        ),
        ("imbalance_ratio", ratio, ratio_text),
    ]
    labels = {
        "images": "Images",
        "total_pixels": "Pixels",
        "labelled_pixels": "Labelled pixels",
        "num_classes": "Classes (vector length)",
        "present": "Classes present",
        "absent": "Classes absent",
        "void_share": "Void share",
        "ignored_share": "Ignored share",
        "imbalance_ratio": "Imbalance ratio",
    }
    cells = "".join(
        f'<div class="stat" data-key="{key}"><dt>{labels[key]}</dt>'
        f'<dd data-value="{_attr(value)}">{escape(text)}</dd></div>'
        for key, value, text in items
    )
    inputs = record["inputs"]
    more = (
        f"<p>Summary, classes, weights and co-occurrence describe <b>{escape(inputs[0])}</b>, "
        f"the first of {len(inputs)} inputs; all of them are compared under Splits.</p>"
        if len(inputs) > 1
        else ""
    )
    source = json.dumps(s["source"], sort_keys=True, ensure_ascii=False)  # names as text
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<dl class="stats">{cells}</dl>{more}'
        f'<p class="meta">mfb {escape(record["mfb_version"])}; command: '
        f'<code id="command">{escape(record["command"])}</code></p>'
        f'<p class="meta">Source: <code>{escape(source)}</code></p>'
        '<p class="meta">Labelled pixels are neither void nor ignored. Imbalance ratio: '
        "pixels of the largest / of the smallest present non-void class.</p></section>"
    )


def _bar_widths(rows: Sequence[Record]) -> tuple[list[float], list[float], tuple[int, float]]:
    """Bar lengths in percent, linear and log (log: one decade below the smallest count),
    and the scale (largest count, log's lower end) they come from."""
    values = [r["pixels"] for r in rows]
    top = max(values, default=0)
    low = min((v for v in values if v > 0), default=1) / 10
    linear = [100 * v / top if top else 0.0 for v in values]
    span = math.log10(top / low) if top else 0.0
    log = [100 * math.log10(v / low) / span if v > 0 and span else 0.0 for v in values]
    return linear, log, (top, low)


def _distribution(record: Record) -> str:
    histogram = record["histogram"]
    by_id = {r["id"]: r for r in histogram["classes"]}
    spans = _spans(list(by_id), lambda c: not by_id[c]["seen"])
    rows = [by_id[first] for first, _ in spans] + [*histogram["void"], *histogram["ignored"]]
    lasts = [last for _, last in spans] + [r["id"] for r in rows[len(spans) :]]
    linear, log, scale_of_bars = _bar_widths(rows)
    ratio = histogram["imbalance_ratio"]
    use_log = ratio is not None and ratio > AUTO_LOG_RATIO
    body = []
    for row, last, lin, lg in zip(rows, lasts, linear, log, strict=True):
        kind = row["kind"]
        label = row["id"]
        colour = _colour(record, label) if kind != "ignored" else "#999999"
        if last != label:
            name_cell = NameCell(range_name(label, last), range_name(label, last))
            css, row_kind = "range class unseen", None
        else:
            name = row["name"] if row["name"] is not None else str(label)
            marks = []
            if kind != "class":
                marks.append((kind, kind))
            if not row["seen"]:
                marks.append(("unseen", "never seen"))
            name_cell = NameCell(name, name, colour, tuple(marks), space=True)
            css, row_kind = f"{kind}{'' if row['seen'] else ' unseen'}", kind
        body.append(
            Row(
                (
                    IdCell(label, last),
                    name_cell,
                    NumCell(row["pixels"], _int(row["pixels"]), " pixels", "int"),
                    NumCell(
                        row["share_of_labelled"],
                        _share(row["share_of_labelled"]),
                        " share",
                        "share",
                    ),
                    NumCell(row["images"], _int(row["images"]), " images", "int"),
                    NumCell(
                        row["share_of_images"],
                        _share(row["share_of_images"]),
                        " image-share",
                        "share",
                    ),
                    BarCell(row["pixels"], lin, lg, colour, use_log, scale_of_bars),
                ),
                css,
                row_kind,
            )
        )
    table = table_body("distribution-table", body)
    scale = "log" if use_log else "linear"
    return (
        '<section id="distribution"><h2>Class distribution</h2>'
        '<p class="controls">Bar scale: <button type="button" id="scale-toggle" '
        f'data-scale="{scale}">{scale}</button> (click to switch; default log when the '
        f"imbalance ratio is over {AUTO_LOG_RATIO}). Click a column heading to sort.</p>"
        f'<table id="distribution-table" class="sortable{table.css}" data-scale="{scale}">'
        "<thead><tr>"
        '<th data-type="num">Id</th><th data-type="text">Class</th>'
        '<th data-type="num">Pixels</th><th data-type="num">Share of labelled</th>'
        '<th data-type="num">Images</th><th data-type="num">Share of images</th>'
        f'<th data-type="num" class="barhead">Pixels (<span class="scale-name">{scale}</span>)'
        f"</th></tr></thead>{table.tbody}</table>{table.after}"
        '<p class="meta">Share of labelled: pixels / labelled pixels (void and ignored rows: '
        "none). Share of images: images containing the id / all images. Void ids keep their "
        "channel with weight 0; ignored values are not classes; never-seen classes get weight "
        "0. Consecutive never-seen classes share one row (absent: first-last).</p></section>"
    )


def _weights(record: Record) -> str:
    weights = record["weights"]
    schemes = weights["schemes"]
    histogram = record["histogram"]
    shares = {r["id"]: r["share_of_labelled"] for r in histogram["classes"]}
    pixels = {r["id"]: r["pixels"] for r in histogram["classes"]}
    void = set(record["summary"]["void"])
    num_classes = record["summary"]["num_classes"]
    head = "".join(
        f'<th data-type="num" data-scheme="{escape(s["scheme"])}">'
        f'<span class="key" style="background:{SCHEME_COLOURS[i % len(SCHEME_COLOURS)]}"></span>'
        f"{escape(s['scheme'])}</th>"
        for i, s in enumerate(schemes)
    )

    def absent(c: int) -> bool:
        return c not in void and not pixels.get(c) and all(s["weights"][c] == 0 for s in schemes)

    body = []
    for c, last in _spans(range(num_classes), absent):
        note = " (void)" if c in void else "" if pixels.get(c, 0) else " (absent)"
        body.append(
            Row(
                (
                    IdCell(c, last),
                    _range_name_cell(c, last)
                    if last != c
                    else NameCell(_name(record, c), _name(record, c) + note),
                    NumCell(shares.get(c), _share(shares.get(c)), "", "share"),
                    *(
                        NumCell(s["weights"][c], _number(s["weights"][c]), " weight", "number")
                        for s in schemes
                    ),
                ),
                "range" if last != c else None,
            )
        )
    table = table_body("weights-table", body)
    descriptions = "".join(
        f"<li><b>{escape(s['scheme'])}</b>: {escape(s['summary'])} "
        f"<code>{escape(_parameters(s['parameters']))}</code></li>"
        for s in schemes
    )
    normalize = weights["normalize"]
    return (
        '<section id="weights"><h2>Weights under every scheme</h2>'
        f'<p>Normalisation in force: <b id="normalize">{escape(normalize)}</b> '
        f"({escape(_NORMALIZE_TEXT.get(normalize, normalize))}), so the schemes share one "
        "scale. Void and absent classes get weight 0 in every scheme. The same numbers: "
        f"<code>mfb weights ... --scheme NAME --normalize {escape(normalize)}</code>.</p>"
        f'<figure class="chart">{_weights_chart(record)}<figcaption>Weight of each present '
        "class (log scale), classes from most to fewest pixels.</figcaption></figure>"
        f'<table id="weights-table" class="sortable{table.css}"><thead><tr>'
        '<th data-type="num">Id</th>'
        '<th data-type="text">Class</th><th data-type="num">Share of labelled</th>'
        f"{head}</tr></thead>{table.tbody}</table>{table.after}"
        f'<ul class="meta">{descriptions}</ul></section>'
    )


_NORMALIZE_TEXT = {
    "none": "each scheme's natural scale",
    "mean": "the counted weights divided by their mean: mean weight 1",
    "sum": "the counted weights divided by their sum: sum 1",
    "median": "the counted weights divided by their median: median weight 1",
    "pixels": "divided by the pixel-weighted mean: a pixel-averaged loss keeps its scale",
}


def _parameters(parameters: Record) -> str:
    return ", ".join(f"{k}={v}" for k, v in parameters.items() if v not in (None, False))


def _weights_chart(record: Record) -> str:
    schemes = record["weights"]["schemes"]
    classes = sorted(
        (r for r in record["histogram"]["classes"] if r["pixels"] > 0),
        key=lambda r: (-r["pixels"], r["id"]),
    )
    classes = [r for r in classes if all(s["weights"][r["id"]] > 0 for s in schemes)]
    if not classes:
        return '<p class="empty">No counted class.</p>'
    values = [s["weights"][r["id"]] for s in schemes for r in classes]
    names = [_name(record, r["id"]) for r in classes]
    parts, x, y = _log_frame(
        "weights-chart", "Weights of every scheme per class", 360, values, names
    )
    for n, s in enumerate(schemes):
        colour = SCHEME_COLOURS[n % len(SCHEME_COLOURS)]
        points = " ".join(
            f"{x(i):.1f},{y(s['weights'][classes[i]['id']]):.1f}" for i in _drawn(len(classes))
        )
        parts.append(
            f'<g class="series" data-scheme="{escape(s["scheme"])}"><polyline points="{points}" '
            f'fill="none" stroke="{colour}" stroke-width="1.5"/>'
        )
        radius = 2.5 if len(classes) <= MAX_LABELLED_CLASSES else 1.2
        for i, r in enumerate(classes if len(classes) <= MAX_MARKED_CLASSES else ()):
            weight = s["weights"][r["id"]]
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(weight):.1f}" r="{radius}" fill="{colour}">'
                f"<title>{escape(_name(record, r['id']))}: {escape(s['scheme'])} "
                f"{_number(weight)}</title></circle>"
            )
        parts.append("</g>")
        parts.append(
            f'<rect x="{_LEFT + 8 + 140 * n}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{_LEFT + 22 + 140 * n}" y="15" class="tick">'
            f"{escape(s['scheme'])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts) + _note(_drawn_note(len(classes)))


#: Left margin of the log-scale charts (room for the tick labels); legends start there.
_LEFT = 56


def _log_frame(
    chart_id: str, label: str, height: int, values: Sequence[float], names: Sequence[str]
) -> tuple[list[str], Callable[[int], float], Callable[[float], float]]:
    """The opening of a log-scale line chart, one column per name: the SVG element, the
    decade grid and the class labels; and the x of a column and the y of a value."""
    low = math.floor(math.log10(min(values)))
    high = max(math.ceil(math.log10(max(values))), low + 1)
    width, top, bottom = 900, 32, 64
    plot_w, plot_h = width - _LEFT - 48, height - top - bottom
    step = plot_w / max(len(names), 1)

    def x(i: int) -> float:
        return _LEFT + step * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - (math.log10(v) - low) / (high - low))

    parts = [
        f'<svg id="{chart_id}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for exponent in range(low, high + 1):
        yy = y(10.0**exponent)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 6}" y="{yy + 4:.1f}" class="tick" text-anchor="end">'
            f"{_power(exponent)}</text>"
        )
    if len(names) <= MAX_LABELLED_CLASSES:
        for i, name in enumerate(names):
            parts.append(
                f'<text class="tick" transform="translate({x(i):.1f},{height - bottom + 10}) '
                f'rotate(40)">{escape(name[:14])}</text>'
            )
    return parts, x, y


def _power(exponent: int) -> str:
    return f"{10.0**exponent:g}" if -3 <= exponent <= 4 else f"1e{exponent}"


def _heat_levels(share: Sequence[Sequence[float]]) -> list[str]:
    """Per colour level, one SVG path in cell units: a horizontal stroke through the middle
    of each run of cells of that level in a row, moves relative (a few bytes a cell)."""
    paths: list[list[str]] = [[] for _ in _HEAT]
    for i, row in enumerate(share):
        ends: dict[int, int] = {}  # level -> where its last run in this row ended
        j = 0
        while j < len(row):
            if row[j] <= 0:
                j += 1
                continue
            level = min(len(_HEAT) - 1, int(row[j] * len(_HEAT)))
            start = j
            while (
                j < len(row)
                and row[j] > 0
                and min(len(_HEAT) - 1, int(row[j] * len(_HEAT))) == level
            ):
                j += 1
            if level in ends:
                paths[level].append(f"m{start - ends[level]} 0h{j - start}")
            else:
                paths[level].append(f"M{start} {i}.5h{j - start}")
            ends[level] = j
    return ["".join(p) for p in paths]


def _cooc(record: Record) -> str:
    cooc = record["cooc"]
    order: list[int] = cooc["order"]
    share: list[list[float]] = cooc["share"]
    n = len(order)
    if n == 0:
        return (
            '<section id="cooc"><h2>Co-occurrence</h2><p class="empty">No counted class.'
            "</p></section>"
        )
    labelled = n <= MAX_LABELLED_CLASSES
    cell = max(3.0, min(22.0, 640 / n))
    margin = 110 if labelled else 8
    side = margin + cell * n
    pad = 60 if labelled else 4  # the last column's slanted label
    levels = _heat_levels(share)
    parts = [
        f'<svg id="cooc-chart" viewBox="0 0 {side + pad:.0f} {side + 4:.0f}" '
        f'width="{side + pad:.0f}" height="{side + 4:.0f}" role="img" '
        f'aria-label="Co-occurrence heat map" xmlns="http://www.w3.org/2000/svg" '
        f'data-margin="{margin}" data-cell="{cell:.4f}" data-n="{n}">'
        f'<rect x="{margin}" y="{margin}" width="{cell * n:.2f}" height="{cell * n:.2f}" '
        'fill="#ffffff" stroke="#bbbbbb"/>'
    ]
    # In cell units: each cell a stroke one cell wide, runs of a level in a row one stroke.
    parts.append(f'<g transform="translate({margin} {margin}) scale({cell:.4f})">')
    for colour, path in zip(_HEAT, levels, strict=True):
        if path:
            parts.append(
                f'<path stroke="{colour}" stroke-width="1" fill="none" '
                f'shape-rendering="crispEdges" d="{path}"/>'
            )
    parts.append("</g>")
    if labelled:
        font = min(11.0, cell * 0.8)
        for i, c in enumerate(order):
            name = escape(_name(record, c)[:16])
            middle = margin + (i + 0.5) * cell
            parts.append(
                f'<text class="tick" x="{margin - 4}" y="{middle + font / 3:.1f}" '
                f'text-anchor="end" font-size="{font:.1f}">{name}</text>'
                f'<text class="tick" transform="translate({middle + font / 3:.1f},{margin - 4}) '
                f'rotate(-60)" font-size="{font:.1f}">{name}</text>'
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="legend-cell" style="background:{colour}"></span>'
        f"{i / len(_HEAT):.3g}\N{EN DASH}{(i + 1) / len(_HEAT):.3g} "
        for i, colour in enumerate(_HEAT)
    )
    pairs = sorted(
        (
            ((share[i][j] + share[j][i]) / 2, i, j)
            for i in range(n)
            for j in range(i + 1, n)
            if share[i][j] > 0 or share[j][i] > 0
        ),
        key=lambda t: (-t[0], order[t[1]], order[t[2]]),
    )[:TOP_PAIRS]
    rows = "".join(
        f"<tr><td>{escape(_name(record, order[i]))}</td><td>{escape(_name(record, order[j]))}</td>"
        + _num_cell(share[i][j], _share(share[i][j]))
        + _num_cell(share[j][i], _share(share[j][i]))
        + "</tr>"
        for _, i, j in pairs
    )
    data = json.dumps(
        {
            "names": [_name(record, c) for c in order],
            "share": [[round(v, 4) for v in row] for row in share],
        },
        separators=(",", ":"),
    ).replace("<", "\\u003c")  # no '</script>' or '<!--' can end or bend the block
    return (
        '<section id="cooc"><h2>Co-occurrence</h2>'
        "<p>Row <i>c</i>, column <i>d</i>: the share of the pixels of <i>d</i> that lie in "
        "images containing <i>c</i> (from the counts mfb keeps; white: never together). "
        f"Order: {escape(record['definitions']['cooc_order'])}.</p>"
        + (
            f'<p class="meta" id="cooc-left-out">{cooc["left_out"]} classes with the fewest '
            f"pixels are left out: the map shows the {n} with the most.</p>"
            if cooc["left_out"]
            else ""
        )
        + f'<div class="cooc-wrap"><figure class="chart heat">{parts[0]}{"".join(parts[1:])}'
        f'<figcaption>{legend}</figcaption><p id="cooc-hover" class="meta">'
        "Point at a cell to read it.</p></figure>"
        '<table id="cooc-pairs"><caption>Classes most often together</caption><thead><tr>'
        "<th>c</th><th>d</th><th>d's pixels with c</th><th>c's pixels with d</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
        f'<script type="application/json" id="cooc-data">{data}</script></section>'
    )


def _sampling(record: Record) -> str:
    """Each sampling scheme's expected pixel share per class beside the dataset's."""
    section = record["sampling"]
    head = '<section id="sampling"><h2>Effect of sampling on class shares</h2>'
    if not section["available"]:
        note = escape(_capital(section["note"]))
        return f'{head}<p class="empty" id="sampling-note">{note}.</p></section>'
    schemes = section["schemes"]
    usable = [s for s in schemes if s["error"] is None]
    rows = usable[0]["classes"] if usable else []
    shares = {r["class"]: r["pixel_share"] for r in rows}
    sampled = [{r["class"]: r["sampled_pixel_share"] for r in s["classes"]} for s in schemes]
    columns = "".join(
        f'<th data-type="num" data-scheme="{escape(s["scheme"])}">'
        f'<span class="key" style="background:{SCHEME_COLOURS[(i + 1) % len(SCHEME_COLOURS)]}">'
        f"</span>{escape(s['scheme'])}</th>"
        for i, s in enumerate(schemes)
    )

    def absent(c: int) -> bool:  # no pixel in the dataset, so none in any draw
        return shares[c] == 0 and all(not one.get(c) for one in sampled)

    body = [
        Row(
            (
                IdCell(c, last),
                _range_name_cell(c, last)
                if last != c
                else NameCell(_name(record, c), _name(record, c)),
                NumCell(shares[c], _share(shares[c]), "", "share"),
                *(NumCell(one.get(c), _share(one.get(c)), "", "share") for one in sampled),
            ),
            "range" if last != c else None,
        )
        for c, last in _spans(list(shares), absent)
    ]
    table = table_body("sampling-table", body)
    notes = "".join(
        f"<li><b>{escape(s['scheme'])}</b>: "
        + (
            f"<code>{escape(_parameters(s['parameters']) or 'no parameters')}</code>"
            if s["error"] is None
            else f'<span class="error">not drawn: {escape(s["error"])}</span>'
        )
        + "</li>"
        for s in schemes
    )
    return (
        f"{head}<p>Share of labelled pixels per class in the dataset and, for each sampling "
        "scheme with its default parameters, the expected share in a drawn image "
        "(E[pixels of c in a draw] / E[labelled pixels in a draw]), worked out exactly from "
        "the per-image counts. The same numbers: <code>mfb sampling ... --scheme NAME -f "
        "json</code>, under <code>effect</code>.</p>"
        f'<figure class="chart">{_sampling_chart(record, shares, schemes, sampled)}'
        "<figcaption>Pixel share of each present class (log scale), dataset and drawn sample, "
        "classes from most to fewest pixels.</figcaption></figure>"
        f'<table id="sampling-table" class="sortable{table.css}"><thead><tr>'
        '<th data-type="num">Id</th>'
        '<th data-type="text">Class</th><th data-type="num">Dataset share</th>'
        f"{columns}</tr></thead>{table.tbody}</table>{table.after}"
        f'<ul class="meta">{notes}</ul></section>'
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sampling_chart(
    record: Record,
    shares: dict[int, float],
    schemes: Sequence[Record],
    sampled: Sequence[dict[int, float]],
) -> str:
    classes = sorted((c for c, v in shares.items() if v > 0), key=lambda c: (-shares[c], c))
    series = [("dataset", "#555555", shares)] + [
        (s["scheme"], SCHEME_COLOURS[(i + 1) % len(SCHEME_COLOURS)], one)
        for i, (s, one) in enumerate(zip(schemes, sampled, strict=True))
        if s["error"] is None
    ]
    values = [v[c] for _, _, v in series for c in classes if v.get(c, 0) > 0]
    if not values:
        return '<p class="empty">No counted class.</p>'
    parts, x, y = _log_frame(
        "sampling-chart",
        "Pixel share per class, dataset and drawn sample",
        320,
        values,
        [_name(record, c) for c in classes],
    )
    radius = 2.5 if len(classes) <= MAX_LABELLED_CLASSES else 1.2
    for n, (label, colour, value) in enumerate(series):
        shown = [(i, value[c]) for i, c in enumerate(classes) if value.get(c, 0) > 0]
        points = " ".join(
            f"{x(i):.1f},{y(v):.1f}" for i, v in (shown[k] for k in _drawn(len(shown)))
        )
        dash = ' stroke-dasharray="4 3"' if n == 0 else ""
        parts.append(
            f'<g class="series" data-scheme="{escape(label)}"><polyline points="{points}" '
            f'fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>'
            + "".join(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{radius}" fill="{colour}">'
                f"<title>{escape(_name(record, classes[i]))}: {escape(label)} "
                f"{_share(v)}</title></circle>"
                for i, v in (shown if len(classes) <= MAX_MARKED_CLASSES else ())
            )
            + "</g>"
            f'<rect x="{_LEFT + 8 + 140 * n}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{_LEFT + 22 + 140 * n}" y="15" class="tick">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts) + _note(_drawn_note(len(classes)))


def _splits(record: Record) -> str:
    splits = record["splits"]
    parts = splits["splits"]
    if len(parts) < 2:
        return (
            '<section id="splits"><h2>Splits</h2><p class="empty">One input. Compare splits '
            "with several statistics files: <code>mfb scan train/ -o train.json</code>, the "
            "same for val/ and test/, then <code>mfb report --from train.json --from val.json "
            "--from test.json -o report.html</code>.</p></section>"
        )
    names = [p["name"] for p in parts]
    missing = {m["id"]: m for m in splits["missing"]}
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    divergence_rows = "".join(
        f"<tr><th>{escape(a)}</th>" + "".join(_num_cell(v, _number(v)) for v in row) + "</tr>"
        for a, row in zip(names, splits["js_divergence"], strict=True)
    )
    flagged = "".join(
        f'<li class="flag" data-id="{m["id"]}"><b>{escape(_name(record, m["id"]))}</b> '
        f"(id {m['id']}): present in {escape(', '.join(m['present_in']))}, missing from "
        f"{escape(', '.join(m['missing_from']))}</li>"
        for m in splits["missing"][:MAX_LISTED_MISSING]
    )
    more = len(splits["missing"]) - MAX_LISTED_MISSING
    if more > 0:
        flagged += (
            f'<li class="more">... and {more:,} more (ids '
            f"{id_list(m['id'] for m in splits['missing'][MAX_LISTED_MISSING:])}), each flagged "
            "\N{WARNING SIGN} in the table below</li>"
        )
    position = {row["id"]: index for index, row in enumerate(parts[0]["classes"])}

    def absent(label: int) -> bool:  # in no split
        return all(p["classes"][position[label]]["pixels"] == 0 for p in parts)

    body = []
    for label, last in _spans(list(position), absent):
        index = position[label]
        flag = label in missing
        values = [p["classes"][index]["share_of_labelled"] for p in parts]
        top = max((v or 0 for v in values), default=1)
        body.append(
            Row(
                (
                    IdCell(label, last),
                    _range_name_cell(label, last)
                    if last != label
                    else NameCell(
                        _name(record, label),
                        ("\N{WARNING SIGN} " if flag else "") + _name(record, label),
                    ),
                    *(
                        SplitCell(
                            value,
                            100 * value / top if value else 0.0,
                            _colour(record, label),
                            _share(value),
                        )
                        for value in values
                    ),
                ),
                "range" if last != label else "flag" if flag else None,
            )
        )
    table = table_body("splits-table", body)
    images = "".join(_num_cell(p["images"], _int(p["images"])) for p in parts)
    return (
        '<section id="splits"><h2>Splits</h2>'
        f"<h3>Jensen-Shannon divergence</h3><p>{escape(record['definitions']['js_divergence'])}"
        f'.</p><table id="js-table"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{divergence_rows}</tbody></table>"
        "<h3>Classes present in one split and missing from another</h3>"
        + (f'<ul id="missing-classes">{flagged}</ul>' if flagged else "<p>None.</p>")
        + '<h3>Share of labelled pixels per split</h3><table id="splits-table" '
        f'class="sortable{table.css}"><thead><tr><th data-type="num">Id</th>'
        '<th data-type="text">Class</th>'
        + "".join(f'<th data-type="num">{escape(n)}</th>' for n in names)
        + f"</tr></thead>{table.tbody}<tfoot><tr><td></td><td>Images</td>"
        f"{images}</tr></tfoot></table>{table.after}</section>"
    )


def _problems(record: Record) -> str:
    problems = record["problems"]
    warnings = problems["warnings"]
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    text = f'<ul id="warnings">{items}</ul>' if items else '<p id="warnings">No warnings.</p>'
    check = problems["check"]
    return (
        '<section id="problems"><h2>Problems</h2><h3>Warnings of this run</h3>'
        f"{text}<h3>mfb check</h3>{_check(check)}</section>"
    )


def _check(check: Record | None) -> str:
    if check is None:
        return (
            '<p id="check">Not run: pass <code>--check</code> to read every file for problems.</p>'
        )
    lines = []
    for item in check["bad_files"]:
        lines.append(f"unreadable: {item['path']}: {item['problem']}")
    lines += [f"empty file: {p}" for p in check["empty_files"]]
    for item in check["out_of_range"][:MAX_SHOWN]:
        lines.append(
            f"label {item['label']} out of range in {len(item['files'])} file(s): "
            + ", ".join(item["files"][:5])
        )
    if len(check["out_of_range"]) > MAX_SHOWN:
        rest = [item["label"] for item in check["out_of_range"][MAX_SHOWN:]]
        lines.append(f"{len(rest):,} more labels out of range: {id_list(rest)}")
    lines += [
        f"looks interpolated or JPEG-compressed: {item['path']} "
        f"({item['blend_share']:.1%} of boundary pixels blended)"
        for item in check["suspected_artefacts"]
    ]
    lines += ["identical files: " + ", ".join(group) for group in check["duplicates"]]
    lines += [
        f"palette index {item['index']} means different colours in different files"
        for item in check["palette_conflicts"]
    ]
    lines += [  # with --geometry only
        f"class {item['label']} is mostly specks: {item['specks']:,} of its "
        f"{item['components']:,} components; most in "
        + ", ".join(f"{one['path']} ({one['specks']:,})" for one in item["worst_files"])
        for item in check.get("speckled_classes", [])
    ]
    status = "clean" if check["clean"] else "problems: " + ", ".join(check["problems"])
    info = (
        f"{_int(check['files'])} files; modes "
        + ", ".join(f"{k} ({v})" for k, v in check["modes"].items())
        + "; sizes "
        + ", ".join(f"{k} ({v})" for k, v in check["sizes"].items())
    )
    found = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (
        f'<div id="check" data-clean="{_attr(check["clean"])}"><p><b>{escape(status)}</b>. '
        f"{escape(info)}.</p>{f'<ul>{found}</ul>' if found else ''}</div>"
    )


CSS = """
:root{--ink:#1d232b;--muted:#5b6672;--line:#d9dee4;--bg:#ffffff;--band:#f4f6f8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header{padding:16px 24px 8px;border-bottom:1px solid var(--line);background:var(--band)}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:16px 0 6px}
nav a{margin-right:14px;color:#1f5f99;text-decoration:none}
main{max-width:1180px;margin:0 auto;padding:0 24px 40px}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
.meta{color:var(--muted);font-size:12.5px}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px;margin:8px 0}
.stat{background:var(--band);border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.stat dt{color:var(--muted);font-size:12px}.stat dd{margin:2px 0 0;font-size:16px;font-weight:600}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
th{background:var(--band);position:sticky;top:0;white-space:nowrap}
td.num,th[data-type=num]{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer}table.sortable th:hover{background:#e6ebf0}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
#distribution-table{width:100%}
.barcell{width:34%;min-width:120px}.bar{height:12px;border-radius:2px;min-width:1px}
.swatch,.key,.legend-cell{display:inline-block;width:11px;height:11px;border-radius:2px;
margin-right:6px;vertical-align:-1px;border:1px solid rgba(0,0,0,.25)}
.legend-cell{margin-left:8px}
.badge{font-size:11px;padding:0 5px;border-radius:8px;margin-left:4px;color:#fff}
.badge.void{background:#6c757d}.badge.ignored{background:#999}.badge.unseen{background:#c0392b}
tr.void td,tr.ignored td{color:var(--muted);
background:repeating-linear-gradient(135deg,#fff 0 6px,#f2f2f2 6px 12px)}
tr.unseen td{color:#c0392b}
tr.flag td{background:#fff4e5}
.chart{margin:8px 0}.chart svg{width:100%;height:auto;max-height:420px}
.heat svg{width:auto;max-width:100%;height:auto;max-height:none}
.cooc-wrap{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
svg .grid{stroke:#e3e7eb}svg .tick{font-size:10px;fill:#444}
.splitcell{min-width:130px}.splitcell .bar{display:inline-block;height:10px;max-width:70px;
margin-right:6px;vertical-align:middle}
button{font:inherit;padding:2px 10px;border:1px solid #8a98a8;border-radius:4px;
background:#fff;cursor:pointer}
.empty{color:var(--muted)}.error{color:#c0392b}
.pager{margin:4px 0 12px;color:var(--muted);font-size:12.5px}.pager input{width:7em}
tr.target td{background:#fff3b0}
.rasters{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
.raster{margin:8px 0;max-width:100%}.raster figcaption{max-width:512px}
img.thumbnail{display:block;max-width:100%;height:auto;image-rendering:pixelated;
outline:1px solid var(--line);background:#c8c8c8}
.legend{list-style:none;padding:0;margin:6px 0;columns:2;font-size:12.5px}
.swatch.nodata{background:#c8c8c8}
@page{size:A4;margin:12mm}
@media print{
 body{font-size:10px}.meta{font-size:9px}header{background:none;padding:0 0 6px}
 nav,.controls,.pager,#cooc-hover{display:none}
 main{max-width:none;padding:0}table{font-size:8.5px;width:100%}
 th{position:static;white-space:normal}th,td{padding:2px 4px}
 tr,figure,.stat{break-inside:avoid}h2,h3{break-after:avoid}
 .chart svg{max-height:none;width:100%}.heat svg{width:auto;max-width:100%}
 .barcell{min-width:0}.splitcell{min-width:0}
 section{break-inside:auto}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

JS = r"""
(function(){
"use strict";
function value(cell,type){
  var v=cell.getAttribute("data-value");
  if(type==="num"){return v===null||v===""?-Infinity:parseFloat(v);}
  return (v===null?cell.textContent:v).toLowerCase();
}
var NONE="\u2013",DASH="\u2013",PAGE=%PAGE%;
function esc(t){
  return String(t).replace(/&/g,"&amp;").replace(/</g,"&lt;").replace(/>/g,"&gt;")
    .replace(/"/g,"&quot;").replace(/'/g,"&#x27;");
}
function trim(t){return t.indexOf(".")<0?t:t.replace(/0+$/,"").replace(/\.$/,"");}
function g(v,digits){  /* Python's format(v, ".<digits>g") */
  if(v===0){return "0";}
  var e=parseInt(v.toExponential(digits-1).split("e")[1],10);
  if(e<-4||e>=digits){
    var m=trim(v.toExponential(digits-1).split("e")[0]),a=Math.abs(e);
    return m+"e"+(e<0?"-":"+")+(a<10?"0":"")+a;
  }
  return trim(v.toFixed(Math.max(0,digits-1-e)));
}
function int(v){return v===null?NONE:String(v).replace(/\B(?=(\d{3})+(?!\d))/g,",");}
function share(v){
  if(v===null){return NONE;}
  var p=v*100;
  return p===0||p>=0.01?p.toFixed(2)+"%":g(p,2)+"%";
}
var FORMS={int:int,share:share,number:function(v){return v===null?NONE:g(v,4);}};
function each(v,i){  /* one value, a list, or names and a code per row */
  return Array.isArray(v)?v[i]:v!==null&&typeof v==="object"?v.names[v.codes[i]]:v;
}
function cell(col,i,scale,first,last){
  var v=col.values?col.values[i]:null,value=v===null?"":String(v);
  if(col.type==="id"){
    return '<td class="num" data-value="'+v+'">'+v+(last!==v?DASH+last:"")+"</td>";
  }
  if(col.type==="name"){
    if(v===null){
      v=first===last?String(first):"absent: "+first+"-"+last+" ("+int(last-first+1)+" classes)";
    }
    var swatch=each(col.swatch,i)?'<span class="swatch" style="background:'+
      esc(each(col.swatch,i))+'"></span>':"";
    var badges=(col.badges?col.badges.names[col.badges.codes[i]]:[]).map(function(b){
      return '<span class="badge '+esc(b[0])+'">'+esc(b[1])+"</span>";}).join("");
    var text=col.text&&col.text[i]!==null?col.text[i]:v;
    return '<td data-value="'+esc(v)+'">'+swatch+esc(text)+(each(col.space,i)?" ":"")+
      badges+"</td>";
  }
  if(col.type==="bar"){
    var span=col.top?Math.log10(col.top/col.low):0;
    var lin=col.top?100*v/col.top:0,log=v>0&&span?100*Math.log10(v/col.low)/span:0;
    return '<td class="barcell" data-value="'+value+'"><div class="bar" data-lin="'+
      lin.toFixed(3)+'" data-log="'+log.toFixed(3)+'" style="width:'+
      (scale==="log"?log:lin).toFixed(3)+"%;background:"+esc(each(col.colour,i))+
      '"></div></td>';
  }
  if(col.type==="split"){
    return '<td class="num splitcell" data-value="'+value+'"><div class="bar" style="width:'+
      col.width[i].toFixed(2)+"%;background:"+esc(each(col.colour,i))+'"></div><span>'+
      share(v)+"</span></td>";
  }
  var text=col.form?FORMS[col.form](v):col.text[i];
  return '<td class="num'+esc(each(col.css,i))+'" data-value="'+value+'">'+esc(text)+"</td>";
}
function paged(table){
  var island=document.getElementById(table.id+"-data");
  var pager=document.querySelector('.pager[data-table="'+table.id+'"]');
  if(!island||!pager){return;}
  var data=JSON.parse(island.textContent),cols=data.columns,ids=cols[0];
  var n=ids.values.length,order=[],start=0,target=-1;
  for(var k=0;k<n;k++){order.push(k);}
  var prev=pager.querySelector(".prev"),next=pager.querySelector(".next");
  var status=pager.querySelector(".pager-status"),go=pager.querySelector(".goto");
  function row(i,scale){
    var css=each(data.css,i)||"",first=ids.values[i],last=ids.last?ids.last[i]:first;
    if(i===target){css=css?css+" target":"target";}
    return "<tr"+(css?' class="'+css+'"':"")+' data-id="'+first+'"'+
      (last!==first?' data-last="'+last+'"':"")+
      (each(data.kind,i)?' data-kind="'+esc(each(data.kind,i))+'"':"")+">"+
      cols.map(function(col){return cell(col,i,scale,first,last);}).join("")+"</tr>";
  }
  function render(){
    var end=Math.min(n,start+PAGE),html=[],scale=table.getAttribute("data-scale");
    for(var k=start;k<end;k++){html.push(row(order[k],scale));}
    table.tBodies[0].innerHTML=html.join("");
    status.textContent="rows "+int(start+1)+DASH+int(end)+" of "+int(n);
    prev.disabled=start===0;next.disabled=end>=n;
  }
  table.sortRows=function(column,type,down){
    var col=cols[column];
    function key(i){
      var v=col.values?col.values[i]:null;
      if(type==="num"){return v===null?-Infinity:v;}
      if(v===null){  /* a name that is the id, or a run's text */
        var a=ids.values[i],b=ids.last?ids.last[i]:a;
        v=a===b?String(a):"absent: "+a+"-"+b+" ("+int(b-a+1)+" classes)";
      }
      return String(v).toLowerCase();
    }
    order.sort(function(a,b){
      var x=key(a),y=key(b),o=x<y?-1:x>y?1:0;
      return o===0?ids.values[a]-ids.values[b]:down?-o:o;
    });
    start=0;render();
  };
  table.redraw=render;
  prev.addEventListener("click",function(){start=Math.max(0,start-PAGE);render();});
  next.addEventListener("click",function(){if(start+PAGE<n){start+=PAGE;}render();});
  go.addEventListener("change",function(){
    var x=parseInt(go.value,10);
    for(var i=0;i<n;i++){
      var last=ids.last?ids.last[i]:ids.values[i];
      if(ids.values[i]<=x&&x<=last){
        target=i;start=Math.floor(order.indexOf(i)/PAGE)*PAGE;render();return;
      }
    }
    status.textContent="id "+go.value+" is not in this table";
  });
  render();
}
document.querySelectorAll("table.paged").forEach(paged);
document.querySelectorAll("table.sortable").forEach(function(table){
  var heads=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads,function(th,column){
    th.addEventListener("click",function(){
      var type=th.getAttribute("data-type")||"text";
      var now=th.getAttribute("aria-sort");
      var down=now===null?type==="num":now==="ascending";
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute("aria-sort");});
      th.setAttribute("aria-sort",down?"descending":"ascending");
      if(table.sortRows){table.sortRows(column,type,down);return;}
      var body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=value(a.cells[column],type),y=value(b.cells[column],type);
        var order=x<y?-1:x>y?1:0;
        if(order===0){
          return parseFloat(a.getAttribute("data-id"))-parseFloat(b.getAttribute("data-id"));
        }
        return down?-order:order;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
var toggle=document.getElementById("scale-toggle");
if(toggle){toggle.addEventListener("click",function(){
  var table=document.getElementById("distribution-table");
  var next=table.getAttribute("data-scale")==="log"?"linear":"log";
  table.setAttribute("data-scale",next);
  toggle.setAttribute("data-scale",next);toggle.textContent=next;
  table.querySelectorAll(".scale-name").forEach(function(s){s.textContent=next;});
  table.querySelectorAll(".bar").forEach(function(bar){
    bar.style.width=bar.getAttribute(next==="log"?"data-log":"data-lin")+"%";
  });
  if(table.redraw){table.redraw();}
});}
var heat=document.getElementById("cooc-chart"),data=document.getElementById("cooc-data");
if(heat&&data){
  var cooc=JSON.parse(data.textContent),out=document.getElementById("cooc-hover");
  heat.addEventListener("mousemove",function(e){
    var box=heat.getBoundingClientRect(),view=heat.viewBox.baseVal,scale=view.width/box.width;
    var m=parseFloat(heat.getAttribute("data-margin")),c=parseFloat(heat.getAttribute("data-cell"));
    var i=Math.floor(((e.clientY-box.top)*scale-m)/c);
    var j=Math.floor(((e.clientX-box.left)*scale-m)/c);
    var n=cooc.names.length;
    if(i>=0&&j>=0&&i<n&&j<n){
      out.textContent=(cooc.share[i][j]*100).toFixed(2)+"% of the pixels of "+cooc.names[j]+
        " lie in images with "+cooc.names[i];
    }
  });
}
})();
"""
JS = JS.replace("%PAGE%", str(PAGE_ROWS))
