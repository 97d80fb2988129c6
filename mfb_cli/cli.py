"""The ``mfb`` command: a thin Click layer over the library; errors are translated here only."""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from . import __version__
from .classes import LabelSpec
from .decode import DEFAULT_MAX_PIXELS, ReadOptions
from .errors import MfbError
from .formats import FORMATS
from .sources import DEFAULT_GLOB

F = TypeVar("F", bound=Callable[..., Any])

CLASS_DEFINITIONS = """\b
Definitions:
  --void ID    a class channel of the model that must not be learned (CamVid's 11):
               it keeps its place in the vector, with weight 0.
  --ignore ID  a value that is not a class (PyTorch's ignore_index, e.g. 255): no entry
               in the vector, its pixels never count.
  labelled     pixels that are neither void nor ignored.
  absent       classes with no pixel keep their place with weight 0 (warned on stderr).
"""


class MfbGroup(click.Group):
    """Turns library errors into one-line messages and Ctrl-C into exit status 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MfbError as error:
            if ctx.meta.get("mfb.debug"):
                raise
            raise click.ClickException(str(error)) from error
        except KeyboardInterrupt:
            click.echo("\nInterrupted; no output was written.", err=True)
            raise click.exceptions.Exit(130) from None
        except OSError as error:  # disk full, output folder removed mid-run...
            if ctx.meta.get("mfb.debug"):
                raise
            where = f"{error.filename}: " if error.filename else ""
            raise click.ClickException(f"{where}{error.strerror or error}") from error


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


def _apply(function: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


@dataclass(frozen=True)
class ScanRequest:
    """What to scan and how, as given on the command line."""

    paths: tuple[Path, ...]
    glob: str
    jobs: int | None
    quiet: bool
    read: ReadOptions


def mask_options(function: F) -> F:
    """PATH... and how to read them, passed to the command as ``scan: ScanRequest``."""

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        paths: tuple[Path, ...],
        glob: str,
        jobs: int | None,
        quiet: bool,
        max_pixels: int,
        **kwargs: Any,
    ) -> Any:
        read = ReadOptions(max_pixels=max_pixels)
        return function(*args, scan=ScanRequest(paths, glob, jobs, quiet, read), **kwargs)

    return _apply(
        cast(F, wrapper),
        [
            click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path)),
            click.option(
                "--glob",
                default=DEFAULT_GLOB,
                show_default=True,
                help="File pattern searched for in folders (case-insensitive; with a '/', "
                "matched against the path below the folder).",
            ),
            click.option(
                "-j",
                "--jobs",
                type=click.IntRange(min=1),
                default=None,
                help="Files read in parallel.  [default: all cores]",
            ),
            click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
            click.option(
                "--max-pixels",
                type=click.IntRange(min=1),
                default=DEFAULT_MAX_PIXELS,
                show_default=True,
                help="Refuse larger images (decompression bomb guard).",
            ),
        ],
    )


def class_options(function: F) -> F:
    """--num-classes, --void, --ignore, passed to the command as ``spec: LabelSpec``."""

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        num_classes: int | None,
        void: tuple[int, ...],
        ignore: tuple[int, ...],
        **kwargs: Any,
    ) -> Any:
        return function(*args, spec=LabelSpec.of(num_classes, void, ignore), **kwargs)

    return _apply(
        cast(F, wrapper),
        [
            click.option(
                "--void",
                type=int,
                multiple=True,
                metavar="ID",
                help="Class id kept in the vector with weight 0 (repeatable).",
            ),
            click.option(
                "--ignore",
                type=int,
                multiple=True,
                metavar="ID",
                help="Value that is not a class, e.g. 255 (repeatable).",
            ),
            click.option(
                "--num-classes",
                type=click.IntRange(min=1),
                default=None,
                help="Length of the class vector; larger labels are an error.  "
                "[default: 1 + the largest label that is not ignored]",
            ),
        ],
    )


def names_option(function: F) -> F:
    """--names FILE, passed to the command as ``names: dict[int, str]``."""
    from .names import load_class_names

    def load(ctx: click.Context, param: click.Parameter, value: Path | None) -> dict[int, str]:
        return {} if value is None else load_class_names(value)

    return click.option(
        "--names",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        callback=load,
        help="Class names: a text file (one per line, line number = id), or a JSON/YAML "
        "list or id -> name mapping.",
    )(function)


def _check_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Fail before a long scan, not after it, when the output cannot be written."""
    if value is None or str(value) == "-":
        return None
    if value.is_dir():
        raise click.BadParameter(f"'{value}' is a folder", ctx, param)
    if not value.parent.is_dir():
        raise click.BadParameter(f"folder '{value.parent}' does not exist", ctx, param)
    return value


