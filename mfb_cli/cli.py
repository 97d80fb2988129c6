"""The ``mfb`` command: a thin Click layer over the library; errors are translated here only."""

from __future__ import annotations

import functools
import inspect
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from . import __version__
from .archives import LabelSource
from .classes import ClassStats, LabelSpec
from .counting import ClassCounts
from .decode import DECODERS, DEFAULT_MAX_PIXELS, FAST_EXTRA_HINT, ReadOptions, fast_modules
from .errors import BadMaskError, LabelRangeError, MfbError
from .formats import FORMATS, RECORD_FORMATS
from .histogram import FORMATS as HISTOGRAM_FORMATS
from .histogram import SORTS
from .sources import DEFAULT_GLOB
from .weighting import NORMALIZATIONS, SCHEMES

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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every cleanup path (threads, temporary file) runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


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
            # 128 + signal number, as a shell reports a process the signal ended.
            terminated = isinstance(error, Terminated)
            what = "Terminated" if terminated else "Interrupted"
            click.echo(f"\n{what}; no output was written.", err=True)
            raise click.exceptions.Exit(143 if terminated else 130) from None
        except BrokenPipeError:
            # The reader went away (`mfb ... | head`): stop quietly, as other Unix tools do,
            # and point stdout at nothing so the final flush at exit cannot fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(141) from None
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
    # mfb checks --max-pixels itself from the header, before decoding; Pillow's own limit
    # would refuse (or warn about) sizes the user explicitly allowed. It is a process-wide
    # setting, so the command lifts it for its own run only and restores it on exit.
    from PIL import Image

    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    ctx.call_on_close(lambda: setattr(Image, "MAX_IMAGE_PIXELS", previous))


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
    skip_bad: bool = False
    lists: tuple[Path, ...] = ()
    column: int | None = None
    root: Path | None = None


