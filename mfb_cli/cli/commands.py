"""The ``mfb`` command: a thin Click layer over the library; errors are translated here only."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .._version import __version__
from ..errors import MfbError
from ..show.distribution import FORMATS as HISTOGRAM_FORMATS
from ..show.distribution import SORTS
from ..show.formats import FORMATS
from ..show.output import one_line, stdout_error_text
from ..show.serialize import RECORD_FORMATS
from ..weigh.schemes import SCHEMES
from ..weigh.spec import LabelSpec
from ..weigh.weights import NORMALIZATIONS
from .help import scheme_option_default, scheme_options, with_definitions, with_schemes
from .messages import warn
from .options import (
    FiniteFloatRange,
    ScanRequest,
    check_output_path,
    class_options,
    format_option,
    from_option,
    mask_options,
    names_option,
    output_option,
    output_options,
    refuse_unused,
    refuse_unused_reading,
)
from .scanning import class_stats_for, find_sources, progress_bar, scan_masks, warn_all

F = TypeVar("F", bound=Callable[..., Any])


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every cleanup path (threads, temporary file) runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


#: Set by main(): this is the mfb process itself, not a test calling the group.
_IN_PROCESS = False


def _exit_at_once(signum: int, frame: object) -> None:
    # A second signal while the first one's cleanup runs: no traceback, no waiting.
    os._exit(128 + signum)


def _interrupted(error: BaseException) -> int:
    """Report Ctrl-C / SIGTERM in one line; the exit status a shell gives for the signal."""
    if _IN_PROCESS:
        signal.signal(signal.SIGINT, _exit_at_once)
        signal.signal(signal.SIGTERM, _exit_at_once)
    terminated = isinstance(error, Terminated)
    with contextlib.suppress(OSError, ValueError):
        click.echo(
            f"\n{'Terminated' if terminated else 'Interrupted'}; no output was written.", err=True
        )
    # 128 + signal number, as a shell reports a process the signal ended.
    return 143 if terminated else 130


def _pipe_closed() -> int:
    """The reader went away (`mfb ... | head`): stop quietly with 141, as tools killed by
    SIGPIPE do, and point stdout at nothing so the final flush at exit cannot fail again.
    """
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    return 141


def _write_error(error: OSError) -> click.ClickException:
    """A one-line error for an OSError: the file it names, what went wrong."""
    if not error.filename:  # an error without a file: writing to stdout (or --help)
        return click.ClickException(stdout_error_text(error))
    return click.ClickException(f"{one_line(str(error.filename))}: {error.strerror or error}")


def _wrote(output: Path | None, summary: str, quiet: bool) -> None:
    """One line on stderr saying what -o (or --plot) wrote; nothing for stdout or -q."""
    if output is not None and not quiet:
        click.echo(f"wrote {one_line(str(output))} ({summary})", err=True)


class MfbGroup(click.Group):
    """Turns library errors into one-line messages, Ctrl-C into 130 and SIGTERM into 143."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MfbError as error:
            if ctx.meta.get("mfb.debug"):
                raise
            raise click.ClickException(str(error)) from error
        except KeyboardInterrupt as error:
            raise click.exceptions.Exit(_interrupted(error)) from None
        except BrokenPipeError:
            raise click.exceptions.Exit(_pipe_closed()) from None
        except OSError as error:  # disk full, output folder removed mid-run...
            if ctx.meta.get("mfb.debug"):
                raise
            raise _write_error(error) from error
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            # A bug, ours or a library's: still one line (and the way to the traceback).
            if ctx.meta.get("mfb.debug"):
                raise
            raise click.ClickException(
                f"internal error: {type(error).__name__}: {error} "
                "(run with --debug for the traceback, and please report it)"
            ) from error

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # --help and --version print while the context is made, outside invoke().
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            raise click.exceptions.Exit(_pipe_closed()) from None

    def main(self, args: Any = None, prog_name: str | None = None, *more: Any, **extra: Any) -> Any:
        """Click's main, with every message on one line and no traceback on output errors.

        The message of every error Click shows (ours, usage errors, bad parameters) has
        its control characters escaped: a file name holding a newline stays on its line.
        """
        if extra.get("standalone_mode", True) is False or more:
            return super().main(args, prog_name, *more, **extra)
        extra["standalone_mode"] = False
        try:
            try:
                code = super().main(args, prog_name, **extra)
            except click.ClickException as error:
                error.message = one_line(error.message)  # type: ignore[misc]
                error.show()
                code = error.exit_code
            except click.Abort as error:
                if isinstance(error.__context__, KeyboardInterrupt):
                    code = _interrupted(error.__context__)
                else:
                    click.echo("Aborted!", err=True)
                    code = 1
        except BrokenPipeError:
            code = _pipe_closed()
        except OSError as error:  # --help to a full device or a closed stdout
            message = click.ClickException(stdout_error_text(error))
            with contextlib.suppress(OSError, ValueError):
                message.show()
            code = 1
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=MfbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mfb")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Class balance statistics and loss weights for segmentation label masks.

    \b
    mfb weights ./labels --void 11 -o weights.json
    mfb weights ./labels --ignore 255 | jq .weights
    """
    ctx.meta["mfb.debug"] = debug


@with_schemes
@with_definitions
@cli.command()
@from_option
@mask_options
@class_options
@click.option(
    "--scheme",
    type=click.Choice(list(SCHEMES)),
    default="median-frequency",
    show_default=True,
    help="Weighting scheme (listed below).",
)
@click.option(
    "--normalize",
    type=click.Choice(list(NORMALIZATIONS)),
    default="none",
    show_default=True,
    help="Divide the non-zero weights by their mean, sum or median, or (pixels) by their "
    "pixel-weighted mean sum_c share_c w_c (none: the scheme's natural scale). Applied before "
    "--clip. pixels keeps the unweighted loss scale where a loss divides by the pixel count "
    "(mmseg 0.30-1.1, Keras's default); where it divides by the weights' sum (PyTorch, mmseg "
    "1.2) the scale cancels and none is fine.",
)
@click.option(
    "--clip",
    type=FiniteFloatRange(min=0, min_open=True),
    default=None,
    metavar="MAX",
    help="Cap every weight at MAX, after --normalize, so no weight you get exceeds MAX.",
)
@click.option(
    "--void-in-median",
    is_flag=True,
    help="median-frequency only. SegNet / PyTorch-ENet convention: void and ignored pixels "
    "count as labelled and their frequencies join the median. With --void 11 the void "
    "channel stays (weight 0; PyTorch-ENet's 12 entries); with --ignore 11 it has no entry "
    "(SegNet's 11 entries, ignore_label: 11). Needs --void or --ignore.",
)
@click.option(
    "--enet-c",
    type=FiniteFloatRange(min=1, min_open=True),
    default=scheme_option_default("enet", "enet_c"),
    show_default=True,
    help="enet only: c in 1 / ln(c + n_c / N).",
)
@click.option(
    "--beta",
    type=FiniteFloatRange(min=0, max=1, max_open=True),
    default=scheme_option_default("effective-number", "beta"),
    show_default=True,
    help="effective-number only: beta in (1 - beta) / (1 - beta^n_c).",
)
@click.option(
    "--decimals",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Round weights and frequencies to N decimals (every format).  [default: full precision]",
)
@names_option
@output_options
@click.pass_context
def weights(
    ctx: click.Context,
    scan: ScanRequest,
    from_path: Path | None,
    spec: LabelSpec,
    scheme: str,
    normalize: str,
    clip: float | None,
    void_in_median: bool,
    enet_c: float,
    beta: float,
    decimals: int | None,
    names: dict[int, str],
    output_format: str,
    output: Path | None,
) -> None:
    """Class weights for the label masks in PATH... (median frequency balancing by default).

    freq(c) = pixels of c / labelled pixels of the images in which c is present;
    weight(c) = median(freq) / freq(c), the median over the non-void classes present
    (Eigen & Fergus 2015). The JSON has the weights (one per class id), the counts they
    come from and these definitions. Other schemes use n_c (pixels of class c), N (pixels
    of the counted, i.e. present non-void, classes) and K (their number). Order: scheme,
    then --normalize, then --clip. -f torch / mmseg / keras / caffe print a snippet that
    applies the weights to the ground-truth labels with the right ignore value.

    \b
    Examples:
      mfb weights ./labels --void 11 -o weights.json
      mfb weights CamVid/trainannot --ignore 11 --void-in-median -f caffe  # SegNet's 11
      mfb weights gtFine/train --glob '*_labelTrainIds.png' --ignore 255 | jq .weights
      mfb weights --from stats.json --void 11
      mfb weights ./labels --ignore 255 --scheme enet --normalize mean -f mmseg
    """
    from ..show.output import write_text
    from ..show.records import rounded, weights_record
    from ..weigh.weights import class_weights

    options = scheme_options(
        ctx, scheme, {"void_in_median": void_in_median, "enet_c": enet_c, "beta": beta}
    )
    refuse_unused_reading(ctx, scan, from_path)
    refuse_unused(
        ctx,
        [
            (
                "void_in_median",
                bool(spec.void or spec.ignore),
                "without --void or --ignore: nothing void or ignored to put in the median",
            ),
            ("names", output_format != "list", "with -f list: a bare list has no names"),
        ],
    )
    _, stats, source = class_stats_for(scan, spec, from_path)
    result = class_weights(stats, scheme, normalize=normalize, clip=clip, **options)
    warn_all(result.warnings)  # the scan's, the class layout's and the scheme's
    names = names or scan.read.class_names()  # --names wins over the colour table's
    record = rounded(weights_record(stats, result, source, names=names), decimals)
    write_text(FORMATS[output_format](record), output)
    _wrote(output, f"{len(result.weights)} weights, {output_format}", scan.quiet)


@cli.command()
@mask_options
@class_options
@format_option(["table", *RECORD_FORMATS], "table", "Tables for people, or a record for machines.")
@output_option()
@click.pass_context
def check(
    ctx: click.Context, scan: ScanRequest, spec: LabelSpec, output_format: str, output: Path | None
) -> None:
    """Check the label masks in PATH... for problems, reading every file.

    Reports files that cannot be read (and why), empty files, label values outside
    --num-classes that are not --ignore'd, masks that look interpolated or JPEG-compressed
    (>= 5% of the pixels on region boundaries lie strictly between two opposite
    neighbours), duplicate files (same sha256), palette indices that mean different
    colours in different palette files (whatever the options), single-valued masks, and
    the modes and sizes found. Exit status 0 when clean, 1 when a problem was found
    (single-valued masks, modes and sizes are information only). Off a terminal the
    tables are plain text within 100 columns. With --skip-bad, unreadable and empty
    files are listed but do not fail the check, as the other commands would skip them.

    \b
    Examples:
      mfb check ./labels --num-classes 11 --ignore 255
      mfb check ./labels -f json | jq .problems
    """
    import io

    from ..count.check import check_masks
    from ..show.output import write_text
    from .scanning import refuse_output_among

    refuse_unused_reading(ctx, scan, None)
    unreadable: list[tuple[Path, str]] = []  # archives that cannot be listed: bad files
    files = find_sources(scan, unreadable)
    refuse_output_among(files)
    with progress_bar(scan, len(files)) as bar:
        report = check_masks(
            files,
            unreadable=unreadable,
            num_classes=spec.num_classes,
            ignore=frozenset(spec.ignore),
            read=scan.read,
            jobs=scan.jobs,
            pool=scan.pool,
            skip_bad=scan.skip_bad,
            on_file=lambda path: bar.update(),
        )
    if output_format == "table":
        from ..show.check_table import render_check

        if output is None:
            render_check(report, sys.stdout)
        else:
            text = io.StringIO()
            render_check(report, text)
            write_text(text.getvalue(), output)
    else:
        write_text(RECORD_FORMATS[output_format](report.record()), output)
    found = report.problems
    summary = f"{report.files} files, {len(found)} kinds of problem" if found else "no problems"
    _wrote(output, f"{summary}, {output_format}", scan.quiet)
    if not report.clean:
        ctx.exit(1)


_stats_output = output_option("Write the statistics to this file (atomically) instead of stdout.")


@cli.command()
@mask_options
@_stats_output
@click.pass_context
def scan(ctx: click.Context, scan: ScanRequest, output: Path | None) -> None:
    """Count the label masks in PATH... once and write the raw statistics as JSON.

    The file holds exact per-id pixel and image counts and the co-occurrence totals, so
    'mfb weights --from' and 'mfb histogram --from' give the same output as a new scan,
    for any --void / --ignore / --num-classes, without reading an image. Shards scanned
    separately add up with 'mfb merge'.

    \b
    Examples:
      mfb scan ./labels -o stats.json
      mfb weights --from stats.json --void 11
    """
    from ..count.stats import StatsFile, files_digest, stats_record
    from ..read.class_sets import recorded_mapping
    from ..show.output import write_text
    from ..show.serialize import to_json

    refuse_unused_reading(ctx, scan, None)
    scanned = scan_masks(scan, LabelSpec())
    warn_all(scanned.counts.warnings)
    stats = StatsFile(
        counts=scanned.counts,
        files=len(scanned.files),
        files_digest=files_digest(scanned.files),
        source=scanned.source(scan),
        label_mapping=recorded_mapping(scan.read),
    )
    write_text(to_json(stats_record(stats)), output)
    _wrote(output, f"statistics of {len(scanned.files)} files", scan.quiet)


@cli.command()
@click.argument(
    "stats_files",
    metavar="STATS.json...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
)
@_stats_output
@click.option("-q", "--quiet", is_flag=True, help="No 'wrote FILE' line on stderr.")
def merge(stats_files: tuple[Path, ...], output: Path | None, quiet: bool) -> None:
    """Add up the statistics of disjoint shards (written by 'mfb scan') into one file.

    Counts, images and files add up; the sources' paths (and skipped files) are listed
    in the order given, other source values kept when all agree, else listed.
    Files whose ids mean different things (different colour map or remap) are refused.
    Two files with the same file-list digest are probably one shard given twice: mfb
    warns on stderr but still adds them (shards on different machines may share the same
    relative paths).

    \b
    Example:
      mfb scan train/ -o train.json && mfb scan val/ -o val.json
      mfb merge train.json val.json -o all.json
    """
    from ..count.stats import load_stats, merge_stats, repeated_shards, stats_record
    from ..show.output import write_text
    from ..show.serialize import to_json
    from .options import refuse_output_as_input

    for path in stats_files:
        refuse_output_as_input(path)
    parts = [(str(path), load_stats(path)) for path in stats_files]
    for first, second in repeated_shards(parts):
        warn(f"{first} and {second} list the same files (same digest): one shard given twice?")
    write_text(to_json(stats_record(merge_stats(parts))), output)
    _wrote(output, f"statistics of {len(parts)} shards", quiet)


def _check_plot(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    from ..show.plot import PLOT_SUFFIXES

    if value is not None and value.suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"'{value}' must end in {' or '.join(PLOT_SUFFIXES)}", ctx, param)
    return check_output_path(ctx, param, value)


@with_definitions
@cli.command()
@from_option
@mask_options
@class_options
@names_option
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="id",
    show_default=True,
    help="Order of the class rows: by id, or most pixels first.",
)
@format_option(HISTOGRAM_FORMATS, "table", "A table for people, or the same numbers for machines.")
@output_option()
@click.option(
    "--plot",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_check_plot,
    is_eager=True,
    default=None,
    help="Also draw a bar chart to FILE.png or FILE.svg (needs: pip install 'mfb-cli[plot]').",
)
@click.option(
    "--log/--linear",
    default=None,
    help="Scale of --plot's pixel axis.  [default: log when the imbalance ratio is over "
    "100, else linear]",
)
def histogram(
    scan: ScanRequest,
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

    One row per class id: pixels, share of labelled pixels, images containing it, share
    of images, and a bar; void and ignored values are listed apart, classes never seen
    are flagged. The footer gives the totals and the imbalance ratio (pixels of the
    largest / of the smallest present class). -f json|yaml|csv gives the same numbers
    (counts exact, shares as floats).

    \b
    Examples:
      mfb histogram ./labels --names classes.txt --void 11
      mfb histogram --from stats.json --ignore 255 --sort pixels -f csv
      mfb histogram ./labels --plot classes.png --log
    """
    from ..show.distribution import histogram_record
    from ..show.output import write_text

    ctx = click.get_current_context()
    refuse_unused_reading(ctx, scan, from_path)
    refuse_unused(ctx, [("log", plot is not None, "without --plot")])
    counts, stats, source = class_stats_for(scan, spec, from_path)
    warn_all(stats.warnings)
    names = names or scan.read.class_names()  # --names wins over the colour table's
    record = histogram_record(counts, stats, source, names=names, sort=sort)
    if plot is not None:
        from ..show.plot import plot_histogram

        plot_histogram(record, plot, log=log)
        _wrote(plot, "bar chart", scan.quiet)
    if output_format == "table" and output is None and sys.stdout.isatty():
        from ..show.distribution_table import render_histogram

        text = render_histogram(record, width=None, color=True)
    else:
        text = HISTOGRAM_FORMATS[output_format](record)
    write_text(text, output)
    _wrote(output, f"{len(record['classes'])} classes, {output_format}", scan.quiet)


