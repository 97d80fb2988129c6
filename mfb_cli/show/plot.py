"""A bar chart of a class-distribution record, drawn with matplotlib (the ``plot`` extra)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..errors import MfbError, MissingExtraError, Param
from .distribution import rows as distribution_rows
from .output import write_bytes

if TYPE_CHECKING:
    from pathlib import Path

    from .records import Record

#: Plot file types by suffix; the single source of ``--plot`` choices.
PLOT_SUFFIXES = (".png", ".svg")
INSTALL_HINT = "pip install 'mfb-cli[plot]'"
#: Above this imbalance ratio a linear axis flattens most bars: log scale unless asked.
AUTO_LOG_RATIO = 100


def use_log_scale(record: Record, log: bool | None = None) -> bool:
    """``log`` when given, else whether the imbalance ratio exceeds :data:`AUTO_LOG_RATIO`."""
    if log is not None:
        return log
    ratio = record.get("imbalance_ratio")
    return ratio is not None and ratio > AUTO_LOG_RATIO


def plot_distribution(record: Record, output: Path, *, log: bool | None = None) -> None:
    """Write the pixel count of every class as a bar chart to ``output`` (.png or .svg).

    Void and ignored values are grey and hatched, never-seen classes are marked on the
    axis. ``log=None`` picks a log axis when the imbalance ratio is over 100 (the title
    says so). The figure is drawn without pyplot (no global state, no display needed)
    and written atomically.
    """
    suffix = output.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise MfbError(f"{output}: plot type must be one of {', '.join(PLOT_SUFFIXES)}")
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(Param("plot"), f" needs matplotlib: {INSTALL_HINT}") from None

    automatic = log is None
    log = use_log_scale(record, log)
    rows = distribution_rows(record)
    labels = [
        (row["name"] or str(row["id"]))
        + {"class": "", "void": " (void)", "ignored": " (ignored)"}[row["kind"]]
        + ("" if row["seen"] else " (never seen)")
        for row in rows
    ]
    pixels = [row["pixels"] for row in rows]

    figure = Figure(figsize=(max(6.0, 0.45 * len(rows) + 2), 4.5), dpi=100, layout="tight")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.bar(range(len(rows)), pixels, color="C0")
    for bar, row in zip(bars, rows, strict=True):
        if row["kind"] != "class":
            bar.set_facecolor("0.8")
            bar.set_edgecolor("0.45")
            bar.set_hatch("//")
    axes.set_xticks(range(len(rows)), labels, rotation=45, ha="right")
    axes.set_ylabel("pixels" + (" (log scale)" if log else ""))
    if log:
        axes.set_yscale("log")
    ratio = record.get("imbalance_ratio")
    axes.set_title(
        f"Class distribution: {record['images']:,} images, {record['total_pixels']:,} pixels"
        + (
            f"\nlog scale: imbalance {ratio:.3g}:1 > {AUTO_LOG_RATIO}:1 (--linear for linear)"
            if automatic and log
            else ""
        )
    )
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)

    buffer = io.BytesIO()
    # No dates or tool versions in the file, and fixed SVG ids: the same data, the same bytes.
    metadata = {"Software": None} if suffix == ".png" else {"Date": None, "Creator": None}
    with matplotlib.rc_context({"svg.hashsalt": "mfb", "svg.fonttype": "none"}):
        figure.savefig(buffer, format=suffix[1:], metadata=metadata)
    write_bytes(buffer.getvalue(), output)
