"""``mfb sampling`` and ``mfb priors``: sampling schemes and class priors from the counts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..read.base.urls import named, shown_path
from ..show.output import one_line
from ..weigh.sampling_schemes import ROUNDINGS, SAMPLING_SCHEMES
from .dask_option import dask_option
from .help import with_definitions
from .messages import wrote
from .options import (
    FiniteFloatRange,
    PathOrUrl,
    ScanRequest,
    check_output_path,
    class_options,
    format_option,
    from_option,
    mask_options,
    output_option,
    refuse_output_as_input,
    refuse_unused,
    refuse_unused_reading,
)
from .panels import MfbCommand
from .patch_option import PATCH_DETAILS, patch_option, refuse_patch_with
from .scanning import Scanned, class_stats_for, scan_masks, warn_all, with_ignore

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._types import Int64Array
    from ..count.patches import PatchCounts, PatchGrid
    from ..count.per_image import ImageCounts
    from ..read.base.chunks import LabelHeader
    from ..read.sources.archives import LabelSource
    from ..weigh.spec import LabelSpec

_FORMATS = ("json", "csv", "table", "torch", "mmengine", "windows", "torchgeo")


def scan_with_per_image(
    scan: ScanRequest, spec: LabelSpec | None, path: Path, patch: PatchGrid | None = None
) -> Scanned:
    """Scan, streaming one JSON line per counted image (or per patch of ``patch``) to
    ``path`` (renamed in on success)."""
    from ..count.per_image import PerImageWriter
    from ..read.labels.class_sets import recorded_mapping
    from ..show.output import output_target

    target, direct = output_target(path)  # a link followed, a device written through
    grid = None if patch is None else {"size": patch.size, "stride": patch.stride}
    mapping = recorded_mapping(scan.read)
    with PerImageWriter(target, mapping, direct=direct, patch=grid) as writer:
        if patch is not None:
            headers_of: dict[LabelSource, LabelHeader] = {}

            def on_patches(source: LabelSource, found: list[PatchCounts]) -> None:
                writer.add_patches(str(source), found, headers_of.pop(source, None))

            return scan_masks(scan, spec, None, None, headers_of.__setitem__, patch, on_patches)
        components: list[Int64Array] = []  # of the file on_image gets next (--geometry)
        headers: dict[LabelSource, LabelHeader] = {}  # a volume's, until its on_image

        def on_header(source: LabelSource, header: LabelHeader) -> None:
            headers[source] = header

        def on_image(source: LabelSource, ids: Int64Array, pixels: Int64Array) -> None:
            shapes = components.pop() if components else None
            writer.add(str(source), ids, pixels, shapes, headers.pop(source, None))

        return scan_masks(
            scan, spec, on_image, lambda source, found: components.append(found), on_header
        )


def merge_per_image(paths: tuple[Path, ...], output: Path | None, quiet: bool) -> None:
    """Concatenate per-image shards to -o (atomically) or stdout, streaming line by line."""
    import sys

    from ..count.per_image import PerImageWriter, concatenated_lines

    mixed = [shown_path(path) for path in paths if named(path).suffix != ".jsonl"]
    if mixed:
        raise click.UsageError(
            f"{mixed[0]} is not a per-image file (*.jsonl): merge statistics files and "
            "per-image files separately"
        )
    lines = concatenated_lines(paths)
    from ..show.output import begin_stdout, encodable, output_target

    if output is None:
        begin_stdout()
        for line in lines:
            sys.stdout.write(encodable(line))  # a name's stray byte as its JSON escape
        return

    target, direct = output_target(output)
    with PerImageWriter(target, None, direct=direct) as writer:
        for line in lines:
            writer.write_line(line)
    wrote(output, f"per-image statistics of {len(paths)} shards", quiet)


def images_for(
    scan: ScanRequest,
    spec: LabelSpec,
    from_paths: tuple[Path, ...],
    patch: PatchGrid | None = None,
) -> tuple[list[ImageCounts], Any, dict[str, Any]]:
    """Per-image counts, their totals and source: from --from files or a scan of PATH...
    (each patch of ``patch`` an image, as a per-image file of patches gives them)."""
    import numpy as np

    from ..count.per_image import ImageCounts, load_per_image

    if from_paths and (scan.paths or scan.lists):
        raise click.UsageError("give PATH... or --from IMAGES.jsonl, not both (nor --list)")
    if not from_paths and not scan.paths and not scan.lists:
        raise click.UsageError("give PATH... to scan, or --from IMAGES.jsonl (or --list FILE)")
    if scan.read.dataset is not None:  # a dataset.json's ignore value, for the scan's check
        spec = with_ignore(spec, scan.read.dataset.ignore)
    if from_paths:
        from ..read.labels.class_sets import same_mapping

        for path in from_paths:
            refuse_output_as_input(path)
        loaded = load_per_image(from_paths)
        wanted = scan.read.label_mapping()
        if wanted and not same_mapping(wanted, loaded.label_mapping):
            raise click.ClickException(
                f"{shown_path(from_paths[0])}: scanned with a different label mapping than the "
                "options given; rescan, or drop the colour map / remap options"
            )
        source = {"per_image": [shown_path(p) for p in from_paths], "files": len(loaded.images)}
        if loaded.label_mapping:
            source["label_mapping"] = loaded.label_mapping
        if loaded.patch is not None:
            from ..count.patches import PatchGrid

            source["patch"] = PatchGrid(**loaded.patch).describe()
        return list(loaded.images), loaded.counts, source
    if patch is not None:
        return _patches_of_scan(scan, spec, patch)
    images: list[ImageCounts] = []

    def on_image(path: LabelSource, ids: Int64Array, pixels: Int64Array) -> None:
        keep = pixels > 0
        images.append(
            ImageCounts(
                str(path),
                tuple(ids[keep].tolist()),
                tuple(np.asarray(pixels)[keep].tolist()),
            )
        )

    scanned = scan_masks(scan, spec, on_image)
    return images, scanned.counts, scanned.source(scan)


def _patches_of_scan(
    scan: ScanRequest, spec: LabelSpec, patch: PatchGrid
) -> tuple[list[ImageCounts], Any, dict[str, Any]]:
    """Every patch of the scanned files as an image, and the patches' totals (as a
    per-image file of patches would give them: overlapping pixels count once per patch)."""
    from ..count.counts import CountsAccumulator
    from ..count.per_image import ImageCounts, geo_fields

    images: list[ImageCounts] = []
    totals = CountsAccumulator()
    headers: dict[LabelSource, LabelHeader] = {}

    def on_patches(path: LabelSource, found: list[PatchCounts]) -> None:
        geo = geo_fields(headers.pop(path, None))
        for window, ids, pixels in found:
            images.append(
                ImageCounts(
                    str(path), tuple(ids.tolist()), tuple(pixels.tolist()), None, None, window, geo
                )
            )
            totals.add(ids, pixels)

    scanned = scan_masks(scan, spec, None, None, headers.__setitem__, patch, on_patches)
    from dataclasses import replace

    counts = replace(totals.result(), warnings=scanned.counts.warnings)
    return images, counts, {**scanned.source(scan), "patch": patch.describe()}


def image_class_stats(
    counts: Any,
    spec: LabelSpec,
    scan: ScanRequest,
    source: dict[str, Any],
    images: Sequence[ImageCounts] = (),
) -> Any:
    """The class statistics of the counts; a label without a class in a per-image file is
    named by the file and the first image holding it (a scan names its file as it reads)."""
    from dataclasses import replace

    import numpy as np

    from ..errors import LabelRangeError
    from ..read.labels.class_sets import class_set_in, class_set_of
    from ..read.labels.datasets import recorded_ignore
    from ..weigh.classes import class_stats, label_check

    found = class_set_of(scan.read) or class_set_in(source.get("label_mapping", {}))
    spec = with_ignore(spec, recorded_ignore(source.get("label_mapping", {})))
    spec = replace(spec, class_set=found)
    try:
        return class_stats(counts, spec)
    except LabelRangeError as error:
        if "per_image" not in source:
            raise
        where = ", ".join(source["per_image"])
        check = label_check(spec)
        for image in images:
            check(f"{where}: {image.shown}", np.asarray(image.ids, dtype=np.int64))
        raise LabelRangeError(f"{where}: ", *error.parts) from error


def _check_daformer(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The folder, and each of the three files it receives claimed as an output of the run
    (-o DIR/sample_class_stats.json would replace one of them)."""
    from ..show.output import output_target
    from ..show.sampling import DAFORMER_FILES
    from .outputs import claim_output

    if value is None:
        return None
    # click's file_okay=False lets a device or FIFO through (not a regular file): refuse it
    # before anything is read, as a usage error, not 'File exists' after the scan.
    if value.exists() and not value.is_dir():
        raise click.BadParameter(f"'{value}' exists and is not a folder", ctx, param)
    for name in DAFORMER_FILES:
        path = value / name
        try:
            target, _ = output_target(path)
        except OSError as error:
            raise click.BadParameter(f"'{path}': {error.strerror}", ctx, param) from None
        if target.is_dir():
            raise click.BadParameter(f"'{path}' is a folder", ctx, param)
        other = claim_output(ctx, path, target, f"--daformer '{value}' ({name})")
        if other is not None:
            raise click.BadParameter(f"'{path}' is also {other}", ctx, param)
    return value


