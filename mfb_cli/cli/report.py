"""``mfb report``: one self-contained HTML page of a dataset's class balance."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import click

from ..read.base.urls import is_url, named, shown_path
from ..weigh.weights import NORMALIZATIONS
from .dask_option import dask_option
from .geometry_option import geometry_options
from .help import with_definitions
from .messages import wrote
from .options import (
    PathOrUrl,
    ScanRequest,
    class_options,
    mask_options,
    names_option,
    output_option,
    refuse_unused,
    refuse_unused_reading,
)
from .panels import MfbCommand
from .scanning import class_stats_for, warn_all

if TYPE_CHECKING:
    from .._types import Int64Array
    from ..count.counts import ClassCounts
    from ..count.per_image import ImageCounts
    from ..read.base.chunks import LabelHeader
    from ..read.sources.archives import LabelSource
    from ..show.report import ReportInput
    from ..weigh.classes import ClassStats
    from ..weigh.spec import LabelSpec


class RecordsArguments(MfbCommand):
    """Keeps the arguments as typed, so the page can show the exact command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["mfb.arguments"] = list(args)
        return super().parse_args(ctx, args)


def _command_line(ctx: click.Context) -> str:
    """The command as typed, each URL in it without its secrets (the page is shared)."""
    arguments = [_shown_argument(one) for one in ctx.meta["mfb.arguments"]]
    return " ".join(["mfb", ctx.info_name or "report", shlex.join(arguments)])


def _shown_argument(argument: str) -> str:
    """An argument with the URL it holds (alone, after '--option=' or '-o') shown."""
    for start in range(len(argument)):
        if is_url(argument[start:]):
            return argument[:start] + shown_path(argument[start:])
    return argument


REPORT_DETAILS = """\
Sections: Summary (images, pixels, classes present and absent, void and ignored
shares, imbalance ratio, mfb version, this command); Class distribution (pixels and
images per class, sortable, log/linear bars, void / ignored / never-seen marked);
Weights under every scheme side by side (table and chart, one normalisation);
Co-occurrence (heat map in seriation order); Sampling (each 'mfb sampling' scheme with
its default parameters: the expected pixel share per class of a drawn image beside the
dataset's; needs per-image counts, so PATH... or a --from *.jsonl first); Splits
(several --from files: shares side by side, Jensen-Shannon divergence, classes
missing from a split); Problems (every warning; 'mfb check' findings with --check);
Geometry, with --geometry or a --from file scanned with it (component sizes per class
on a log axis, specks, boundary share, extents, suggested min_pixels and crop size);
Rasters (GeoTIFFs scanned here, not --from: each one's class map, pixel (i, j) being its
pixel (i*B, j*B), B = ceil(longest side / 512): exact classes, no blending; 6 at most).
Class colours come from --colormap. The page fetches nothing (no CDN, no font,
inline CSS/SVG/JS), opens offline and prints on A4.
"""


@with_definitions
@click.command(cls=RecordsArguments, details=REPORT_DETAILS)
@click.option(
    "--from",
    "from_paths",
    multiple=True,
    type=PathOrUrl(path_type=Path, dir_okay=False),
    metavar="STATS.json",
    help="Statistics files of 'mfb scan' (or --per-image's *.jsonl) instead of PATH...; "
    "repeatable: train, val, test.",
)
@mask_options
@dask_option
@geometry_options
@class_options
@names_option
@click.option(
    "--normalize",
    type=click.Choice(list(NORMALIZATIONS)),
    metavar="HOW",
    default="mean",
    show_default=True,
    help=f"One scale for every scheme's weights: {', '.join(NORMALIZATIONS)} (as 'mfb "
    "weights --normalize').",
)
@click.option(
    "--check",
    "run_check",
    is_flag=True,
    help="Also read every file as 'mfb check' does and list its findings under Problems.",
)
@output_option("Write the page to this file (atomically) instead of stdout.")
@click.pass_context
def report(
    ctx: click.Context,
    from_paths: tuple[Path, ...],
    request: ScanRequest,
    spec: LabelSpec,
    names: dict[int, str],
    normalize: str,
    run_check: bool,
    output: Path | None,
) -> None:
    """One self-contained HTML page showing the class balance of PATH... (or --from files).

    \b
    Examples:
      mfb report ./labels --names classes.txt --void 11 -o report.html
      mfb report --from train.json --from val.json --ignore 255 -o splits.html
      mfb report ./labels --colormap camvid32 --check -o report.html
    """
    from ..show.output import write_text
    from ..show.report import class_colours, report_record
    from ..show.report_html import render_report

    refuse_unused_reading(ctx, request, from_paths[0] if from_paths else None)
    refuse_unused(ctx, [("run_check", not from_paths, "with --from: no image is read")])
    inputs = _inputs(request, spec, from_paths)
    check = _check_record(request, spec) if run_check else None
    names = names or request.read.class_names()  # --names wins over the colour table's
    colormap = request.read.colormap
    colours = (
        class_colours(colormap.keys.tolist(), colormap.values.tolist())
        if colormap is not None and request.read.remap is None
        else {}
    )
    record = report_record(
        inputs,
        names=names,
        colours=colours,
        normalize=normalize,
        command=_command_line(ctx),
        check=check,
    )
    warn_all(record["problems"]["warnings"])
    write_text(render_report(record), output)
    wrote(output, f"report of {len(inputs)} input(s)", request.quiet)


