"""Tables for people, drawn with rich from a class-distribution record (only this imports rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..id_list import id_list
from .console import console_text, text_console

if TYPE_CHECKING:
    from .records import Record

#: Width of the table when it is not shown on a terminal: files and pipes get the same text.
DEFAULT_WIDTH = 100
BAR_WIDTH = 20


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.2f}%"


def render_distribution(
    record: Record, *, width: int | None = DEFAULT_WIDTH, color: bool = False
) -> str:
    """The class distribution as a table: classes, then void and ignored values apart, then totals.

    Without ``color`` the text has no escape codes and depends only on the record and
    ``width``, so it is the same in a file, a pipe or a test.
    """
    from rich import box
    from rich.bar import Bar
    from rich.table import Table
    from rich.text import Text

    classes: list[dict[str, Any]] = record["classes"]
    others: list[dict[str, Any]] = [*record["void"], *record["ignored"]]
    # The name column also carries the [void] / [ignored] marks.
    named = bool(others) or any(row["name"] is not None for row in classes)
    scale = max((row["pixels"] for row in [*classes, *others]), default=0) or 1

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("id", justify="right")
    if named:
        table.add_column("name")
    table.add_column("pixels", justify="right")
    table.add_column("% labelled", justify="right")
    table.add_column("images", justify="right")
    table.add_column("% images", justify="right")
    table.add_column("distribution", width=BAR_WIDTH, no_wrap=True)

    for position, row in enumerate([*classes, *others]):
        marker = {"class": "", "void": " [void]", "ignored": " [ignored]"}[row["kind"]]
        if row["seen"]:
            bar: Any = Bar(scale, 0, row["pixels"], width=BAR_WIDTH)
        else:
            bar = Text("never seen", style="bold red")
        cells: list[Any] = [Text(str(row["id"]))]
        if named:
            cells.append(Text(f"{row['name'] or ''}{marker}"))
        cells += [
            f"{row['pixels']:,}",
            _percent(row["share_of_labelled"]),
            f"{row['images']:,}",
            _percent(row["share_of_images"]),
            bar,
        ]
        style = "dim" if row["kind"] != "class" else None
        table.add_row(
            *cells, style=style, end_section=bool(others) and position == len(classes) - 1
        )

    console = text_console(width=width, color=color)
    console.print(table)
    console.print(Text(_footer(record)))
    if "geometry" in record:
        console.print(_geometry_table(record, named))
        console.print(Text(_geometry_footer(record)))
    return console_text(console, color=color)


def _geometry_table(record: Record, named: bool) -> Any:
    """The components of each class and void id (ignored values have none to show)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .geometry import range_text

    axes: list[str] = record["geometry"]["axes"]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title="components")
    table.add_column("id", justify="right")
    if named:
        table.add_column("name")
    for heading in ("components", "per image", "median px", "specks", "boundary"):
        table.add_column(heading, justify="right")
    table.add_column("median " + " x ".join(a[0] for a in axes), justify="right")
    rows = [*record["classes"], *record["void"]]
    for position, row in enumerate(rows):
        shape = row["geometry"]
        cells: list[Any] = [Text(str(row["id"]))]
        if named:
            marker = " [void]" if row["kind"] == "void" else ""
            cells.append(Text(f"{row['name'] or ''}{marker}"))
        per_image = shape["components_per_image"]
        extents = [shape["median_extent"][name] for name in axes]
        cells += [
            f"{shape['components']:,}",
            "-" if per_image is None else f"{per_image:,.1f}",
            range_text(shape["median_size"]),
            _percent(shape["speck_share"]),
            _percent(shape["boundary_share"]),
            "-" if None in extents else " x ".join(f"{pair[1]:,}" for pair in extents),
        ]
        style = "dim" if row["kind"] != "class" else None
        table.add_row(*cells, style=style, end_section=position == len(record["classes"]) - 1)
    return table


def _geometry_footer(record: Record) -> str:
    from .geometry import suggestion_lines

    geometry = record["geometry"]
    connectivity = geometry["connectivity"]
    lines = [
        f"components: {connectivity['2d']}-connected in 2D, {connectivity['3d']}-connected in "
        f"3D; median px: the power-of-two bin of the median component; specks: % of the "
        f"class's pixels in components under {geometry['speck_pixels']} pixels; boundary: % "
        "of its pixels with a face neighbour of another value; median extents: upper edge of "
        "the bin of the median bounding-box extent",
        *suggestion_lines(geometry),
    ]
    return "\n".join(lines)


def _footer(record: Record) -> str:
    lines = [
        f"{record['images']:,} images, {record['total_pixels']:,} pixels; "
        f"labelled {record['labelled_pixels']:,} ({_percent(record['labelled_share'])}), "
        f"void {record['void_pixels']:,}, ignored {record['ignored_pixels']:,}",
    ]
    ratio = record["imbalance_ratio"]
    if ratio is not None:
        lines.append(
            f"imbalance ratio {ratio:,.1f}: largest class {_called(record, record['largest'])}, "
            f"smallest present {_called(record, record['smallest'])}"
        )
    if record["absent"]:
        lines.append(f"never seen: {id_list(record['absent'])}")
    lines.append("% labelled: share of the pixels that are neither void nor ignored")
    unit = record.get("source", {}).get("count_unit_mm3")
    if unit is not None:  # --count physical: the pixel columns are volumes
        lines.append(f"pixels: volumes in units of {unit} mm^3 (--count physical)")
    return "\n".join(lines)


def _called(record: Record, label: int) -> str:
    name = next((row["name"] for row in record["classes"] if row["id"] == label), None)
    return f"{name} ({label})" if name else str(label)
