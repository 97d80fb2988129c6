"""``mfb split``: train/val/test parts or k folds, stratified on class presence, groups whole."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import OptionError
from ..show.output import one_line
from ..show.split import SPLIT_FORMATS
from .dask_option import dask_option
from .help import with_definitions
from .messages import cli_text, wrote
from .options import (
    INT64_MAX,
    Int64Range,
    PathOrUrl,
    ScanRequest,
    claim_output,
    class_options,
    format_option,
    mask_options,
    output_option,
    refuse_output_as_input,
    refuse_unused,
    refuse_unused_reading,
)
from .panels import MfbCommand

if TYPE_CHECKING:
    from ..weigh.spec import LabelSpec

#: Most parts a split may have (--folds K, or shares in --ratios).
MAX_PARTS = 1000


def _parse_ratios(ctx: click.Context, param: click.Parameter, value: str) -> Any:
    from ..weigh.split import Parts

    shares = [s.strip() for s in value.split(",")]
    if len(shares) > MAX_PARTS:
        raise click.BadParameter(f"at most {MAX_PARTS} shares", ctx, param)
    try:
        parts = Parts.of_ratios(shares)
    except OptionError as error:
        raise click.BadParameter(cli_text(error).removeprefix("--ratios: "), ctx, param) from None
    return _plan(ctx, param, parts)


def _plan(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Note --folds, --ratios and --out-dir; once all three are known (they are eager, so
    before any table or input is read), claim every list file --out-dir will write."""
    plan: dict[str, Any] = ctx.meta.setdefault("mfb.split", {})
    plan[param.name or ""] = value
    if {"folds", "ratios", "out_dir"} <= plan.keys():
        ratios_given = ctx.get_parameter_source("ratios") is not click.core.ParameterSource.DEFAULT
        if plan["folds"] is not None and ratios_given:
            raise click.UsageError("give --folds K or --ratios, not both", ctx)
        if plan["folds"] is not None:
            from ..weigh.split import Parts

            plan["parts"] = Parts.k_folds(plan["folds"])
        else:
            plan["parts"] = plan["ratios"]
        if plan["out_dir"] is not None:
            _claim_list_files(ctx, plan["out_dir"], plan["parts"])
    return value


def _claim_list_files(ctx: click.Context, folder: Path, parts: Any) -> None:
    from ..show.output import output_target
    from ..show.split import list_file_names

    if folder.exists() and not folder.is_dir():
        raise click.BadParameter(f"'{folder}' exists and is not a folder", ctx, param_named(ctx))
    for name in list_file_names(list(parts.names), parts.folds):
        path = folder / name
        target, _ = output_target(path)
        if target.is_dir():
            raise click.BadParameter(f"'{path}' is a folder", ctx, param_named(ctx))
        other = claim_output(ctx, path, target, f"--out-dir's '{path}'")
        if other is not None:
            raise click.UsageError(f"'{path}' (--out-dir) is also {other}", ctx)


def param_named(ctx: click.Context, name: str = "out_dir") -> click.Parameter:
    return next(p for p in ctx.command.params if p.name == name)


