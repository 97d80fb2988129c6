"""Command-line options shared by the mfb commands, each defined once.

Each decorator hands the command one typed object (``ScanRequest``, ``LabelSpec``) instead
of a dozen loose keyword arguments, so a new reading option is added in one place.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from .classes import LabelSpec
from .decode import DECODERS, DEFAULT_MAX_PIXELS, FAST_EXTRA_HINT, ReadOptions, fast_modules
from .errors import MfbError
from .sources import DEFAULT_GLOB
from .weighting import SCHEMES

F = TypeVar("F", bound=Callable[..., Any])

CLASS_DEFINITIONS = """\b
Definitions:
  --void ID    a class channel of the model that must not be learned (CamVid's 11):
               it keeps its place in the vector, with weight 0.
  --ignore ID  a value that is not a class (PyTorch's ignore_index, e.g. 255): no entry
               in the vector, its pixels never count.
  labelled     pixels that are neither void nor ignored.
  absent       classes never seen keep their id (weights: weight 0, with a warning).
"""


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
                "image, colour, JPEG, too large, colours missing from --colormap as JPEG or "
                "resizing leaves them): one line each on stderr, listed in the output as "
                "skipped_files. Labels out of range and values --map lacks still stop the run.",
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
                type=click.IntRange(min=1, max=65_536),  # classes.MAX_CLASSES
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


def check_output_path(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """Fail before a long scan, not after it, when the output cannot be written."""
    if value is None or str(value) == "-":
        return None
    if value.is_dir():
        raise click.BadParameter(f"'{value}' is a folder", ctx, param)
    if not value.parent.is_dir():
        raise click.BadParameter(f"folder '{value.parent}' does not exist", ctx, param)
    return value


def output_option(
    help: str = "Write to this file (atomically) instead of stdout.",
) -> Callable[[F], F]:
    """-o/--output FILE, checked before any work is done."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path, dir_okay=False),
        callback=check_output_path,
        default=None,
        help=help,
    )


def format_option(
    choices: Iterable[str], default: str, help: str = "Output format."
) -> Callable[[F], F]:
    """-f/--format, its choices taken from a formats registry."""
    return click.option(
        "-f",
        "--format",
        "output_format",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help=help,
    )


def output_options(function: F) -> F:
    """-f/--format (the weights formats registry) and -o/--output."""
    from .formats import FORMATS

    return _apply(function, [format_option(FORMATS, "json"), output_option()])


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
        "scanning PATH... (the same output, no image read). Reading options are not used, "
        "but a --colormap or --map other than the scan's is an error.",
    )(function)


def with_definitions(command: click.Command) -> click.Command:
    # Appended after cleandoc: the shared text must not change the docstring's indentation.
    command.help = (
        inspect.cleandoc(command.help or "") + "\n\n" + CLASS_DEFINITIONS + "\n" + MAPPING_ORDER
    )
    return command


def scheme_help() -> str:
    """The --help list of schemes, from the first line of each scheme's docstring."""
    width = max(map(len, SCHEMES)) + 2
    lines = [
        f"  {name:<{width}}{(function.__doc__ or '').strip().splitlines()[0]}"
        for name, function in SCHEMES.items()
    ]
    return "\b\nSchemes (--scheme; void and absent classes get 0 in every one):\n" + "\n".join(
        lines
    )


def with_schemes(command: click.Command) -> click.Command:
    # Applied after with_definitions, whose cleandoc needs the docstring's own indentation.
    command.help = (command.help or "") + "\n\n" + scheme_help()
    return command


def scheme_option_default(scheme: str, name: str) -> Any:
    """A scheme option's default, taken from the scheme function (one source of truth)."""
    return inspect.signature(SCHEMES[scheme]).parameters[name].default


def scheme_options(ctx: click.Context, scheme: str, given: dict[str, Any]) -> dict[str, Any]:
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