def _check_plot(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    from ..show.plot import PLOT_SUFFIXES

    if value is not None and value.suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"'{value}' must end in {' or '.join(PLOT_SUFFIXES)}", ctx, param)
    return check_output_path(ctx, param, value)


SAMPLING_DETAILS = (
    """\
repeat-factor (default): LVIS repeat factors, r(I) = max over the classes in I of
max(1, sqrt(t / f(c))), f(c) = share of images containing c. rare-class: DAFormer's
RCS, P(c) = softmax((1 - f_c) / T) over the classes present, then an image uniformly
among those with more than --min-pixels of c. weighted: w(I) = max over the classes in
I of N / images(c), for PyTorch's WeightedRandomSampler. Void and ignored ids never
drive sampling. The effect: per class, the dataset's pixel and image shares beside
those of one drawn sample, computed exactly from the per-image counts. --daformer
writes DAFormer's three files byte for byte as its converter writes them.
--patch (or --from a per-image file of patches) samples patches as images. -f windows
lists each patch's file, window, weight and probability (and CRS bounds when its
raster's geotransform is known); -f torchgeo prints a sampler drawing those windows (a
torchgeo 0.8 GeoSampler yielding CRS slices, or pixel windows without a geotransform).
"""
    + "\n"
    + PATCH_DETAILS
)


