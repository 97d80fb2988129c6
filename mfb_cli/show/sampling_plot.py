"""The effect of a sampling scheme as a bar chart: each class's pixel share, two series."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from ..errors import MfbError, MissingExtraError, Param
from .output import write_bytes
from .plot import INSTALL_HINT, PLOT_SUFFIXES

if TYPE_CHECKING:
    from pathlib import Path

    from .records import Record


def plot_sampling(record: Record, output: Path, *, log: bool = True) -> None:
    """Bars per class: the dataset's pixel share and that of a drawn sample, side by side.

    A log axis by default: the rare classes a scheme is chosen for are otherwise invisible.
    Drawn without pyplot and written atomically, with no dates in the file.
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

    rows = record["effect"]["classes"]
    names = record.get("names", {})
    labels = [names.get(str(row["class"]), str(row["class"])) for row in rows]
    positions = range(len(rows))
    figure = Figure(figsize=(max(6.0, 0.55 * len(rows) + 2), 4.5), dpi=100, layout="tight")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.4
    axes.bar(
        [x - width / 2 for x in positions],
        [row["pixel_share"] for row in rows],
        width,
        label="dataset",
        color="C0",
    )
    axes.bar(
        [x + width / 2 for x in positions],
        [row["sampled_pixel_share"] for row in rows],
        width,
        label=f"drawn by {record['scheme']}",
        color="C1",
    )
    axes.set_xticks(list(positions), labels, rotation=45, ha="right")
    axes.set_ylabel("share of labelled pixels" + (" (log scale)" if log else ""))
    if log:
        axes.set_yscale("log")
    effect = record["effect"]
    axes.set_title(
        f"Effect of {record['scheme']}: {effect['draws_per_epoch']:g} draws per epoch, "
        f"{effect['distinct_images_per_epoch']:.1f} of {record['num_images']} images seen"
    )
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    buffer = io.BytesIO()
    metadata = {"Software": None} if suffix == ".png" else {"Date": None, "Creator": None}
    with matplotlib.rc_context({"svg.hashsalt": "mfb", "svg.fonttype": "none"}):
        figure.savefig(buffer, format=suffix[1:], metadata=metadata)
    write_bytes(buffer.getvalue(), output)