def output_options(function: F) -> F:
    """-f/--format and -o/--output; choices come from the formats registry."""
    return _apply(
        function,
        [
            click.option(
                "-f",
                "--format",
                "output_format",
                type=click.Choice(list(FORMATS)),
                default="json",
                show_default=True,
                help="Output format.",
            ),
            click.option(
                "-o",
                "--output",
                type=click.Path(path_type=Path, dir_okay=False),
                callback=_check_output,
                default=None,
                help="Write to this file (atomically) instead of stdout.",
            ),
        ],
    )


def scan_counts(scan: ScanRequest, spec: LabelSpec) -> tuple[Any, list[Path]]:
    """Find and count the label files, with a progress bar on stderr."""
    from tqdm import tqdm

    from .counting import LabelCheck, count_masks
    from .sources import find_label_files

    files = find_label_files(scan.paths, scan.glob)
    started = time.perf_counter()
    megapixels = 0.0
    with tqdm(
        total=len(files),
        unit="file",
        file=sys.stderr,
        disable=True if scan.quiet else None,
        dynamic_ncols=True,
        leave=False,
    ) as bar:

        def on_file(path: Path, pixels: int) -> None:
            nonlocal megapixels
            megapixels += pixels / 1e6
            rate = megapixels / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix_str(f"{rate:.0f} MPix/s", refresh=False)
            bar.update()

        counts = count_masks(
            files,
            jobs=scan.jobs,
            read=scan.read,
            check=LabelCheck(spec.num_classes, frozenset(spec.ignore)),
            on_file=on_file,
        )
    return counts, files


def warn(message: str) -> None:
    """A warning for people: stderr, never mixed into the data on stdout."""
    click.echo(f"warning: {message}", err=True)


def _with_definitions(command: click.Command) -> click.Command:
    # Appended after cleandoc: the shared text must not change the docstring's indentation.
    command.help = inspect.cleandoc(command.help or "") + "\n\n" + CLASS_DEFINITIONS
    return command


@_with_definitions
@cli.command()
@mask_options
@class_options
@click.option(
    "--void-in-median",
    is_flag=True,
    help="SegNet / PyTorch-ENet convention: void pixels count as labelled and void classes "
    "join the median (their weight is still 0).",
)
@names_option
@output_options
def weights(
    scan: ScanRequest,
    spec: LabelSpec,
    void_in_median: bool,
    names: dict[int, str],
    output_format: str,
    output: Path | None,
) -> None:
    """Median frequency balancing weights for the label masks in PATH...

    freq(c) = pixels of c / labelled pixels of the images in which c is present;
    weight(c) = median(freq) / freq(c), the median over the non-void classes present
    (Eigen & Fergus 2015). The JSON has the weights (one per class id), the counts they
    come from and these definitions.

    \b
    Examples:
      mfb weights ./labels --void 11 -o weights.json
      mfb weights gtFine/train --glob '*_labelTrainIds.png' --ignore 255 | jq .weights
    """
    from .classes import class_stats
    from .formats import weights_record
    from .output import write_text
    from .weighting import median_frequency

    counts, files = scan_counts(scan, spec)
    stats = class_stats(counts, spec)
    result = median_frequency(stats, void_in_median=void_in_median)
    if stats.absent:
        warn(f"classes never seen, given weight 0: {', '.join(map(str, stats.absent))}")
    source = {"paths": [str(p) for p in scan.paths], "glob": scan.glob, "files": len(files)}
    record = weights_record(stats, result, source, names=names)
    write_text(FORMATS[output_format](record), output)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mfb")