@with_definitions
@click.command(cls=MfbCommand, details=SAMPLING_DETAILS)
@mask_options
@dask_option
@class_options
@click.option(
    "--from",
    "from_paths",
    type=PathOrUrl(path_type=Path, dir_okay=False),
    multiple=True,
    metavar="IMAGES.jsonl",
    help="Read per-image statistics written by 'mfb scan --per-image' instead of scanning "
    "PATH... (repeatable: shards in order).",
)
@click.option(
    "--scheme",
    type=click.Choice(list(SAMPLING_SCHEMES)),
    metavar="SCHEME",
    default="repeat-factor",
    show_default=True,
    help=f"Sampling scheme: {', '.join(SAMPLING_SCHEMES)} (defined below).",
)
@click.option(
    "--threshold",
    type=FiniteFloatRange(min=0, min_open=True),
    metavar="T",
    default=0.1,
    show_default=True,
    help="repeat-factor: t in r(c) = max(1, sqrt(t / f(c))); classes in fewer than a "
    "share t of the images repeat.",
)
@click.option(
    "--rounding",
    type=click.Choice(ROUNDINGS),
    metavar="HOW",
    default="ceil",
    show_default=True,
    help="repeat-factor: ceil (mmengine's ClassBalancedDataset) or stochastic "
    "(detectron2's sampler).",
)
@click.option(
    "--temperature",
    type=FiniteFloatRange(min=0, min_open=True),
    metavar="T",
    default=0.01,
    show_default=True,
    help="rare-class: T in softmax((1 - f_c) / T) (DAFormer's class_temp).",
)
@click.option(
    "--min-pixels",
    type=click.IntRange(min=0),
    metavar="N",
    default=3000,
    show_default=True,
    help="rare-class: an image is drawn for c only with more than this many pixels of c.",
)
@click.option(
    "--daformer",
    type=click.Path(path_type=Path, file_okay=False),
    callback=_check_daformer,
    is_eager=True,
    default=None,
    metavar="DIR",
    help="Also write DAFormer's three class-statistics files (sample_class_stats.json...) "
    "into DIR.",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_check_plot,
    is_eager=True,
    default=None,
    metavar="FILE",
    help="Also draw the effect (pixel share per class, dataset and drawn) to FILE.png or "
    "FILE.svg (the 'plot' extra).",
)
@patch_option
@format_option(
    _FORMATS,
    "json",
    "Output format: {choices} (torch, torchgeo: samplers; windows: patches).",
)
@output_option()
@click.pass_context
def sampling(
    ctx: click.Context,
    request: ScanRequest,
    spec: LabelSpec,
    from_paths: tuple[Path, ...],
    scheme: str,
    threshold: float,
    rounding: str,
    temperature: float,
    min_pixels: int,
    daformer: Path | None,
    plot: Path | None,
    patch: PatchGrid | None,
    output_format: str,
    output: Path | None,
) -> None:
    """Per-image sampling weights for the label masks in PATH..., and their effect.

    \b
    Examples:
      mfb sampling ./labels --ignore 255 -f table
      mfb scan ./labels -o stats.json --per-image images.jsonl
      mfb sampling --from images.jsonl --ignore 255 --scheme rare-class --daformer out/
      mfb sampling --from images.jsonl --ignore 255 --scheme weighted -f torch
      mfb sampling ./labels --patch 256 --scheme weighted -f windows
    """
    from ..show.output import write_all
    from ..show.sampling import SAMPLING_FORMATS, daformer_files, sampling_record
    from ..weigh.sampling import sample_images

    refuse_unused_reading(ctx, request, from_paths[0] if from_paths else None)
    refuse_unused(
        ctx,
        [
            ("threshold", scheme == "repeat-factor", "without --scheme repeat-factor"),
            ("rounding", scheme == "repeat-factor", "without --scheme repeat-factor"),
            ("temperature", scheme == "rare-class", "without --scheme rare-class"),
            ("min_pixels", scheme == "rare-class", "without --scheme rare-class"),
            ("count", False, "on sampling: images are weighed by their own voxels"),
        ],
    )
    refuse_patch_with(ctx, patch, request.dask)
    if patch is not None and from_paths:
        raise click.UsageError(
            "--patch scans PATH...; a per-image file given with --from holds its own patches",
            ctx,
        )
    images, counts, source = images_for(request, spec, from_paths, patch)
    if daformer is not None and "patch" in source:
        raise click.UsageError(
            "--daformer keys DAFormer's files by file name, which the patches of one file "
            "share; use -f windows or -f json for patches",
            ctx,
        )
    stats = image_class_stats(counts, spec, request, source, images)
    result = sample_images(
        images,
        stats,
        scheme,
        threshold=threshold,
        rounding=rounding,
        temperature=temperature,
        min_pixels=min_pixels,
    )
    warn_all(result.warnings)
    record = sampling_record(result, stats, source, images)
    text = SAMPLING_FORMATS[output_format](record)
    if plot is not None:
        from ..show.sampling_plot import plot_sampling

        plot_sampling(record, plot)
        wrote(plot, "effect chart", request.quiet)
    files = {}
    if daformer is not None:
        files = {
            daformer / name: content.encode()
            for name, content in daformer_files(images, stats).items()
        }
    # All or nothing: DAFormer's files and -o are staged, then renamed into place together.
    write_all(text, output, files)
    if daformer is not None and not request.quiet:
        click.echo(
            f"wrote DAFormer's three class-statistics files into {one_line(str(daformer))}",
            err=True,
        )
    wrote(output, f"{len(images)} images, {output_format}", request.quiet)