def _inputs(
    request: ScanRequest, spec: LabelSpec, from_paths: tuple[Path, ...]
) -> list[ReportInput]:
    """One ReportInput per --from file (or one for PATH...), all on one class vector."""
    from ..count.per_image import ImageCounts
    from ..show.report import MAX_THUMBNAILS, RasterThumbnail, ReportInput

    if not from_paths:
        images: list[ImageCounts] = []  # in memory: sampling needs them all at once
        rasters: list[RasterThumbnail] = []  # the first rasters' class maps, each small
        others = 0

        def on_image(path: LabelSource, ids: Int64Array, pixels: Int64Array) -> None:
            keep = pixels > 0
            images.append(
                ImageCounts(str(path), tuple(ids[keep].tolist()), tuple(pixels[keep].tolist()))
            )

        def on_header(path: LabelSource, header: LabelHeader) -> None:
            nonlocal others
            if header.thumbnail is None:
                return
            if len(rasters) < MAX_THUMBNAILS:
                rasters.append(RasterThumbnail(str(path), header.shape, header.thumbnail))
            else:
                others += 1

        # Each raster's class map is taken as its tiles are counted (no second read).
        request = replace(request, read=replace(request.read, thumbnail=True))
        counts, stats, source = class_stats_for(request, spec, None, on_image, on_header)
        name = ", ".join(shown_path(p) for p in (*request.paths, *request.lists))
        return [ReportInput(name, counts, stats, source, images, rasters, others)]
    loaded = [_load(request, spec, path) for path in from_paths]
    _refuse_other_mappings(from_paths, [one[2] for one in loaded])
    length = max(one[1].num_classes for one in loaded)
    if any(one[1].num_classes != length for one in loaded):
        # Splits are compared class by class: every split gets the longest vector.
        wide = replace(spec, num_classes=length)
        loaded = [_load(request, wide, path) for path in from_paths]
    labels = _split_names(from_paths)
    return [ReportInput(label, *one) for label, one in zip(labels, loaded, strict=True)]


def _load(
    request: ScanRequest, spec: LabelSpec, path: Path
) -> tuple[ClassCounts, ClassStats, dict[str, Any], list[ImageCounts] | None]:
    """A statistics file's counts, or a per-image file's (*.jsonl) with its images.

    ``path`` may hold a URL (as --from gives it): its suffix is the one of its path part.
    """
    if named(path).suffix != ".jsonl":
        return (*class_stats_for(request, spec, path), None)
    from ..count.per_image import load_per_image
    from ..errors import LabelRangeError, MfbError
    from ..read.labels.class_sets import class_set_in, class_set_of, same_mapping
    from ..weigh.classes import class_stats
    from .options import refuse_output_as_input

    if request.paths or request.lists:
        raise click.UsageError("give PATH... or --from files, not both (nor --list)")
    refuse_output_as_input(path)
    loaded = load_per_image((path,))
    wanted = request.read.label_mapping()
    if wanted and not same_mapping(wanted, loaded.label_mapping):
        raise MfbError(
            f"{shown_path(path)}: scanned with a different label mapping than the options given; "
            "rescan, or drop the colour map / remap options"
        )
    source: dict[str, Any] = {"per_image": [shown_path(path)], "files": len(loaded.images)}
    if loaded.label_mapping:
        source["label_mapping"] = loaded.label_mapping
    found = class_set_of(request.read) or class_set_in(loaded.label_mapping)
    try:
        stats = class_stats(loaded.counts, replace(spec, class_set=found))
    except LabelRangeError as error:
        raise LabelRangeError(f"{shown_path(path)}: ", *error.parts) from error
    return loaded.counts, stats, source, list(loaded.images)


def _refuse_other_mappings(paths: tuple[Path, ...], sources: list[dict[str, Any]]) -> None:
    """Splits whose ids mean different things (another colour map or remap) are refused."""
    from ..errors import MfbError
    from ..read.labels.class_sets import same_mapping

    first = sources[0].get("label_mapping", {})
    for path, source in zip(paths[1:], sources[1:], strict=True):
        if not same_mapping(source.get("label_mapping", {}), first):
            raise MfbError(
                f"{shown_path(path)}: its label mapping differs from {shown_path(paths[0])}'s, "
                "so the same id means "
                "different classes; compare only splits scanned with the same colour map "
                "and remap"
            )


def _split_names(paths: tuple[Path, ...]) -> list[str]:
    """File stems (train, val), or the paths as given when two stems are the same."""
    shown = [shown_path(p) for p in paths]  # a URL without its secrets
    stems = [PurePosixPath(one).stem for one in shown]
    return stems if len(set(stems)) == len(stems) else shown


def _check_record(request: ScanRequest, spec: LabelSpec) -> dict[str, Any]:
    """What 'mfb check' finds in the same files, as its JSON record."""
    from .scanning import check_files

    return check_files(request, spec).record()
