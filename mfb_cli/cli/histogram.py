"""``mfb histogram``: the class distribution of the label masks (pixels and images per class)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..weigh.classes import ClassStats

from ..show.distribution import DISTRIBUTION_FORMATS, SORTS
from ..weigh.spec import LabelSpec
from .dask_option import dask_option
from .geometry_option import geometry_options
from .help import with_definitions
from .messages import wrote
from .options import (
    ScanRequest,
    check_output_path,
    class_options,
    format_option,
    from_option,
    mask_options,
    names_option,
    output_option,
    refuse_unused,
    refuse_unused_reading,
)
from .panels import MfbCommand
from .scanning import class_stats_for, warn_all


def _check_plot(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    from ..show.plot import PLOT_SUFFIXES

    if value is not None and value.suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"'{value}' must end in {' or '.join(PLOT_SUFFIXES)}", ctx, param)
    return check_output_path(ctx, param, value)


HISTOGRAM_DETAILS = """\
One row per class id: pixels, share of labelled pixels, images containing it, share
of images, and a bar; void and ignored values are listed apart, classes never seen
are flagged. The footer gives the totals and the imbalance ratio (pixels of the
largest / of the smallest present class). -f json|yaml|csv gives the same numbers
(counts exact, shares as floats). With --geometry (or a --from file scanned with it)
a second table gives each class's components: their number, per image, median size,
specks, boundary share and median extents, with a suggested DAFormer min_pixels and
crop size, each with its rule.
"""

# The options of histogram alone, each one object (the shared ones are in options.py).
sort_opt = click.option(
    "--sort",
    type=click.Choice(SORTS),
    metavar="ORDER",
    default="id",
    show_default=True,
    help=f"Order of the class rows: {' or '.join(SORTS)} (most pixels first).",
)
plot_opt = click.option(
    "--plot",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_check_plot,
    is_eager=True,
    default=None,
    metavar="FILE",
    help="Also draw a bar chart to FILE.png or FILE.svg (needs the 'plot' extra).",
)
log_opt = click.option(
    "--log/--linear",
    default=None,
    help="Scale of --plot's pixel axis. [default: log when the imbalance ratio is over 100]",
)


@with_definitions
@click.command(cls=MfbCommand, details=HISTOGRAM_DETAILS)
@from_option
@mask_options
@dask_option
@geometry_options
@class_options
@names_option
@sort_opt
@format_option(DISTRIBUTION_FORMATS, "table", "A table for people, or the numbers: {choices}.")
@output_option()
@plot_opt
@log_opt
def histogram(
    request: ScanRequest,
    from_path: Path | None,
    spec: LabelSpec,
    names: dict[int, str],
    sort: str,
    output_format: str,
    output: Path | None,
    plot: Path | None,
    log: bool | None,
) -> None:
    """The class distribution of the label masks in PATH...: pixels and images per class.

    \b
    Examples:
      mfb histogram ./labels --names classes.txt --void 11
      mfb histogram --from stats.json --ignore 255 --sort pixels -f csv
      mfb histogram ./labels --plot classes.png --log
      mfb histogram ./labels --ignore 255 --geometry
    """
    from ..show.distribution import distribution_record
    from ..show.output import write_text

    ctx = click.get_current_context()
    refuse_unused_reading(ctx, request, from_path)
    refuse_unused(ctx, [("log", plot is not None, "without --plot")])
    dataset = request.read.dataset
    regions = () if dataset is None else tuple((r.name, r.ids) for r in dataset.regions)
    present: list[tuple[int, ...]] = []  # each image's ids, for the regions' image counts
    counts, stats, source = class_stats_for(
        request,
        spec,
        from_path,
        (lambda path, ids, pixels: present.append(tuple(ids.tolist()))) if regions else None,
    )
    warn_all(stats.warnings)
    names = names or request.read.class_names()  # --names wins over the colour table's
    record = distribution_record(counts, stats, source, names=names, sort=sort)
    record = with_regions(record, stats, source, present if regions else None)
    if plot is not None:
        from ..show.plot import plot_distribution

        plot_distribution(record, plot, log=log)
        wrote(plot, "bar chart", request.quiet)
    if output_format == "table" and output is None and sys.stdout.isatty():
        from ..show.distribution_table import render_distribution

        text = render_distribution(record, width=None, color=True)
    else:
        text = DISTRIBUTION_FORMATS[output_format](record)
    write_text(text, output)
    wrote(output, f"{len(record['classes'])} classes, {output_format}", request.quiet)


def with_regions(
    record: dict[str, Any],
    stats: ClassStats,
    source: dict[str, Any],
    present: list[tuple[int, ...]] | None,
) -> dict[str, Any]:
    """The record with per-region rows when a dataset.json defines regions."""
    from ..read.labels.datasets import recorded_regions
    from ..weigh.regions import DEFINITIONS, images_holding, region_rows

    regions = recorded_regions(source.get("label_mapping", {}))
    if not regions:
        return record
    images = None if present is None else images_holding(present, regions)
    definitions = {**record.get("definitions", {}), **DEFINITIONS}
    return {**record, "regions": region_rows(stats, regions, images), "definitions": definitions}
