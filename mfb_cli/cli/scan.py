"""``mfb scan``: count the label masks once and write the raw statistics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .dask_option import dask_option
from .geometry_option import geometry_options
from .messages import wrote
from .options import (
    ScanRequest,
    check_output_path,
    mask_options,
    output_option,
    refuse_unused_reading,
)
from .panels import MfbCommand
from .patch_option import PATCH_DETAILS, patch_option, refuse_patch_with
from .scanning import scan_masks, warn_all

if TYPE_CHECKING:
    from ..count.patches import PatchGrid


def _a_file(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    if str(value) == "-":
        raise click.BadParameter("needs a file name (stdout carries the statistics)", ctx, param)
    return value


#: -o for a statistics file (``mfb scan``, ``mfb merge``).
stats_output = output_option("Write the statistics to this file (atomically) instead of stdout.")


SCAN_DETAILS = (
    """\
The file holds exact per-id pixel and image counts and the co-occurrence totals, so
'mfb weights --from' and 'mfb histogram --from' give the same output as a new scan,
for any --void / --ignore / --num-classes, without reading an image. Every label value
is recorded as it is (-1 no-data, ids past any class vector): the class rules apply
when the counts are weighed. Shards scanned separately add up with 'mfb merge'.
With --geometry the file also holds each id's connected components (sizes, specks,
bounding boxes, boundary pixels), which 'mfb histogram --from' and 'mfb report --from'
show, and the per-image file each image's components per id.
With --patch the per-image file holds one line per patch (its file and window) in
place of one per file; the statistics file still counts every pixel of every file once.
"""
    + "\n"
    + PATCH_DETAILS
)


@click.command(cls=MfbCommand, details=SCAN_DETAILS)
@mask_options
@dask_option
@geometry_options
@stats_output
@click.option(
    "--per-image",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=lambda ctx, param, value: check_output_path(
        ctx, param, None if value is None else _a_file(ctx, param, value)
    ),
    is_eager=True,
    default=None,
    metavar="FILE.jsonl",
    help="Also write per-image statistics to FILE.jsonl in the same pass (one JSON line "
    "an image), for 'mfb sampling --from'.",
)
@patch_option
@click.pass_context
def scan(
    ctx: click.Context,
    request: ScanRequest,
    output: Path | None,
    per_image: Path | None = None,
    patch: PatchGrid | None = None,
) -> None:
    """Count the label masks in PATH... once and write the raw statistics as JSON.

    \b
    Examples:
      mfb scan ./labels -o stats.json
      mfb weights --from stats.json --void 11
      mfb scan ./labels -o stats.json --per-image images.jsonl
      mfb scan ./labels --geometry -o stats.json
      mfb scan ./labels -o stats.json --per-image patches.jsonl --patch 256,192
    """
    from ..count.stats import StatsFile, files_digest, stats_record
    from ..read.labels.class_sets import recorded_mapping
    from ..show.output import write_text
    from ..show.serialize import to_json

    refuse_unused_reading(ctx, request, None)
    refuse_patch_with(ctx, patch, request.dask)
    if patch is not None and per_image is None:
        raise click.UsageError("--patch writes per-image lines: give --per-image FILE.jsonl", ctx)
    if per_image is not None:
        from .sampling import scan_with_per_image

        scanned = scan_with_per_image(request, None, per_image, patch)
    else:
        scanned = scan_masks(request, None)  # no class options: every value is recorded
    warn_all(scanned.counts.warnings)
    stats = StatsFile(
        counts=scanned.counts,
        files=len(scanned.files),
        files_digest=files_digest(scanned.files),
        source={
            **scanned.source(request),
            **({"per_image": str(per_image)} if per_image is not None else {}),
            **({"patch": patch.describe()} if patch is not None else {}),
        },
        label_mapping=recorded_mapping(request.read),
    )
    write_text(to_json(stats_record(stats)), output)
    wrote(output, f"statistics of {len(scanned.files)} files", request.quiet)
