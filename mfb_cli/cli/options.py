"""Command-line options shared by the mfb commands, each defined once.

Each option is one module-level object (``glob_opt``, ``void_opt``...); the lists
``MASK_OPTIONS`` and ``CLASS_OPTIONS`` hold them in --help order, and the decorators
``mask_options`` / ``class_options`` apply a list and hand the command one typed object
(``request: ScanRequest``, ``spec: LabelSpec``) built from the options' names, so a new
reading option is one ``click.option`` and one field.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from ..class_set import MAX_CLASSES
from ..count.connectivity import Connectivity
from ..count.pools import POOLS, Pool
from ..errors import MfbError, OptionError
from ..read.options import (
    COUNT_MODES,
    DECODERS,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_TOTAL_PIXELS,
    ReadOptions,
)
from ..read.sources.find import DEFAULT_GLOB
from ..weigh.spec import LabelSpec
from .messages import cli_text
from .outputs import claim_output as claim_output  # split.py claims its list files
from .outputs import claim_stdout

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ScanRequest:
    """What to scan and how, as given on the command line."""

    paths: tuple[Path | str, ...]
    glob: str
    jobs: int | None
    quiet: bool
    read: ReadOptions
    skip_bad: bool = False
    lists: tuple[Path, ...] = ()
    column: int | None = None
    root: Path | None = None
    suffix: str = ""
    #: --dask ADDRESS: scan on a Dask cluster instead of this process's threads.
    dask: str | None = None
    parquet_column: str | None = None
    pool: Pool = "auto"
    #: --geometry: also measure each class's connected components, with this connectivity.
    geometry: Connectivity | None = None


def apply_all(function: F, decorators: Iterable[Callable[[Any], Any]]) -> F:
    """``function`` decorated by each of ``decorators``, the first one outermost (as listed)."""
    for decorator in reversed(list(decorators)):
        function = decorator(function)
    return function


class FiniteFloatRange(click.FloatRange):
    """A float option's type: 'inf' and 'nan' are usage errors, whatever the range.

    Python's float() accepts both, and a range check lets nan through (every comparison
    with nan is false); no mfb option has a meaning for either.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


#: Label ids and counts are computed in signed 64-bit integers: larger ones are no labels.
INT64_MAX = 2**63 - 1


class Int64Range(click.IntRange):
    """An integer range within signed 64 bits whose 64-bit bounds read as powers of two
    (-2^63<=x<2^63 in help and messages), never the 19-digit numbers that a help column
    would wrap in the middle."""

    def _describe_range(self) -> str:
        low = "" if self.min is None else f"{self.min}<="
        high = "" if self.max is None else f"<={self.max}"
        if self.min == -INT64_MAX - 1:
            low = "-2^63<="
        if self.max == INT64_MAX:
            high = "<2^63"
        return f"{low}x{high}"


LABEL_ID = Int64Range(min=-INT64_MAX - 1, max=INT64_MAX)

#: More threads than this only cost memory: decoding is bound by cores and disks.
MAX_JOBS = 1024


