"""``mfb check``: every problem of the label masks, reading every file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..show.serialize import RECORD_FORMATS
from ..weigh.spec import LabelSpec
from .dask_option import dask_option
from .geometry_option import geometry_options
from .help import with_definitions
from .messages import wrote
from .options import (
    ScanRequest,
    class_options,
    format_option,
    mask_options,
    output_option,
    refuse_unused,
    refuse_unused_reading,
)
from .panels import MfbCommand

CHECK_DETAILS = """\
Reports files that cannot be read (and why), empty files, label values outside
--num-classes that are not --ignore'd, masks that look interpolated or JPEG-compressed
(>= 5% of the pixels on region boundaries lie strictly between two opposite
neighbours), duplicate files (same sha256), palette indices that mean different
colours in different palette files (whatever the options), single-valued masks, and
the modes and sizes found; with --geometry, classes made mostly of specks (at least 16
components, and half of all, of fewer than 8 pixels: resizing or annotation noise),
naming the files with most. Exit status 0 when clean, 1 when a problem was found
(single-valued masks, modes and sizes are information only). Off a terminal the
tables are plain text within 100 columns. With --skip-bad, unreadable and empty
files are listed but do not fail the check, as the other commands would skip them.
"""


@with_definitions
@click.command(cls=MfbCommand, details=CHECK_DETAILS)
@mask_options
@dask_option
@geometry_options
@class_options
@format_option(["table", *RECORD_FORMATS], "table", "Tables for people, or a record: {choices}.")
@output_option()
@click.pass_context
def check(
    ctx: click.Context,
    request: ScanRequest,
    spec: LabelSpec,
    output_format: str,
    output: Path | None,
) -> None:
    """Check the label masks in PATH... for problems, reading every file.

    \b
    Examples:
      mfb check ./labels --num-classes 11 --ignore 255
      mfb check ./labels -f json | jq .problems
      mfb check ./labels --ignore 255 --geometry
    """
    import io

    from ..show.output import write_text
    from .scanning import check_files, warn_all

    refuse_unused_reading(ctx, request, None)
    refuse_unused(ctx, [("count", False, "on check: it reads files, it weighs nothing")])
    report = check_files(request, spec)
    warn_all(report.warnings)
    if output_format == "table":
        from ..show.check_table import render_check

        if output is None:
            from ..show.output import begin_stdout

            begin_stdout()
            render_check(report, sys.stdout)
        else:
            text = io.StringIO()
            render_check(report, text)
            write_text(text.getvalue(), output)
    else:
        write_text(RECORD_FORMATS[output_format](report.record()), output)
    found = report.problems
    summary = f"{report.files} files, {len(found)} kinds of problem" if found else "no problems"
    wrote(output, f"{summary}, {output_format}", request.quiet)
    if not report.clean:
        ctx.exit(1)
