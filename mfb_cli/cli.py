"""The ``mfb`` command: a thin Click layer over the library; errors are translated here only."""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import MfbError

F = TypeVar("F", bound=Callable[..., Any])

CLASS_DEFINITIONS = """\b
Definitions:
  --void ID    a class channel of the model that must not be learned (CamVid's 11):
               it keeps its place in the vector, with weight 0.
  --ignore ID  a value that is not a class (PyTorch's ignore_index, e.g. 255): no entry
               in the vector, its pixels never count.
  labelled     pixels that are neither void nor ignored.
  absent       classes with no pixel get weight 0 and are named in a warning.
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


def mask_options(function: F) -> F:
    """PATH... and how to read them; shared by every scanning command."""
    from .decode import DEFAULT_MAX_PIXELS
    from .sources import DEFAULT_GLOB

    decorators = [
        click.argument(
            "paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False)
        ),
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
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def class_options(function: F) -> F:
    """Which ids are classes: --num-classes, --void, --ignore."""
    decorators = [
        click.option(
            "--void",
            "void",
            type=int,
            multiple=True,
            metavar="ID",
            help="Class id kept in the vector with weight 0 (repeatable).",
        ),
        click.option(
            "--ignore",
            "ignore",
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
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


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
    from .formats import FORMATS

    function = click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path, dir_okay=False),
        callback=_check_output,
        default=None,
        help="Write to this file (atomically) instead of stdout.",
    )(function)
    function = click.option(
        "-f",
        "--format",
        "output_format",
        type=click.Choice(list(FORMATS)),
        default="json",
        show_default=True,
        help="Output format.",
    )(function)
    return function


def _scan(
    paths: Sequence[Path],
    glob: str,
    jobs: int | None,
    quiet: bool,
    max_pixels: int,
    num_classes: int | None,
    ignore: Sequence[int],
) -> tuple[Any, list[Path]]:
    """Find and count the label files, with a progress bar on stderr."""
    from tqdm import tqdm

    from .counting import LabelCheck, count_masks
    from .sources import find_label_files

    files = find_label_files(paths, glob)
    started = time.perf_counter()
    megapixels = 0.0
    with tqdm(
        total=len(files),
        unit="file",
        file=sys.stderr,
        disable=True if quiet else None,
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
            jobs=jobs,
            max_pixels=max_pixels,
            check=LabelCheck(num_classes, frozenset(ignore)),
            on_file=on_file,
        )
    return counts, files


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


@cli.command()
@mask_options
@class_options
@click.option(
    "--void-in-median",
    is_flag=True,
    help="SegNet / PyTorch-ENet convention: void pixels count as labelled and void classes "
    "join the median (their weight is still 0).",
)
@output_options
def weights(
    paths: tuple[Path, ...],
    glob: str,
    jobs: int | None,
    quiet: bool,
    max_pixels: int,
    void: tuple[int, ...],
    ignore: tuple[int, ...],
    num_classes: int | None,
    void_in_median: bool,
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
    from .classes import LabelSpec, class_stats
    from .formats import FORMATS, weights_record
    from .output import write_text
    from .weighting import median_frequency

    spec = LabelSpec.of(num_classes, void, ignore)
    counts, files = _scan(paths, glob, jobs, quiet, max_pixels, num_classes, spec.ignore)
    stats = class_stats(counts, spec)
    result = median_frequency(stats, void_in_median=void_in_median)
    if stats.absent:
        ids = ", ".join(str(c) for c in stats.absent)
        _warn(f"classes never seen, given weight 0: {ids}")
    source = {"paths": [str(p) for p in paths], "glob": glob, "files": len(files)}
    write_text(FORMATS[output_format](weights_record(stats, result, source)), output)


def _with_definitions(command: click.Command) -> None:
    # Appended after cleandoc: the shared text must not change the docstring's indentation.
    command.help = inspect.cleandoc(command.help or "") + "\n\n" + CLASS_DEFINITIONS


_with_definitions(weights)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mfb")
