"""``mfb weights``: loss weights for the classes of the label masks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..show.weights_formats import WEIGHTS_FORMATS
from ..weigh.schemes import SCHEMES
from ..weigh.spec import LabelSpec
from ..weigh.weights import NORMALIZATIONS
from .dask_option import dask_option
from .help import scheme_option_default, scheme_options, with_definitions, with_schemes
from .messages import wrote
from .options import (
    FiniteFloatRange,
    ScanRequest,
    class_options,
    from_option,
    mask_options,
    names_option,
    output_options,
    refuse_unused,
    refuse_unused_reading,
)
from .panels import MfbCommand
from .scanning import class_stats_for, warn_all

WEIGHTS_DETAILS = """\
freq(c) = pixels of c / labelled pixels of the images in which c is present;
weight(c) = median(freq) / freq(c), the median over the non-void classes present
(Eigen & Fergus 2015). The JSON has the weights (one per class id), the counts they
come from and these definitions. Other schemes use n_c (pixels of class c), N (pixels
of the counted, i.e. present non-void, classes) and K (their number). Order: scheme,
then --normalize (pixels keeps the unweighted loss scale where a loss divides by the
pixel count), then --clip (so no weight exceeds it). -f torch / mmseg / keras / caffe
print a snippet that applies the weights to the ground-truth labels with the right
ignore value.
"""

# The options of weights alone, each one object (the shared ones are in options.py).
scheme_opt = click.option(
    "--scheme",
    type=click.Choice(list(SCHEMES)),
    metavar="SCHEME",
    default="median-frequency",
    show_default=True,
    help=f"Weighting scheme: {', '.join(SCHEMES)} (defined below).",
)
normalize_opt = click.option(
    "--normalize",
    type=click.Choice(list(NORMALIZATIONS)),
    metavar="HOW",
    default="none",
    show_default=True,
    help=f"One of {', '.join(NORMALIZATIONS)}: divide the weights by that statistic "
    "(pixels: the pixel-weighted mean), before --clip.",
)
clip_opt = click.option(
    "--clip",
    type=FiniteFloatRange(min=0, min_open=True),
    default=None,
    metavar="MAX",
    help="Cap every weight at MAX, after --normalize.",
)
void_in_median_opt = click.option(
    "--void-in-median",
    is_flag=True,
    help="SegNet / PyTorch-ENet: void and ignored pixels count as labelled and join the "
    "median (median-frequency; needs --void or --ignore).",
)
enet_c_opt = click.option(
    "--enet-c",
    type=FiniteFloatRange(min=1, min_open=True),
    metavar="C",
    default=scheme_option_default("enet", "enet_c"),
    show_default=True,
    help="enet only: c in 1 / ln(c + n_c / N).",
)
beta_opt = click.option(
    "--beta",
    type=FiniteFloatRange(min=0, max=1, max_open=True),
    metavar="BETA",
    default=scheme_option_default("effective-number", "beta"),
    show_default=True,
    help="effective-number only: beta in (1 - beta) / (1 - beta^n_c).",
)
#: Beyond 341 decimals no double changes (its smallest, 4.9e-324, has 17 significant digits
#: from the 324th); rounding a fraction to millions of decimals would take minutes.
MAX_DECIMALS = 350

decimals_opt = click.option(
    "--decimals",
    type=click.IntRange(min=0, max=MAX_DECIMALS),
    default=None,
    metavar="N",
    help="Round weights and frequencies to N decimals, from their exact values, ties to "
    "even. [default: full precision]",
)


@with_schemes
@with_definitions
@click.command(cls=MfbCommand, details=WEIGHTS_DETAILS)
@from_option
@mask_options
@dask_option
@class_options
@scheme_opt
@normalize_opt
@clip_opt
@void_in_median_opt
@enet_c_opt
@beta_opt
@decimals_opt
@names_option
@output_options
@click.pass_context
def weights(
    ctx: click.Context,
    request: ScanRequest,
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
    refuse_unused_reading(ctx, request, from_path)
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
    _, stats, source = class_stats_for(request, spec, from_path)
    refuse_region_weights(source)
    result = class_weights(stats, scheme, normalize=normalize, clip=clip, **options)
    warn_all(result.warnings)  # the scan's, the class layout's and the scheme's
    names = names or request.read.class_names()  # --names wins over the colour table's
    record = rounded(weights_record(stats, result, source, names=names), decimals, result.exact)
    write_text(WEIGHTS_FORMATS[output_format](record), output)
    wrote(output, f"{len(result.weights)} weights, {output_format}", request.quiet)


def refuse_region_weights(source: dict[str, Any]) -> None:
    """A dataset.json whose regions overlap has no softmax classes to weigh: an error."""
    from ..read.labels.datasets import recorded_regions
    from ..weigh.regions import refuse_overlapping

    regions = recorded_regions(source.get("label_mapping", {}))
    if regions:
        refuse_overlapping(regions, "the dataset.json")