def main() -> None:
    """Console-script entry point: signals, closed or broken stdout, a prompt exit.

    SIGTERM stops a run as cleanly as Ctrl-C does. The process then ends at once even if
    a worker thread is still blocked (a FIFO swapped in for a mask, a hung network file):
    the pool's threads are joined at exit, which would otherwise keep it alive.
    """
    global _IN_PROCESS
    _IN_PROCESS = True
    signal.signal(signal.SIGTERM, _raise_terminated)
    _guard_standard_streams()
    try:
        cli.main(prog_name="mfb")
        code: Any = 0
    except SystemExit as done:
        code = done.code
    signal.signal(signal.SIGINT, _exit_at_once)
    signal.signal(signal.SIGTERM, _exit_at_once)
    if not isinstance(code, int):
        code = 0 if code is None else 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _pipe_closed()
    except (OSError, ValueError):
        code = code or 1
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    # A run that failed or was stopped may leave a worker blocked; after a success every
    # worker has finished its files and the pool's threads end by themselves.
    if code != 0 and any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.current_thread()
    ):
        os._exit(code)
    sys.exit(code)


def _guard_standard_streams() -> None:
    """Give descriptors 0-2 a file when the process started with one closed (``>&-``).

    Otherwise the next file opened (a mask, the -o temporary file) would become stdout and
    receive the data; data meant for a closed stdout is an error instead (ClosedStdout).
    """
    from ..show.output import ClosedStdout

    for number in (0, 1, 2):
        try:
            os.fstat(number)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != number:
                os.dup2(null, number)
                os.close(null)
            if number == 1:
                sys.stdout = ClosedStdout()
            elif number == 2:
                sys.stderr = open(number, "w", closefd=False)  # noqa: SIM115
