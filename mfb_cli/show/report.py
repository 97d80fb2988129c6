"""The report of ``mfb report`` as one plain record, built from the records the other
outputs use (``distribution_record``, ``weights_record``), so the page shows their numbers.

The first input is the main one: its summary, distribution, weights and co-occurrence are
shown (weights come from the training split, given first). Every input takes part in the
split comparison. The HTML page is drawn from this record by ``report_html``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .._version import __version__
from ..errors import MfbError
from ..weigh.divergence import js_divergence
from ..weigh.schemes import SCHEMES
from ..weigh.weights import class_weights
from .distribution import distribution_record
from .records import weights_record
from .report_rasters import DEFINITION, rasters_record

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ..count.counts import ClassCounts
    from ..count.per_image import ImageCounts
    from ..read.base.thumbnail import Thumbnail
    from ..weigh.classes import ClassStats
    from .records import Record


@dataclass(frozen=True, eq=False)
class ReportInput:
    """One dataset (or split) of a report: its counts resolved under the user's choices."""

    name: str
    counts: ClassCounts
    stats: ClassStats
    source: dict[str, Any] = field(default_factory=dict)
    #: Per-image counts (a scan, or a per-image file): the sampling effect needs them.
    images: Sequence[ImageCounts] | None = None
    #: The class maps of the first MAX_THUMBNAILS rasters scanned (none from --from files).
    rasters: Sequence[RasterThumbnail] = ()
    #: Rasters scanned past MAX_THUMBNAILS, whose maps the page leaves out.
    rasters_left_out: int = 0


class RasterThumbnail(NamedTuple):
    """A raster's path as the source record names it, its shape and its class map."""

    path: str
    shape: tuple[int, ...]
    thumbnail: Thumbnail


#: Rasters whose class map the page draws at most: each is a palette PNG of at most
#: 512 x 512 (tens of kB for a land-cover map, at most about 350 kB base64 for noise).
MAX_THUMBNAILS = 6


#: Classes drawn in the co-occurrence heat map at most (the ones with most pixels), so the
#: page stays a few MB whatever the class count.
MAX_COOC_CLASSES = 200

DEFINITIONS = {
    "main": "summary, distribution, weights and co-occurrence describe the first input",
    "void_share": "void pixels / all pixels",
    "ignored_share": "ignored pixels / all pixels",
    "cooc_share": "row c, column d: pixels of d lying in images that contain c / all pixels "
    "of d (1 on the diagonal; 0: never in one image together)",
    "cooc_order": "greedy seriation: start at the class with most pixels, then repeatedly the "
    "unplaced class most often found with the last placed (mean of both directions), ties "
    "to more pixels then lower id; void and absent classes are left out",
    "js_divergence": "Jensen-Shannon divergence (log base 2, 0 = same, 1 = disjoint) between "
    "the splits' shares of labelled pixels over the non-void classes",
    "missing": "a class with pixels in at least one split and none in another",
    "raster_map": DEFINITION,
    "sampled_pixel_share": "per sampling scheme (default parameters, as 'mfb sampling'): "
    "E[pixels of c in a drawn image] / E[labelled pixels in a drawn image]",
}

#: What the sampling section says when only statistics files were given.
NEEDS_PER_IMAGE = (
    "the effect of the sampling schemes needs per-image statistics: scan PATH... here, "
    "or give first --from IMAGES.jsonl, written by 'mfb scan PATH... -o stats.json "
    "--per-image images.jsonl'"
)


def report_record(
    inputs: Sequence[ReportInput],
    *,
    names: Mapping[int, str] | None = None,
    colours: Mapping[int, str] | None = None,
    normalize: str = "mean",
    command: str = "",
    check: Record | None = None,
) -> Record:
    """Everything the report page shows, as plain data."""
    if not inputs:
        raise MfbError("nothing to report: no input")
    names = dict(names or {})
    main = inputs[0]
    stats = main.stats
    histogram = distribution_record(main.counts, stats, main.source, names=names)
    schemes, warnings = _all_weights(main, names, normalize)
    sampling, sampling_warnings = sampling_section(main)
    warnings += sampling_warnings
    splits = [_split(item, names) for item in inputs]
    run_warnings = [
        w if len(inputs) == 1 else f"{item.name}: {w}"
        for item in inputs
        for w in item.stats.warnings
    ]
    warnings = list(dict.fromkeys([*run_warnings, *warnings]))
    total = stats.total_pixels
    colour_list = [(colours or {}).get(c) for c in range(stats.num_classes)]
    return {
        "mfb_version": __version__,
        "command": command,
        "inputs": [item.name for item in inputs],
        "summary": {
            "name": main.name,
            "images": stats.num_images,
            "total_pixels": total,
            "labelled_pixels": stats.labelled_pixels,
            "num_classes": stats.num_classes,
            "present": sum(1 for r in histogram["classes"] if r["seen"]),
            "absent": list(stats.absent),
            "void": list(stats.void),
            "ignore": list(stats.ignore),
            "void_pixels": stats.void_pixels,
            "void_share": stats.void_pixels / total if total else None,
            "ignored_pixels": histogram["ignored_pixels"],
            "ignored_share": histogram["ignored_pixels"] / total if total else None,
            "imbalance_ratio": histogram["imbalance_ratio"],
            "largest": histogram["largest"],
            "smallest": histogram["smallest"],
            "source": dict(main.source),
        },
        "names": [names.get(c) for c in range(stats.num_classes)],
        "colours": colour_list,
        "histogram": histogram,
        "weights": {"normalize": normalize, "schemes": schemes},
        "cooc": cooc_record(main),
        "sampling": sampling,
        "splits": {
            "splits": splits,
            "js_divergence": _divergences(splits),
            "missing": _missing(splits),
        },
        "problems": {"warnings": warnings, "check": check},
        "rasters": {
            "rasters": rasters_record(main.rasters, colour_list),
            "left_out": main.rasters_left_out,
        },
        "definitions": dict(DEFINITIONS),
    }