def _id_or_error(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """'error' (the default: fail loudly) as None, or an integer label id."""
    if value is None or value.lower() == "error":
        return None
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither 'error' nor an integer id") from None
    return LABEL_ID.convert(number, param, ctx)


def _load_table(loader_name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def load(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        from ..read.labels import colormaps, remap

        loader = getattr(colormaps if loader_name == "colormap" else remap, f"load_{loader_name}")
        refuse_output_as_input(value)  # a built-in's name is no file, and passes
        try:
            return loader(value)
        except MfbError as error:
            from ..read.base.urls import is_url

            if is_url(value) or Path(value).exists():  # a table that cannot be used: data
                raise
            raise click.BadParameter(cli_text(error), ctx, param) from error

    return load


def _builtin_names(kind: str) -> list[str]:
    from ..read.labels import builtins

    return list(builtins.COLORMAPS if kind == "colormap" else builtins.REMAPS)


def _complete_table(kind: str) -> Callable[[click.Context, click.Parameter, str], list[Any]]:
    """Shell completion of --colormap / --map: the built-in tables, then files.

    The file item comes first: bash's script (Click's) clears its list on a file item and
    falls back to file names only when no built-in name matches; zsh and fish offer both.
    """

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        from ..read.labels import builtins

        table = builtins.COLORMAPS if kind == "colormap" else builtins.REMAPS
        return [
            CompletionItem(incomplete, type="file"),
            *(
                CompletionItem(name, help=description)
                for name, description in table.items()
                if name.startswith(incomplete)
            ),
        ]

    return complete


def _complete_words(*words: str) -> Callable[[click.Context, click.Parameter, str], list[Any]]:
    """Shell completion of an option's fixed words ('error' of --unknown-color...)."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(word) for word in words if word.startswith(incomplete)]

    return complete


def _removed_by_color(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        raise click.UsageError(
            "--by-color was removed: with --colormap, palette images are now read by colour "
            "(pass --palette-index to read their indices)",
            ctx,
        )


# Each reading option, defined once (rasterio's ``rio`` style). Every destination name is
# the library's name for the value: a ``ScanRequest`` field (paths, glob, jobs, quiet,
# skip_bad, lists, column, root, suffix) or a ``ReadOptions`` field (the rest), so that
# ``mask_options`` builds both objects from the names alone and the CLI spells a library
# error's parameter with the option's own flag (``remap`` -> --map).
class PathOrUrl(click.Path):
    """A local path (a Path) or a URL read through fsspec (kept as written, a str)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..read.base.urls import is_url

        return value if is_url(value) else super().convert(value, param, ctx)


paths_arg = click.argument(
    "paths", nargs=-1, required=False, metavar="[PATH]...", type=PathOrUrl(path_type=Path)
)
glob_opt = click.option(
    "--glob",
    metavar="PATTERN",
    default=DEFAULT_GLOB,
    show_default=True,
    help="File pattern in folders and archives (case-insensitive; with a '/', of the "
    "path below the folder, '**/' any folders).",
)
jobs_opt = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1, max=MAX_JOBS),
    metavar="N",
    default=None,
    help="Files read in parallel. [default: all cores]",
)
pool_opt = click.option(
    "--pool",
    type=click.Choice(list(POOLS)),
    metavar="POOL",
    default="auto",
    show_default=True,
    help=f"How files are read in parallel: {', '.join(POOLS)} (results are identical).",
)
quiet_opt = click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar, no 'wrote FILE' line."
)
max_pixels_opt = click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    metavar="N",
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse larger images (decompression bomb guard).",
)
max_total_pixels_opt = click.option(
    "--max-total-pixels",
    type=click.IntRange(min=1),
    metavar="N",
    default=DEFAULT_MAX_TOTAL_PIXELS,
    show_default=True,
    help="Refuse a volume or raster (read in slices or tiles) holding more; --max-pixels "
    "then guards one slice or band.",
)
count_nodata_opt = click.option(
    "--no-nodata",
    "count_nodata",
    is_flag=True,
    help="Count a GeoTIFF's nodata pixels (GDAL_NODATA) as their value; by default they are "
    "left out of the counts, as GDAL masks them.",
)
volume_opt = click.option(
    "--volume",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Count volume N (from 0) of a 4D label file; 2D and 3D files are read as they are. "
    "[default: 4D files are refused]",
)
count_opt = click.option(
    "--count",
    type=click.Choice(list(COUNT_MODES)),
    metavar="HOW",
    default="voxels",
    show_default=True,
    help=f"What one voxel adds to its class: {' or '.join(COUNT_MODES)} (its volume in mm^3, "
    "from the header's spacing).",
)
decoder_opt = click.option(
    "--decoder",
    type=click.Choice(list(DECODERS)),
    metavar="DECODER",
    default="auto",
    show_default=True,
    help=f"How PNGs are decoded: {', '.join(DECODERS)} (counts are identical).",
)
skip_bad_opt = click.option(
    "--skip-bad",
    is_flag=True,
    help="Leave out files that cannot be read as masks, named on stderr and in the output; "
    "labels out of range still stop the run.",
)
list_opt = click.option(
    "--list",
    "lists",
    multiple=True,
    type=PathOrUrl(path_type=Path, dir_okay=False, exists=True, allow_dash=True),
    help="A file listing label paths, or 'image label' pairs (repeatable; '-': stdin); "
    "relative paths resolve against its folder.",
)
column_opt = click.option(
    "--column",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="The column of a --list line that holds the label path (1-based). [default: the last]",
)
root_opt = click.option(
    "--root",
    type=PathOrUrl(path_type=Path, file_okay=False, exists=True),
    metavar="DIR",
    default=None,
    help="Resolve relative --list paths against this folder instead.",
)
suffix_opt = click.option(
    "--suffix",
    metavar="SUFFIX",
    default="",
    help="Append this to every --list entry (split files of bare names, e.g. .png).",
)
parquet_column_opt = click.option(
    "--parquet-column",
    metavar="NAME",
    default=None,
    help="The image column of .parquet shards (an Image struct, as Hugging Face "
    "stores them). [default: the only one]",
)
colormap_opt = click.option(
    "--colormap",
    metavar="FILE|NAME",
    callback=_load_table("colormap"),
    shell_complete=_complete_table("colormap"),
    help="Read colour-coded masks with this colour table (.json, .yaml, .csv, .txt) or "
    "a built-in: " + ", ".join(_builtin_names("colormap")) + ".",
)
palette_index_opt = click.option(
    "--palette-index",
    is_flag=True,
    help="With --colormap, read palette images by index instead of by colour.",
)
removed_by_color_opt = click.option(
    "--by-color", is_flag=True, hidden=True, expose_value=False, callback=_removed_by_color
)
unknown_color_opt = click.option(
    "--unknown-color",
    metavar="error|ID",
    callback=_id_or_error,
    shell_complete=_complete_words("error"),
    default=None,
    help="Colours not in --colormap: 'error', or the id to give them (then --ignore or "
    "--void it). [default: error]",
)
transparent_opt = click.option(
    "--transparent",
    metavar="error|ID",
    callback=_id_or_error,
    shell_complete=_complete_words("error"),
    default=None,
    help="Fully transparent pixels: 'error', or the id to give them (e.g. 255 with "
    "--ignore 255). [default: error]",
)
map_opt = click.option(
    "--map",
    "remap",
    metavar="FILE|NAME",
    callback=_load_table("remap"),
    shell_complete=_complete_table("remap"),
    help="Remap ids old -> new after --colormap: a table (.json, .yaml, .csv) or a "
    "built-in: " + ", ".join(_builtin_names("remap")) + ".",
)
unmapped_opt = click.option(
    "--unmapped",
    metavar="error|ID",
    callback=_id_or_error,
    shell_complete=_complete_words("error"),
    default=None,
    help="Values --map does not list: 'error', or the id to give them. [default: error]",
)


