"""The report's per-class tables as rows of typed cells, written either as HTML rows or, for
a long table, as one compact JSON data island the page's script draws a page of at a time.

A table of a few hundred rows is written as HTML, so it reads and prints without
JavaScript. A longer one (up to 2 x 4,096 rows: a row per present class and per run of
absent ids) would make a page of many MB as HTML: its rows go into a JSON island instead,
numbers once each, at full precision (the exact value of every cell, as in ``data-value``),
and the script formats, sorts and pages them (``JS`` in ``report_html``). Both ways give the
same cells: the script's HTML of a row equals the HTML written here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from .output import shown_bytes

if TYPE_CHECKING:
    from collections.abc import Sequence

#: A table with more rows than this is drawn by the page's script from a data island.
MAX_HTML_ROWS = 1000
#: Rows a paged table shows at a time.
PAGE_ROWS = 100


def attr(value: Any) -> str:
    """A number's exact value for ``data-value``: ints as digits, floats by repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class IdCell:
    """The id of a row, or ``first``-``last`` for a run of absent ids."""

    first: int
    last: int

    def html(self) -> str:
        span = f"\N{EN DASH}{self.last}" if self.last != self.first else ""
        return f'<td class="num" data-value="{self.first}">{self.first}{span}</td>'


@dataclass(frozen=True)
class NameCell:
    """A class name: sorted by ``value``, shown as ``text``, with a colour swatch and badges
    (css class, label); ``space`` puts a space between the text and the badges."""

    value: str
    text: str
    swatch: str | None = None
    badges: tuple[tuple[str, str], ...] = ()
    space: bool = False

    def html(self) -> str:
        swatch = (
            f'<span class="swatch" style="background:{self.swatch}"></span>' if self.swatch else ""
        )
        badges = "".join(f'<span class="badge {css}">{label}</span>' for css, label in self.badges)
        return (
            f'<td data-value="{escape(self.value)}">{swatch}{escape(self.text)}'
            f"{' ' if self.space else ''}{badges}</td>"
        )


@dataclass(frozen=True)
class NumCell:
    """A number: exact in ``data-value``, rounded in ``text``; ``form`` names how the script
    rounds it (``int``, ``share``, ``number``), or None when ``text`` is written out."""

    value: Any
    text: str
    css: str = ""
    form: str | None = None

    def html(self) -> str:
        return f'<td class="num{self.css}" data-value="{attr(self.value)}">{escape(self.text)}</td>'


@dataclass(frozen=True)
class BarCell:
    """The distribution's bar: widths (percent) on both scales, the one in force shown."""

    pixels: int
    linear: float
    log: float
    colour: str
    use_log: bool

    def html(self) -> str:
        width = self.log if self.use_log else self.linear
        return (
            f'<td class="barcell" data-value="{attr(self.pixels)}">'
            f'<div class="bar" data-lin="{self.linear:.3f}" data-log="{self.log:.3f}" '
            f'style="width:{width:.3f}%;background:{self.colour}"></div></td>'
        )


@dataclass(frozen=True)
class SplitCell:
    """A split's share of labelled pixels with a bar as long as it is against the row's
    largest share."""

    value: float | None
    width: float
    colour: str
    text: str

    def html(self) -> str:
        return (
            f'<td class="num splitcell" data-value="{attr(self.value)}">'
            f'<div class="bar" style="width:{self.width:.2f}%;background:{self.colour}">'
            f"</div><span>{self.text}</span></td>"
        )


Cell = IdCell | NameCell | NumCell | BarCell | SplitCell


@dataclass(frozen=True)
class Row:
    """One table row: its cells and the attributes of its ``<tr>`` (None: left out)."""

    cells: tuple[Cell, ...]
    css: str | None = None
    kind: str | None = None

    def html(self) -> str:
        first = next((c for c in self.cells if isinstance(c, IdCell)), None)
        attrs = f' class="{self.css}"' if self.css else ""
        if first is not None:
            attrs += f' data-id="{first.first}"'
            if first.last != first.first:
                attrs += f' data-last="{first.last}"'
        if self.kind:
            attrs += f' data-kind="{self.kind}"'
        return f"<tr{attrs}>{''.join(c.html() for c in self.cells)}</tr>"