PRIORS_DETAILS = """\
prior[c] = pixels of c / labelled pixels (void and ignored left out; void classes 0).
log_prior is finite: a class without pixels takes log(0.5 / labelled pixels), half a
pixel's share, and is named in the warnings. -f torch prints a snippet that adds
tau * log(prior) to the logits in training only (tau = 1: Balanced Softmax).
--from takes a statistics file ('mfb scan') or a per-image file (*.jsonl).
"""


@with_definitions
@click.command(cls=MfbCommand, details=PRIORS_DETAILS)
@from_option
@mask_options
@dask_option
@class_options
@format_option(
    ["json", "torch"],
    "json",
    "A JSON record (json), or a PyTorch logit-adjustment snippet (torch).",
)
@output_option()
@click.pass_context
def priors(
    ctx: click.Context,
    request: ScanRequest,
    from_path: Path | None,
    spec: LabelSpec,
    output_format: str,
    output: Path | None,
) -> None:
    """The class prior pi (pixel share over labelled pixels) and log pi, for logit adjustment.

    \b
    Examples:
      mfb priors ./labels --ignore 255
      mfb priors --from stats.json --ignore 255 -f torch
    """
    from ..show.output import write_text
    from ..show.sampling import PRIOR_FORMATS, priors_record
    from ..weigh.priors import class_priors

    refuse_unused_reading(ctx, request, from_path)
    if from_path is not None and named(from_path).suffix == ".jsonl":  # per-image statistics
        images, counts, source = images_for(request, spec, (from_path,))
        stats = image_class_stats(counts, spec, request, source, images)
    else:
        _, stats, source = class_stats_for(request, spec, from_path)
    result = class_priors(stats)
    warn_all(result.warnings)
    write_text(PRIOR_FORMATS[output_format](priors_record(result, stats, source)), output)
    wrote(output, f"{stats.num_classes} priors, {output_format}", request.quiet)