def _load_dataset(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None:
        return None
    from ..read.labels.datasets import load_dataset_json

    refuse_output_as_input(value)
    return load_dataset_json(value)


dataset_json_opt = click.option(
    "--dataset-json",
    "dataset",
    metavar="FILE",
    type=PathOrUrl(path_type=Path, dir_okay=False, exists=True),
    callback=_load_dataset,
    help="An nnU-Net v2 or MSD dataset.json: its labels give the class set, names, ignored "
    "value and regions (a dataset folder as PATH reads its own).",
)

#: PATH... and every option saying how to read it, in --help order. A command that reads
#: masks applies them all with ``mask_options``; this list is for one that needs them bare.
MASK_OPTIONS: list[Callable[[Any], Any]] = [
    paths_arg,
    glob_opt,
    jobs_opt,
    pool_opt,
    quiet_opt,
    max_pixels_opt,
    max_total_pixels_opt,
    count_nodata_opt,
    volume_opt,
    count_opt,
    decoder_opt,
    skip_bad_opt,
    list_opt,
    column_opt,
    root_opt,
    suffix_opt,
    parquet_column_opt,
    colormap_opt,
    palette_index_opt,
    removed_by_color_opt,
    unknown_color_opt,
    transparent_opt,
    map_opt,
    unmapped_opt,
    dataset_json_opt,
]

# dask and geometry are filled in by dask_option and geometry_options, on the commands
# that have them.
_REQUEST_FIELDS = tuple(
    f.name for f in fields(ScanRequest) if f.name not in ("read", "dask", "geometry")
)
#: ReadOptions a command sets itself, never an option (mfb report asks for thumbnails).
_NOT_OPTIONS = frozenset({"thumbnail"})
_READ_FIELDS = tuple(f.name for f in fields(ReadOptions) if f.name not in _NOT_OPTIONS)


def mask_options(function: F) -> F:
    """PATH... and how to read them, passed to the command as ``request: ScanRequest``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..read.labels.datasets import labels_glob, with_dataset_folders

        values = {name: kwargs.pop(name) for name in _READ_FIELDS}
        given = {name: kwargs.pop(name) for name in _REQUEST_FIELDS}
        given["paths"], values["dataset"] = with_dataset_folders(given["paths"], values["dataset"])
        if values["dataset"] is not None and not _given(click.get_current_context(), "glob"):
            given["glob"] = labels_glob(values["dataset"])
        try:
            read = ReadOptions(**values)
        except OptionError as error:  # options that contradict each other: a usage error
            raise click.UsageError(cli_text(error)) from error
        return function(*args, request=ScanRequest(read=read, **given), **kwargs)

    return apply_all(cast(F, wrapper), MASK_OPTIONS)


void_opt = click.option(
    "--void",
    type=LABEL_ID,
    multiple=True,
    metavar="ID",
    help="Class id kept in the vector with weight 0 (repeatable).",
)
ignore_opt = click.option(
    "--ignore",
    type=LABEL_ID,
    multiple=True,
    metavar="ID",
    help="Value that is not a class, e.g. 255: no entry in the vector (repeatable).",
)
num_classes_opt = click.option(
    "--num-classes",
    type=click.IntRange(min=1, max=MAX_CLASSES),
    metavar="K",
    default=None,
    help="Length of the class vector; larger labels are an error. [default: "
    "--colormap/--map's class set, else largest label + 1]",
)
#: --void, --ignore, --num-classes in --help order (``class_options`` applies them).
CLASS_OPTIONS: list[Callable[[Any], Any]] = [void_opt, ignore_opt, num_classes_opt]


def class_options(function: F) -> F:
    """--void, --ignore, --num-classes, passed to the command as ``spec: LabelSpec``."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = [kwargs.pop(name) for name in ("num_classes", "void", "ignore")]
        try:
            spec = LabelSpec.of(*given)
        except OptionError as error:  # the options alone contradict each other: exit 2
            raise click.UsageError(cli_text(error)) from error
        return function(*args, spec=spec, **kwargs)

    return apply_all(cast(F, wrapper), CLASS_OPTIONS)


def _load_names(ctx: click.Context, param: click.Parameter, value: Path | None) -> dict[int, str]:
    from ..read.labels.names import load_class_names

    if value is None:
        return {}
    refuse_output_as_input(value)
    return load_class_names(value)


#: --names FILE, passed to the command as ``names: dict[int, str]``.
names_option = click.option(
    "--names",
    type=PathOrUrl(path_type=Path, dir_okay=False, exists=True),
    callback=_load_names,
    help="Class names: a text file (one per line, line number = id), or a JSON/YAML list "
    "or mapping.",
)


def check_output_path(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """Fail before a long scan, not after it, when the output cannot be written, or when
    another output of the run names the same file (``outputs.claim_output``).

    Eager, so it runs before the callbacks that read tables: the output's identity is
    recorded for ``refuse_output_as_input``, which every input is checked against.
    """
    from ..read.base.urls import is_url
    from ..show.output import output_target, stdout_is_closed

    if is_url(value):  # written in one put at the end; its backend is checked now
        from ..read.sources.remote import filesystem

        try:
            filesystem(str(value))
        except MfbError as error:
            raise click.BadParameter(str(error), ctx, param) from None
        return value
    if value is None or str(value) == "-":
        if stdout_is_closed() and param.name == "output":
            raise click.ClickException("cannot write to stdout: it is closed; give -o FILE")
        if param.name == "output":  # -o is eager: every other output is claimed by now
            claim_stdout(ctx)
        return None

    try:
        target, direct = output_target(value)
    except OSError as error:
        raise click.BadParameter(f"'{value}': {error.strerror}", ctx, param) from None
    if target.is_dir():
        raise click.BadParameter(f"'{value}' is a folder", ctx, param)
    flag = "-o" if param.name == "output" else max(param.opts, key=len)  # --per-image
    other = claim_output(ctx, value, target, f"{flag} '{value}'")
    if other is not None:
        raise click.BadParameter(f"'{value}' is also {other}", ctx, param)
    if not direct and not target.parent.is_dir():
        raise click.BadParameter(f"folder '{target.parent}' does not exist", ctx, param)
    return value


def outputs_given() -> bool:
    """Whether this command writes a file (-o, --plot...) that an input must not be."""
    context = click.get_current_context(silent=True)
    return context is not None and bool(context.meta.get("mfb.outputs"))


def refuse_output_as_input(path: Path | str) -> None:
    """A usage error when ``path`` is the file -o (or --plot) would write: checked
    before the input is read, so the run never reads its own output or overwrites its input.
    """
    context = click.get_current_context(silent=True)
    outputs = {} if context is None else context.meta.get("mfb.outputs", {})
    if not outputs:
        return
    try:
        found = Path(path).stat()
    except OSError:
        return  # the reader reports a missing file in its own words
    where = outputs.get((found.st_dev, found.st_ino))
    if where is not None:
        raise click.UsageError(
            f"{where} is one of the inputs ({path}); write the output to another file"
        )


def output_option(
    help: str = "Write to this file (atomically) instead of stdout.",
) -> Callable[[F], F]:
    """-o/--output FILE, checked before any work is done (and before any input is read)."""
    return click.option(
        "-o",
        "--output",
        type=PathOrUrl(path_type=Path, dir_okay=False),
        callback=check_output_path,
        is_eager=True,
        default=None,
        help=help,
    )


def format_option(
    choices: Iterable[str], default: str, help: str = "Output format: {choices}."
) -> Callable[[F], F]:
    """-f/--format, its choices taken from a formats registry (``{choices}`` in ``help``
    lists them)."""
    names = list(choices)
    return click.option(
        "-f",
        "--format",
        "output_format",
        type=click.Choice(names),
        metavar="FORMAT",
        default=default,
        show_default=True,
        help=help.format(choices=", ".join(names)),
    )


def output_options(function: F) -> F:
    """-f/--format (the weights formats registry) and -o/--output."""
    from ..show.weights_formats import WEIGHTS_FORMATS

    return apply_all(function, [format_option(WEIGHTS_FORMATS, "json"), output_option()])


#: --from STATS.json: the counts from 'mfb scan''s file instead of scanning PATH...
#: (``class_stats_for`` requires exactly one of the two).
from_option = click.option(
    "--from",
    "from_path",
    type=PathOrUrl(path_type=Path, dir_okay=False),
    default=None,
    help="Read the counts from a statistics file written by 'mfb scan' instead of "
    "scanning PATH... (the same output, no image read).",
)


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the user typed the option (its value did not come from the default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT


def refuse_unused(ctx: click.Context, rules: Iterable[tuple[str, bool, str]]) -> None:
    """A usage error (exit 2) for an option given where it would have no effect.

    ``rules`` are (parameter name, whether it applies here, why it does not); an option the
    command lacks is skipped. A silently ignored option is a run the user did not ask for.
    """
    for name, applies, why in rules:
        if not applies and _given(ctx, name):
            param = next(p for p in ctx.command.params if p.name == name)
            flag = max(param.opts, key=len)
            if param.secondary_opts:  # a --x/--y switch: the user may have typed either
                flag = "/".join([flag, *param.secondary_opts])
            raise click.UsageError(f"{flag} has no effect {why}", ctx)


#: Options that only say how images are read: nothing to do when counts come from --from.
#: (--suffix, where a --list option adds it, is one too; options a command lacks are skipped.)
_READING = (
    "glob",
    "jobs",
    "pool",
    "decoder",
    "skip_bad",
    "max_pixels",
    "max_total_pixels",
    "count_nodata",
    "volume",
    "count",
    "lists",
    "column",
    "root",
    "suffix",
    "dask",
    "parquet_column",
    "geometry",
    "connectivity",
)


def refuse_unused_reading(ctx: click.Context, request: ScanRequest, from_path: Path | None) -> None:
    """The reading options that cannot apply to this run are usage errors."""
    from ..read.sources.archives import is_archive

    no_image = "with --from: no image is read"
    refuse_unused(
        ctx,
        [
            *((name, from_path is None, no_image) for name in _READING),
            (
                "glob",
                any(isinstance(p, str) or not p.is_file() or is_archive(p) for p in request.paths),
                "without a folder or archive in PATH...: it chooses the files in folders "
                "and archives; files named directly or listed are never filtered",
            ),
            ("column", bool(request.lists), "without --list"),
            ("root", bool(request.lists), "without --list"),
            ("suffix", bool(request.lists), "without --list"),
        ],
    )