def _id_or_error(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """'error' (the default: fail loudly) as None, or an integer label id."""
    if value is None or value.lower() == "error":
        return None
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither 'error' nor an integer id") from None


def _load_table(loader_name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def load(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        from . import colormaps, remap

        loader = getattr(colormaps if loader_name == "colormap" else remap, f"load_{loader_name}")
        try:
            return loader(value)
        except MfbError as error:
            raise click.BadParameter(str(error), ctx, param) from error

    return load


MAPPING_ORDER = """\b
Reading order: decode -> --colormap (colour images; 'P' only with --by-color)
-> --map -> counts. --void, --ignore, --num-classes and --names refer to the
ids after both mappings.
"""


def _check_decoder(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # Not a usage error: the command is right, the environment lacks the extra.
    if value == "fast" and fast_modules() is None:
        raise click.ClickException(f"--decoder fast needs the 'fast' extra: {FAST_EXTRA_HINT}")
    return value


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
        skip_bad: bool,
        list_files: tuple[Path, ...],
        column: int | None,
        root: Path | None,
        colormap: Any,
        by_color: bool,
        unknown_color: int | None,
        transparent: int | None,
        label_map: Any,
        unmapped: int | None,
        decoder: str,
        **kwargs: Any,
    ) -> Any:
        try:
            read = ReadOptions(
                max_pixels=max_pixels,
                decoder=decoder,
                colormap=colormap,
                by_color=by_color,
                unknown_color=unknown_color,
                transparent=transparent,
                remap=label_map,
                unmapped=unmapped,
            )
        except MfbError as error:
            raise click.UsageError(str(error)) from error
        scan = ScanRequest(paths, glob, jobs, quiet, read, skip_bad, list_files, column, root)
        return function(*args, scan=scan, **kwargs)

    return _apply(
        cast(F, wrapper),
        [
            click.argument("paths", nargs=-1, required=False, type=click.Path(path_type=Path)),
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
            click.option(
                "--decoder",
                type=click.Choice(list(DECODERS)),
                default="auto",
                show_default=True,
                callback=_check_decoder,
                help="How PNGs are decoded; counts are identical with every decoder.  "
                + ";  ".join(f"{name}: {text}" for name, text in DECODERS.items())
                + ".",
            ),
            click.option(
                "--skip-bad",
                is_flag=True,
                help="Leave out files that cannot be read as masks (damaged, empty, not an "
                "image, colour, JPEG, too large): one line each on stderr, listed in the "
                "output as skipped_files. Labels out of range still stop the run.",
            ),
            click.option(
                "--list",
                "list_files",
                multiple=True,
                type=click.Path(path_type=Path, dir_okay=False, exists=True),
                help="A list file: one label path per line, or 'image label' pairs "
                "(repeatable). Relative paths are resolved against the list's folder.",
            ),
            click.option(
                "--column",
                type=click.IntRange(min=1),
                default=None,
                help="Which whitespace-separated column of a --list line holds the label "
                "path (1-based).  [default: the last]",
            ),
            click.option(
                "--root",
                type=click.Path(path_type=Path, file_okay=False, exists=True),
                default=None,
                help="Resolve relative --list paths against this folder instead.",
            ),
            click.option(
                "--colormap",
                metavar="FILE|NAME",
                callback=_load_table("colormap"),
                help="Read RGB/RGBA masks as colour-coded: a colour table (.json/.yaml, "
                "class_dict.csv 'name,r,g,b' or 'id,r,g,b', label_colors.txt 'R G B name'; "
                "the id is the row number unless given) or a built-in: "
                + ", ".join(_builtin_names("colormap")),
            ),
            click.option(
                "--by-color",
                is_flag=True,
                help="Map the palette colours of 'P' images with --colormap instead of "
                "reading their indices.",
            ),
            click.option(
                "--unknown-color",
                metavar="error|ID",
                callback=_id_or_error,
                default=None,
                help="Colours not in --colormap: 'error' (naming the file, colour and pixel "
                "count), or the id to give them (then --ignore/--void that id).  "
                "[default: error]",
            ),
            click.option(
                "--transparent",
                metavar="error|ID",
                callback=_id_or_error,
                default=None,
                help="Fully transparent RGBA pixels: 'error', or the id to give them (e.g. "
                "255 with --ignore 255). Partly transparent pixels are always an error; "
                "alpha is ignored when every pixel is opaque.  [default: error]",
            ),
            click.option(
                "--map",
                "label_map",
                metavar="FILE|NAME",
                callback=_load_table("remap"),
                help="Remap ids old -> new after decoding and --colormap: a .json/.yaml "
                "{old: new} or an old,new .csv, or a built-in: "
                + ", ".join(_builtin_names("remap")),
            ),
            click.option(
                "--unmapped",
                metavar="error|ID",
                callback=_id_or_error,
                default=None,
                help="Values --map does not list: 'error', or the id to give them (e.g. 255 "
                "with --ignore 255).  [default: error]",
            ),
        ],
    )


def _builtin_names(kind: str) -> list[str]:
    from .colormaps import BUILTIN_COLORMAPS
    from .remap import BUILTIN_REMAPS

    table = BUILTIN_COLORMAPS if kind == "colormap" else BUILTIN_REMAPS
    return [f"{name} ({description})" for name, (description, _) in table.items()]


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


@dataclass(frozen=True)
class Scanned:
    """The counts of a scan, the files counted and the bad files left out (--skip-bad)."""

    counts: ClassCounts
    files: list[LabelSource]
    skipped: list[LabelSource]

    def source(self, scan: ScanRequest) -> dict[str, Any]:
        """Where the counts come from, for the output's metadata."""
        record: dict[str, Any] = {"paths": [str(p) for p in scan.paths], "glob": scan.glob}
        if scan.lists:
            record["lists"] = [str(p) for p in scan.lists]
        record.update(
            files=len(self.files),
            skip_bad=scan.skip_bad,
            skipped_files=[str(p) for p in self.skipped],
        )
        mapping = scan.read.label_mapping()
        if mapping:
            record["label_mapping"] = mapping  # what the ids mean: --colormap, --map
        return record


class _NoProgress:
    """Stands in for a tqdm bar when none is shown; messages still go to stderr."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        return None

    def write(self, text: str, file: Any = None, end: str = "\n") -> None:
        (file or sys.stderr).write(text + end)


def progress_bar(scan: ScanRequest, total: int) -> Any:
    """A tqdm bar over files on stderr, hidden with -q or when stderr is not a terminal.

    When hidden, tqdm is not even imported: that is a tenth of a small scan's start-up.
    """
    if scan.quiet or not sys.stderr.isatty():
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True, leave=False)


def find_sources(scan: ScanRequest) -> list[LabelSource]:
    """The label files of a scan: PATH... (folders, files, archives) and --list files."""
    from .sources import find_label_sources

    if not scan.paths and not scan.lists:
        raise click.UsageError("give PATH... (folders, files, archives) or --list FILE")
    return find_label_sources(
        scan.paths, scan.glob, lists=scan.lists, column=scan.column, root=scan.root
    )


def scan_masks(scan: ScanRequest, spec: LabelSpec) -> Scanned:
    """Find and count the label files, with a progress bar and skipped files on stderr."""
    from .counting import LabelCheck, count_masks

    files = find_sources(scan)
    skipped: list[LabelSource] = []
    started = time.perf_counter()
    megapixels = 0.0
    with progress_bar(scan, len(files)) as bar:

        def on_file(path: object, pixels: int) -> None:
            nonlocal megapixels
            megapixels += pixels / 1e6
            rate = megapixels / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix_str(f"{rate:.0f} MPix/s", refresh=False)
            bar.update()

        def on_skip(path: LabelSource, error: BadMaskError) -> None:
            skipped.append(path)
            bar.write(f"skipped: {error}", file=sys.stderr)
            bar.update()

        counts = count_masks(
            files,
            jobs=scan.jobs,
            read=scan.read,
            check=LabelCheck(spec.num_classes, frozenset(spec.ignore)),
            on_file=on_file,
            skip_bad=scan.skip_bad,
            on_skip=on_skip,
        )
    if skipped:
        warn(f"{len(skipped)} of {len(files)} files skipped as bad (--skip-bad)")
    kept = set(skipped)
    return Scanned(counts, [f for f in files if f not in kept], skipped)


def scan_counts(scan: ScanRequest, spec: LabelSpec) -> tuple[Any, list[LabelSource]]:
    """Find and count the label files: the counts and the files counted."""
    scanned = scan_masks(scan, spec)
    return scanned.counts, scanned.files


def warn(message: str) -> None:
    """A warning for people: stderr, never mixed into the data on stdout."""
    click.echo(f"warning: {message}", err=True)


def from_option(function: F) -> F:
    """--from STATS.json: take the counts from ``mfb scan``'s file instead of scanning PATH...

    Apply above ``mask_options``: PATH... becomes optional for this command, and
    ``class_stats_for`` requires exactly one of the two.
    """
    for param in getattr(function, "__click_params__", []):
        if param.name == "paths":
            # One definition of PATH... (in mask_options); only its 'required' differs here.
            param.required = False
    return click.option(
        "--from",
        "from_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Read the counts from a statistics file written by 'mfb scan' instead of "
        "scanning PATH... (the same output, no image read; reading options are ignored).",
    )(function)


def counts_for(
    scan: ScanRequest, spec: LabelSpec, from_path: Path | None
) -> tuple[ClassCounts, dict[str, Any]]:
    """The counts and their ``source`` record: loaded from ``--from``, or scanned from PATH...

    A statistics file stores the source of its scan, so both routes give the same output.
    """
    if from_path is not None and (scan.paths or scan.lists):
        raise click.UsageError("give PATH... or --from STATS.json, not both (nor --list)")
    if from_path is None and not scan.paths and not scan.lists:
        raise click.UsageError("give PATH... to scan, or --from STATS.json (or --list FILE)")
    if from_path is not None:
        from .stats import load_stats

        loaded = load_stats(from_path)
        wanted = scan.read.label_mapping()
        if wanted and wanted != loaded.label_mapping:
            raise MfbError(
                f"{from_path}: scanned with a different label mapping than the options given; "
                "rescan, or drop the colour map / remap options"
            )
        return loaded.counts, loaded.source
    scanned = scan_masks(scan, spec)
    return scanned.counts, scanned.source(scan)


def class_stats_for(
    scan: ScanRequest, spec: LabelSpec, from_path: Path | None
) -> tuple[ClassCounts, ClassStats, dict[str, Any]]:
    """``counts_for`` resolved under the user's void/ignore choices."""
    from .classes import class_stats

    counts, source = counts_for(scan, spec, from_path)
    try:
        return counts, class_stats(counts, spec), source
    except LabelRangeError as error:
        # A scan names the offending mask; a statistics file can only name itself.
        if from_path is None:
            raise
        raise LabelRangeError(f"{from_path}: {error}") from error


def _with_definitions(command: click.Command) -> click.Command:
    # Appended after cleandoc: the shared text must not change the docstring's indentation.
    command.help = (
        inspect.cleandoc(command.help or "") + "\n\n" + CLASS_DEFINITIONS + "\n" + MAPPING_ORDER
    )
    return command


def _scheme_help() -> str:
    """The --help list of schemes, from the first line of each scheme's docstring."""
    lines = [
        f"  {name:<17} {(function.__doc__ or '').strip().splitlines()[0]}"
        for name, function in SCHEMES.items()
    ]
    return "\b\nSchemes (--scheme; void and absent classes get 0 in every one):\n" + "\n".join(
        lines
    )


def _with_schemes(command: click.Command) -> click.Command:
    # Applied after _with_definitions, whose cleandoc needs the docstring's own indentation.
    command.help = (command.help or "") + "\n\n" + _scheme_help()
    return command


def _option_default(scheme: str, name: str) -> Any:
    """A scheme option's default, taken from the scheme function (one source of truth)."""
    return inspect.signature(SCHEMES[scheme]).parameters[name].default


def _scheme_options(ctx: click.Context, scheme: str, given: dict[str, Any]) -> dict[str, Any]:
    """The options the scheme takes; an option given for another scheme is a usage error."""
    accepted = inspect.signature(SCHEMES[scheme]).parameters
    for name in given:
        source = ctx.get_parameter_source(name)
        if name not in accepted and source is not click.core.ParameterSource.DEFAULT:
            owners = [s for s, f in SCHEMES.items() if name in inspect.signature(f).parameters]
            raise click.UsageError(
                f"--{name.replace('_', '-')} applies only to --scheme {' / '.join(owners)}, "
                f"not {scheme}",
                ctx,
            )
    return {name: value for name, value in given.items() if name in accepted}


@_with_schemes
@_with_definitions
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
    help="Divide the non-zero weights by their mean, sum or median (none: the scheme's "
    "natural scale). Applied before --clip. Use mean for mmseg and Keras.",
)
@click.option(
    "--clip",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="MAX",
    help="Cap every weight at MAX, after --normalize, so no weight you get exceeds MAX.",
)
@click.option(
    "--void-in-median",
    is_flag=True,
    help="median-frequency only. SegNet / PyTorch-ENet convention: void pixels count as "
    "labelled and void classes join the median (their weight is still 0).",
)
@click.option(
    "--enet-c",
    type=click.FloatRange(min=1, min_open=True),
    default=_option_default("enet", "enet_c"),
    show_default=True,
    help="enet only: c in 1 / ln(c + n_c / N).",
)
@click.option(
    "--beta",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=_option_default("effective-number", "beta"),
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
      mfb weights gtFine/train --glob '*_labelTrainIds.png' --ignore 255 | jq .weights
      mfb weights --from stats.json --void 11
      mfb weights ./labels --ignore 255 --scheme enet --normalize mean -f mmseg
    """
    from .formats import rounded, weights_record
    from .output import write_text
    from .weighting import class_weights

    options = _scheme_options(
        ctx, scheme, {"void_in_median": void_in_median, "enet_c": enet_c, "beta": beta}
    )
    _, stats, source = class_stats_for(scan, spec, from_path)
    result = class_weights(stats, scheme, normalize=normalize, clip=clip, **options)
    if stats.absent:
        warn(f"classes never seen, given weight 0: {', '.join(map(str, stats.absent))}")
    for message in result.warnings:
        warn(message)
    record = rounded(weights_record(stats, result, source, names=names), decimals)
    write_text(FORMATS[output_format](record), output)


@cli.command()
@mask_options
@class_options
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(["table", *RECORD_FORMATS]),
    default="table",
    show_default=True,
    help="Tables for people, or a record for machines.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_check_output,
    default=None,
    help="Write to this file (atomically) instead of stdout.",
)
@click.pass_context
def check(
    ctx: click.Context, scan: ScanRequest, spec: LabelSpec, output_format: str, output: Path | None
) -> None:
    """Check the label masks in PATH... for problems, reading every file.

    Reports files that cannot be read (and why), empty files, label values outside
    --num-classes that are not --ignore'd, masks that look interpolated or JPEG-compressed
    (>= 5% of the pixels on region boundaries lie strictly between two opposite
    neighbours), duplicate files (same sha256), single-valued masks, and the modes and
    sizes found. Exit status 0 when clean, 1 when a problem was found (single-valued
    masks, modes and sizes are information only). With --skip-bad, unreadable and empty
    files are listed but do not fail the check, as the other commands would skip them.

    \b
    Examples:
      mfb check ./labels --num-classes 11 --ignore 255
      mfb check ./labels -f json | jq .problems
    """
    import io

    from .check import check_masks
    from .output import write_text

    if scan.read.label_mapping():
        raise click.UsageError("mfb check reads ids as stored: --colormap and --map not yet")
    files = find_sources(scan)
    if not all(isinstance(f, Path) for f in files):
        raise MfbError("mfb check reads files on disk only, not archive members (yet)")
    with progress_bar(scan, len(files)) as bar:
        report = check_masks(
            cast(list[Path], files),
            num_classes=spec.num_classes,
            ignore=frozenset(spec.ignore),
            read=scan.read,
            jobs=scan.jobs,
            skip_bad=scan.skip_bad,
            on_file=lambda path: bar.update(),
        )
    if output_format == "table":
        from .check_table import render_check

        if output is None:
            render_check(report, sys.stdout)
        else:
            text = io.StringIO()
            render_check(report, text)
            write_text(text.getvalue(), output)
    else:
        write_text(RECORD_FORMATS[output_format](report.record()), output)
    if not report.clean:
        ctx.exit(1)


def _stats_output(function: F) -> F:
    """-o/--output for statistics files (JSON only; stdout when not given)."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path, dir_okay=False),
        callback=_check_output,
        default=None,
        help="Write the statistics to this file (atomically) instead of stdout.",
    )(function)


@cli.command()
@mask_options
@_stats_output
def scan(scan: ScanRequest, output: Path | None) -> None:
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
    from .formats import to_json
    from .output import write_text
    from .stats import StatsFile, files_digest, stats_record

    scanned = scan_masks(scan, LabelSpec())
    stats = StatsFile(
        counts=scanned.counts,
        files=len(scanned.files),
        files_digest=files_digest(f if isinstance(f, Path) else str(f) for f in scanned.files),
        source=scanned.source(scan),
        label_mapping=scan.read.label_mapping(),
    )
    write_text(to_json(stats_record(stats)), output)


@cli.command()
@click.argument(
    "stats_files",
    metavar="STATS.json...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
)
@_stats_output
def merge(stats_files: tuple[Path, ...], output: Path | None) -> None:
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
    from .formats import to_json
    from .output import write_text
    from .stats import load_stats, merge_stats, repeated_shards, stats_record

    parts = [(str(path), load_stats(path)) for path in stats_files]
    for first, second in repeated_shards(parts):
        warn(f"{first} and {second} list the same files (same digest): one shard given twice?")
    write_text(to_json(stats_record(merge_stats(parts))), output)


def _check_plot(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    from .plot import PLOT_SUFFIXES

    if value is not None and value.suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"'{value}' must end in {' or '.join(PLOT_SUFFIXES)}", ctx, param)
    return _check_output(ctx, param, value)


@_with_definitions
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
@click.option(
    "-f",
    "--format",
    "output_format",
    type=click.Choice(list(HISTOGRAM_FORMATS)),
    default="table",
    show_default=True,
    help="A table for people, or the same numbers for machines.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_check_output,
    default=None,
    help="Write to this file (atomically) instead of stdout.",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_check_plot,
    default=None,
    help="Also draw a bar chart to FILE.png or FILE.svg (needs: pip install 'mfb-cli[plot]').",
)
@click.option("--log", is_flag=True, help="Log scale for --plot.")
def histogram(
    scan: ScanRequest,
    from_path: Path | None,
    spec: LabelSpec,
    names: dict[int, str],
    sort: str,
    output_format: str,
    output: Path | None,
    plot: Path | None,
    log: bool,
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
    from .histogram import histogram_record
    from .output import write_text

    counts, stats, source = class_stats_for(scan, spec, from_path)
    record = histogram_record(counts, stats, source, names=names, sort=sort)
    if plot is not None:
        from .plot import plot_histogram

        plot_histogram(record, plot, log=log)
    if output_format == "table" and output is None and sys.stdout.isatty():
        from .report import render_histogram

        text = render_histogram(record, width=None, color=True)
    else:
        text = HISTOGRAM_FORMATS[output_format](record)
    write_text(text, output)


def main() -> None:
    """Console-script entry point: SIGTERM stops a run as cleanly as Ctrl-C does."""
    signal.signal(signal.SIGTERM, _raise_terminated)
    cli(prog_name="mfb")