def _check_pattern(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from ..weigh.split import compile_group_pattern

    if value is None:
        return None
    try:
        compile_group_pattern(value)  # the engine that searches the names, before any read
    except OptionError as error:  # parts: the --group Param, then ': the problem'
        problem = error.render(lambda _: "").removeprefix(": ")
        raise click.BadParameter(problem, ctx, param) from None
    return value


SPLIT_DETAILS = """\
Stratified on class presence per image (iterative stratification, Sechidis et al.
2011), with pixel shares as the second goal; a group (--group, --groups) never spans two
parts, and one larger than its part's share is kept whole and reported. Void and ignored
ids take no part. The output shows, per part, each class's image and pixel shares
beside the whole dataset's, the Jensen-Shannon divergence of each part to the whole and
the classes a part lacks, for this split and for a random one with the same seed and
groups. --group's REGEX is searched in the file name (in the whole name when it holds a
'/'), and an image it does not match is an error: CamVid sequences '^([^_]+)_',
Cityscapes cities '^([a-z]+)_'. --out-dir writes mmseg split files (NAME.txt, or
foldI/train.txt and foldI/val.txt) atomically, and refuses to overwrite an input.
"""


@with_definitions
@click.command(cls=MfbCommand, details=SPLIT_DETAILS)
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
    "PATH... (repeatable: shards).",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2, max=MAX_PARTS),
    default=None,
    is_eager=True,
    callback=_plan,
    metavar="K",
    help="K folds, fold0..fold{K-1}: fold i is fold i's validation part, the others its "
    "training part.",
)
@click.option(
    "--ratios",
    default="0.8,0.1,0.1",
    show_default=True,
    is_eager=True,
    callback=_parse_ratios,
    metavar="R,R[,R...]",
    help="Shares of the parts (> 0), normalised: two are train,val; three train,val,test; "
    "more part1, part2, ...",
)
@click.option(
    "--seed",
    type=Int64Range(min=0, max=INT64_MAX),
    metavar="N",
    default=0,
    show_default=True,
    help="Decides every tie and the random split compared with (same seed, same split, "
    "whatever the order or folder spelling).",
)
@click.option(
    "--group",
    "group_pattern",
    metavar="REGEX",
    callback=_check_pattern,
    default=None,
    help="Images with equal first capture groups stay in one part, e.g. '^([^_]+)_' (with a "
    "'/': matched below the shared folder).",
)
@click.option(
    "--groups",
    "groups_file",
    type=PathOrUrl(path_type=Path, dir_okay=False),
    metavar="FILE",
    default=None,
    help="A CSV of 'image,group' rows (by name, name below the shared folder, or file "
    "name); every image needs one.",
)
@format_option(
    SPLIT_FORMATS,
    "json",
    "Output format: {choices} (nnunet: nnU-Net v2's splits_final.json).",
)
@output_option()
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    is_eager=True,
    callback=_plan,
    default=None,
    metavar="DIR",
    help="Also write one list file per part into DIR, as mmseg split files (NAME.txt, "
    "foldI/train.txt...), all or none.",
)
@click.option(
    "--out-root",
    metavar="DIR",
    default=None,
    help="--out-dir entries: take DIR/ off the start of each name (as --root reads it back).",
)
@click.option(
    "--out-suffix",
    metavar="SUFFIX",
    default="",
    help="--out-dir entries: take SUFFIX off the end of each name (as --suffix reads it "
    "back), e.g. .png.",
)
@click.pass_context
def split(
    ctx: click.Context,
    request: ScanRequest,
    spec: LabelSpec,
    from_paths: tuple[Path, ...],
    folds: int | None,
    ratios: Any,
    seed: int,
    group_pattern: str | None,
    groups_file: Path | None,
    output_format: str,
    output: Path | None,
    out_dir: Path | None,
    out_root: str | None,
    out_suffix: str,
) -> None:
    """Split the label masks in PATH... into train/val/test parts or k folds.

    \b
    Examples:
      mfb split ./labels --ignore 255 -f table
      mfb split --from images.jsonl --folds 5 -f nnunet -o splits_final.json
      mfb split ./camvid/labels --void 11 --group '^([^_]+)_' --out-dir splits
    """
    from ..read.base.urls import shown_path
    from ..show.output import write_all
    from ..show.split import list_files, split_record
    from ..weigh.split import Grouping, split_images
    from .sampling import image_class_stats, images_for
    from .scanning import warn_all

    refuse_unused_reading(ctx, request, from_paths[0] if from_paths else None)
    refuse_unused(
        ctx,
        [
            ("out_root", out_dir is not None, "without --out-dir"),
            ("out_suffix", out_dir is not None, "without --out-dir"),
            ("groups_file", group_pattern is None, "with --group: give one of them"),
            ("count", False, "on split: images are split by their own voxels"),
        ],
    )
    grouping = None
    if groups_file is not None:
        from ..read.sources.groups import load_groups

        refuse_output_as_input(groups_file)
        table = load_groups(groups_file)
        grouping = Grouping(table=table, table_name=shown_path(groups_file))
    elif group_pattern is not None:
        grouping = Grouping(pattern=group_pattern)
    images, counts, source = images_for(request, spec, from_paths)
    if "patch" in source:  # patches of one image in two parts: the same pixels in both
        raise click.UsageError(
            f"{source['per_image'][0]} holds patches; split whole images (a per-image file "
            "scanned without --patch), then cut patches within each part",
            ctx,
        )
    stats = image_class_stats(counts, spec, request, source, images)
    result = split_images(images, stats, ctx.meta["mfb.split"]["parts"], seed=seed, groups=grouping)
    warn_all(result.warnings)
    record = split_record(result, stats, source)
    text = SPLIT_FORMATS[output_format](record)
    files = {}
    if out_dir is not None:
        listed = list_files(record, out_root, out_suffix)
        files = {out_dir / name: content.encode() for name, content in listed.items()}
    # All or nothing: the list files and -o are staged, then renamed into place together.
    write_all(text, output, files)
    if out_dir is not None and not request.quiet:
        click.echo(f"wrote {len(files)} list files into {one_line(str(out_dir))}", err=True)
    wrote(output, f"{len(images)} images, {output_format}", request.quiet)