def _all_weights(
    main: ReportInput, names: Mapping[int, str], normalize: str
) -> tuple[list[Record], list[str]]:
    """Every scheme's weights with its default options, the same as ``mfb weights``."""
    schemes: list[Record] = []
    warnings: list[str] = []
    for scheme, function in SCHEMES.items():
        result = class_weights(main.stats, scheme, normalize=normalize)
        record = weights_record(main.stats, result, main.source, names=names or None)
        parameters = {
            k: v
            for k, v in record.items()
            if k in ("void_in_median", "enet_c", "beta", "normalize", "clip")
        }
        schemes.append(
            {
                "scheme": scheme,
                "summary": (function.__doc__ or "").strip().splitlines()[0],
                "weights": record["weights"],
                "parameters": parameters,
            }
        )
        warnings += [w for w in result.warnings if w not in main.stats.warnings]
    return schemes, warnings


def sampling_section(main: ReportInput) -> tuple[Record, list[str]]:
    """Each sampling scheme's effect on class shares (default parameters), as
    ``mfb sampling -f json`` gives it; a scheme the data refuses carries its error."""
    from ..errors import OptionError
    from ..weigh.sampling import sample_images
    from ..weigh.sampling_schemes import SAMPLING_SCHEMES

    if main.images is None:
        return {"available": False, "note": NEEDS_PER_IMAGE, "schemes": []}, []
    void = set(main.stats.void)
    schemes: list[Record] = []
    warnings: list[str] = []
    for scheme in SAMPLING_SCHEMES:
        try:
            result = sample_images(main.images, main.stats, scheme)
        except OptionError as error:
            schemes.append({"scheme": scheme, "error": error.render(str), "classes": []})
            continue
        effect = result.effect
        schemes.append(
            {
                "scheme": scheme,
                "parameters": dict(result.parameters),
                "error": None,
                "classes": [
                    {
                        "class": c,
                        "pixel_share": effect.pixel_share[c],
                        "sampled_pixel_share": effect.sampled_pixel_share[c],
                    }
                    for c in effect.classes
                    if c not in void
                ],
            }
        )
        warnings += [w for w in result.warnings if w not in main.stats.warnings]
    return {"available": True, "note": None, "schemes": schemes}, warnings


def _split(item: ReportInput, names: Mapping[int, str]) -> Record:
    record = distribution_record(item.counts, item.stats, item.source, names=names)
    return {
        "name": item.name,
        "images": record["images"],
        "labelled_pixels": record["labelled_pixels"],
        "classes": [
            {
                "id": r["id"],
                "pixels": r["pixels"],
                "share_of_labelled": r["share_of_labelled"],
                "images": r["images"],
            }
            for r in record["classes"]
        ],
    }


def _divergences(splits: Sequence[Record]) -> list[list[float | None]]:
    shares = [[r["share_of_labelled"] for r in s["classes"]] for s in splits]
    usable = [None if None in row else [float(x) for x in row] for row in shares]
    return [
        [None if a is None or b is None else js_divergence(a, b) for b in usable] for a in usable
    ]


def _missing(splits: Sequence[Record]) -> list[Record]:
    if len(splits) < 2:
        return []
    found: list[Record] = []
    for index, row in enumerate(splits[0]["classes"]):
        present = [s["name"] for s in splits if s["classes"][index]["pixels"] > 0]
        if present and len(present) < len(splits):
            found.append(
                {
                    "id": row["id"],
                    "present_in": present,
                    "missing_from": [s["name"] for s in splits if s["name"] not in present],
                }
            )
    return found


def cooc_record(item: ReportInput) -> Record:
    """The co-occurrence shares of the present non-void classes, in seriation order."""
    stats, counts = item.stats, item.counts
    void = set(stats.void)
    index = {int(label): i for i, label in enumerate(counts.ids.tolist())}
    classes = [c for c in range(stats.num_classes) if stats.pixels[c] > 0 and c not in void]
    left_out = max(0, len(classes) - MAX_COOC_CLASSES)
    if left_out:  # the page stays a few MB: the classes with most pixels
        kept = sorted(classes, key=lambda c: (-int(stats.pixels[c]), c))[:MAX_COOC_CLASSES]
        classes = sorted(kept)
    table = counts.cooc
    share = {
        (c, d): int(table[index[c], index[d]]) / int(stats.pixels[d])
        for c in classes
        for d in classes
    }
    order = seriation(classes, share, [int(stats.pixels[c]) for c in classes])
    return {
        "order": order,
        "share": [[share[c, d] for d in order] for c in order],
        "left_out": left_out,
    }


def seriation(
    classes: Sequence[int], share: Mapping[tuple[int, int], float], pixels: Sequence[int]
) -> list[int]:
    """A greedy order that puts classes found together next to each other (blocks show)."""
    size = dict(zip(classes, pixels, strict=True))
    left = set(classes)
    if not left:
        return []
    current = min(left, key=lambda c: (-size[c], c))
    order = [current]
    left.remove(current)
    while left:
        last = order[-1]
        current = min(
            left,
            key=lambda c: (-(share[last, c] + share[c, last]) / 2, -size[c], c),
        )
        order.append(current)
        left.remove(current)
    return order


def class_colours(keys: Sequence[int], values: Sequence[int]) -> dict[int, str]:
    """'#rrggbb' of each class id of a colour table (its lowest colour code when several)."""
    colours: dict[int, str] = {}
    for code, label in zip(keys, values, strict=True):
        colours.setdefault(int(label), f"#{int(code):06x}")
    return colours