def table_body(table_id: str, rows: Sequence[Row]) -> tuple[str, str, str]:
    """The ``<tbody>``, the controls after the table and the data island: HTML rows with
    no controls and no island for a short table; for a long one an empty body, a pager and
    the island the script draws its rows from."""
    if len(rows) <= MAX_HTML_ROWS:
        return f"<tbody>{''.join(r.html() for r in rows)}</tbody>", "", ""
    data = json.dumps(_island(rows), separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c")  # no '</script>' or '<!--' can end or bend the block
    pager = (
        f'<div class="pager" data-table="{table_id}"><button type="button" class="prev">'
        "\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK} Previous</button> "
        f'<span class="pager-status">rows 1\N{EN DASH}{PAGE_ROWS} of {len(rows):,}</span> '
        '<button type="button" class="next">Next '
        "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}</button> "
        '<label>Go to id <input type="number" min="0" class="goto"></label>'
        f"<noscript> This table's {len(rows):,} rows are drawn by the page's script.</noscript>"
        "</div>"
    )
    island = f'<script type="application/json" id="{table_id}-data">{data}</script>'
    return "<tbody></tbody>", pager, island


def _column(cells: Sequence[Cell]) -> dict[str, Any]:
    """One column of the island: the values once each, texts only where the script cannot
    make them from the value."""
    first = cells[0]
    if isinstance(first, IdCell):
        ids = [c.first for c in cells if isinstance(c, IdCell)]
        lasts = [c.last for c in cells if isinstance(c, IdCell)]
        return {"type": "id", "values": ids, "last": None if lasts == ids else lasts}
    if isinstance(first, NameCell):
        names = [c for c in cells if isinstance(c, NameCell)]
        values = [shown_bytes(c.value) for c in names]
        texts = [shown_bytes(c.text) for c in names]
        swatches = [c.swatch for c in names]
        badges = [[list(b) for b in c.badges] for c in names]
        return {
            "type": "name",
            "values": values,
            "text": None if texts == values else texts,
            "swatch": None if not any(swatches) else swatches,
            "badges": None if not any(badges) else badges,
            "space": [c.space for c in names] if any(c.space for c in names) else None,
        }
    if isinstance(first, BarCell):
        bars = [c for c in cells if isinstance(c, BarCell)]
        return {
            "type": "bar",
            "values": [c.pixels for c in bars],
            "lin": [round(c.linear, 3) for c in bars],
            "log": [round(c.log, 3) for c in bars],
            "colour": [c.colour for c in bars],
            "use_log": first.use_log,
        }
    if isinstance(first, SplitCell):
        splits = [c for c in cells if isinstance(c, SplitCell)]
        return {
            "type": "split",
            "values": [c.value for c in splits],
            "width": [round(c.width, 2) for c in splits],
            "colour": [c.colour for c in splits],
        }
    numbers = [c for c in cells if isinstance(c, NumCell)]
    forms = {c.form for c in numbers}
    form = forms.pop() if len(forms) == 1 else None
    css = {c.css for c in numbers}
    return {
        "type": "num",
        "css": css.pop() if len(css) == 1 else [c.css for c in numbers],
        "values": [c.value for c in numbers],
        "form": form,
        "text": None if form else [c.text for c in numbers],
    }


def _island(rows: Sequence[Row]) -> dict[str, Any]:
    width = len(rows[0].cells)
    if any(len(r.cells) != width for r in rows):
        raise ValueError("every row of a table has the same cells")
    return {
        "css": [r.css for r in rows] if any(r.css for r in rows) else None,
        "kind": [r.kind for r in rows] if any(r.kind for r in rows) else None,
        "columns": [_column([r.cells[i] for r in rows]) for i in range(width)],
    }
