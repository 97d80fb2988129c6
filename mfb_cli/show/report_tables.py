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
import math
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


def range_name(first: int, last: int) -> str:
    """The class cell's text of a run of absent ids (the script writes the same)."""
    return f"absent: {first}-{last} ({last - first + 1:,} classes)"


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
    #: The largest count and log's lower end, from which the script draws the widths.
    scale: tuple[int, float] = (0, 1.0)

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


@dataclass(frozen=True)
class TableBody:
    """A table's body, the classes its ``<table>`` adds, and what follows the table."""

    tbody: str
    css: str = ""
    after: str = ""


def table_body(table_id: str, rows: Sequence[Row]) -> TableBody:
    """HTML rows for a short table; for a long one an empty body (class ``paged``), then a
    pager and the data island the script draws its rows from."""
    if len(rows) <= MAX_HTML_ROWS:
        return TableBody(f"<tbody>{''.join(r.html() for r in rows)}</tbody>")
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
    return TableBody("<tbody></tbody>", " paged", pager + island)


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a value reads as none (shown as a dash)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _coded(values: list[Any]) -> dict[str, list[Any]]:
    """Each distinct value once and, per row, the index of its own."""
    names = list(dict.fromkeys(values))
    code = {v: i for i, v in enumerate(names)}
    return {"names": names, "codes": [code[v] for v in values]}


def _single(values: list[Any]) -> Any:
    """One value for a column that holds one; else, for a few distinct values (row
    classes, colours), each once and a code per row; else the list."""
    if all(v == values[0] for v in values):
        return values[0]
    return values if len(set(values)) > 64 else _coded(values)


def _column(cells: Sequence[Cell], ids: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """One column of the island: the values once each, nothing the script can make itself
    (the shown text of a number, a name that is the id, a run's text, bar widths)."""
    first = cells[0]
    if isinstance(first, IdCell):
        firsts = [a for a, _ in ids]
        lasts = [b for _, b in ids]
        return {"type": "id", "values": firsts, "last": None if lasts == firsts else lasts}
    if isinstance(first, NameCell):
        names = [c for c in cells if isinstance(c, NameCell)]
        made = [str(a) if a == b else range_name(a, b) for a, b in ids]
        values = [
            None if c.value == m else shown_bytes(c.value) for c, m in zip(names, made, strict=True)
        ]
        texts = [None if c.text == c.value else shown_bytes(c.text) for c in names]
        swatches = [c.swatch for c in names]
        badges = [c.badges for c in names]
        return {
            "type": "name",
            "values": values if any(v is not None for v in values) else None,
            "text": texts if any(t is not None for t in texts) else None,
            "swatch": _single(swatches),
            "badges": _coded(badges) if any(badges) else None,
            "space": _single([c.space for c in names]),
        }
    if isinstance(first, BarCell):
        bars = [c for c in cells if isinstance(c, BarCell)]
        return {
            "type": "bar",
            "values": [c.pixels for c in bars],
            "top": first.scale[0],
            "low": first.scale[1],
            "colour": _single([c.colour for c in bars]),
        }
    if isinstance(first, SplitCell):
        splits = [c for c in cells if isinstance(c, SplitCell)]
        return {
            "type": "split",
            "values": [c.value for c in splits],
            "width": [round(c.width, 2) for c in splits],
            "colour": _single([c.colour for c in splits]),
        }
    numbers = [c for c in cells if isinstance(c, NumCell)]
    forms = {c.form for c in numbers}
    form = forms.pop() if len(forms) == 1 else None
    return {
        "type": "num",
        "css": _single([c.css for c in numbers]),
        "values": [_finite(c.value) for c in numbers],
        "form": form,
        "text": None if form else [c.text for c in numbers],
    }


def _island(rows: Sequence[Row]) -> dict[str, Any]:
    width = len(rows[0].cells)
    if any(len(r.cells) != width for r in rows) or not isinstance(rows[0].cells[0], IdCell):
        raise ValueError("every row of a table has the same cells, an id first")
    ids = [(c.first, c.last) for r in rows for c in r.cells[:1] if isinstance(c, IdCell)]
    return {
        "css": _single([r.css for r in rows]),
        "kind": _single([r.kind for r in rows]),
        "columns": [_column([r.cells[i] for r in rows], ids) for i in range(width)],
    }
