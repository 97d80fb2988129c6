"""A split as a record, CSV, an effect table, nnU-Net's splits_final.json and list files."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import MfbError, Param
from ..id_list import id_list
from .serialize import to_json

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..weigh.classes import ClassStats
    from ..weigh.split import Split, SplitEffect
    from .records import Record

DEFINITIONS = {
    "parts": "folds: fold i is the validation part of fold i, and its training part is every "
    "other fold; ratios: the parts train, val (and test) in proportion to the shares",
    "share": "the part's share of the images asked for; target_images = share x images",
    "group": "images that always land in one part: a pattern's first capture group (searched "
    "in the file name, or when the pattern holds a '/' in the name below the folder all "
    "images share), a row of the groups table, or each image alone",
    "algorithm": "iterative stratification (Sechidis et al. 2011) over groups, on class "
    "presence per image; among parts it finds equal, the one whose pixel shares move least "
    "from those of the groups placed so far; then groups move to parts lacking a class when "
    "no part loses one (see docs/splits.md)",
    "classes": "the ids some image holds that are neither void nor ignored (a class no image "
    "holds has share 0 everywhere and is left out)",
    "image_share": "images of the part holding the class / images of the part",
    "pixel_share": "pixels of the class / labelled pixels of the part (void and ignored left out)",
    "js_divergence": "Jensen-Shannon divergence (log base 2, 0 = same, 1 = disjoint) of the "
    "part's pixel shares to the whole dataset's, over the non-void classes",
    "max_image_share_gap": "the largest difference, over the classes, between the part's "
    "image share and the whole dataset's",
    "missing": "classes the dataset has and the part has not",
    "random": "the same numbers for a random split with the same seed and groups: groups in "
    "the seed's random order, each to the part furthest below its size",
    "oversized_groups": "groups holding more images than their part's target_images",
    "moved": "groups the coverage pass moved into a part lacking one of their classes",
}


def effect_record(effect: SplitEffect) -> Record:
    """The effect as plain data: per part its summary, per class the shares side by side."""
    names = [p.name for p in effect.parts]
    return {
        "worst_js_divergence": effect.worst_js_divergence,
        "parts": [
            {
                "name": p.name,
                "images": p.images,
                "labelled_pixels": p.labelled_pixels,
                "js_divergence": p.js_divergence,
                "max_image_share_gap": p.max_image_share_gap,
                "missing": list(p.missing),
            }
            for p in effect.parts
        ],
        "classes": [
            {
                "class": c,
                "images": effect.class_images[k],
                "pixels": effect.class_pixels[k],
                "image_share": effect.image_share[k],
                "pixel_share": effect.pixel_share[k],
                "parts": {
                    name: {
                        "images": p.class_images[k],
                        "pixels": p.class_pixels[k],
                        "image_share": p.image_share[k],
                        "pixel_share": p.pixel_share[k],
                    }
                    for name, p in zip(names, effect.parts, strict=True)
                },
            }
            for k, c in enumerate(effect.classes)
        ],
    }


def split_record(
    split: Split, stats: ClassStats, source: Mapping[str, Any] | None = None
) -> Record:
    """Everything about a split as plain data: parts and their images, the effect."""
    record: Record = {
        "split": "folds" if split.folds else "ratios",
        "seed": split.seed,
        "num_images": len(split.part_of),
        "num_classes": stats.num_classes,
        "void": list(stats.void),
        "ignore": list(stats.ignore),
        "grouping": dict(split.grouping),
        "parts": [
            {
                "name": part.name,
                "share": part.share,
                "target_images": part.target_images,
                "num_images": len(part.images),
                **(
                    {"num_groups": len(part.groups), "groups": list(part.groups)}
                    if split.grouped
                    else {}
                ),
                "images": list(part.images),
            }
            for part in split.parts
        ],
        "effect": {
            "stratified": effect_record(split.effect),
            "random": effect_record(split.random),
        },
        "oversized_groups": [
            {"group": g.group, "images": g.images, "part": g.part, "target_images": g.target_images}
            for g in split.oversized
        ],
        "moved": split.moved,
        "warnings": list(split.warnings),
        "definitions": dict(DEFINITIONS),
        "mfb_version": __version__,
    }
    if source is not None:
        record["source"] = dict(source)
    return record


def to_csv(record: Record) -> str:
    """``image,part``: one row per image, sorted by image; a byte of a file name that is
    not UTF-8 reads ``\\xNN`` (-f json keeps the exact name)."""
    from .output import shown_bytes

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["image", "part"])
    rows = sorted(
        (shown_bytes(image), part["name"]) for part in record["parts"] for image in part["images"]
    )
    writer.writerows(rows)
    return out.getvalue()


#: Widest line of the effect table: the width mfb's tables have in a file or a pipe.
TABLE_WIDTH = 100


def effect_table(record: Record) -> str:
    """The effect for people: shares per class and part, the divergences beside random's.

    Image and pixel shares side by side when both fit in TABLE_WIDTH columns, else one
    after the other, in as many slices of the parts as it takes; the summary lines wrap.
    """
    stratified, random = record["effect"]["stratified"], record["effect"]["random"]
    names = [p["name"] for p in record["parts"]]
    sizes = ", ".join(
        _kept(f"{p['name']} {p['num_images']} ({p['share']:.0%})") for p in record["parts"]
    )
    grouping = record["grouping"]
    how = grouping.get("pattern") or grouping.get("table") or "given"
    groups = "each image alone" if grouping["by"] == "image" else f"{grouping['groups']} ({how})"
    width = max(7, *(len(n) + 1 for n in names))
    rows = stratified["classes"]

    def cells(row: Record, key: str, spec: str, chosen: list[str]) -> str:
        values = [row[key], *(row["parts"][n][key] for n in chosen)]
        return "".join(f"{v:>{width}{spec}}" for v in values)

    def head(chosen: list[str]) -> str:
        return "".join(f"{n:>{width}}" for n in ["all", *chosen])

    lines = _wrapped(
        f"{record['split']} split of {record['num_images']} images, seed {record['seed']}, "
        f"groups: {groups}"
    )
    lines += _wrapped(f"parts: {sizes}", "  ")
    lines.append("")
    image_title, pixel_title = "images holding the class", "share of labelled pixels"
    if 7 + 2 * len(head(names)) + 2 <= TABLE_WIDTH:
        lines.append(f"{'class':>5}  {image_title:<{len(head(names))}}  {pixel_title}")
        lines.append(f"{'':>5}  {head(names)}  {head(names)}")
        for row in rows:
            image = cells(row, "image_share", ".1%", names)
            pixel = cells(row, "pixel_share", ".2%", names)
            lines.append(f"{row['class']:>5}  {image}  {pixel}")
    else:
        per = max(1, (TABLE_WIDTH - 7) // width - 1)  # parts per slice, beside 'all'
        for title, key, spec in (
            (image_title, "image_share", ".1%"),
            (pixel_title, "pixel_share", ".2%"),
        ):
            for first in range(0, len(names), per):
                chosen = names[first : first + per]
                lines.append(f"{'class':>5}  {title}")
                lines.append(f"{'':>5}  {head(chosen)}")
                lines += [f"{row['class']:>5}  {cells(row, key, spec, chosen)}" for row in rows]
                lines.append("")
        lines.pop()
    lines.append("")
    lines.append("Jensen-Shannon divergence of each part's pixel shares to the whole's:")
    for label, effect in (("stratified", stratified), ("random", random)):
        values = ", ".join(_kept(f"{p['name']} {_js(p['js_divergence'])}") for p in effect["parts"])
        worst = _kept(f"worst {_js(effect['worst_js_divergence'])}")
        lines += _wrapped(f"  {label:<10}  {values}; {worst}", " " * 14)
    for label, effect in (("stratified", stratified), ("random", random)):
        missing = "; ".join(
            _kept(f"{p['name']} lacks {id_list(p['missing'])}")
            for p in effect["parts"]
            if p["missing"]
        )
        lines += _wrapped(f"  classes missing ({label}): {missing or 'none'}", "    ")
    return "\n".join(lines) + "\n"


#: Stands for a space that must not break a line (textwrap breaks at ASCII spaces only).
_KEEP = "\x00"


def _kept(item: str) -> str:
    """``item`` kept on one line by ``_wrapped`` (a part's name beside its value)."""
    return item.replace(" ", _KEEP)


def _wrapped(text: str, indent: str = "") -> list[str]:
    """``text`` in lines of at most TABLE_WIDTH columns, broken at spaces."""
    import textwrap

    lines = textwrap.wrap(
        text,
        TABLE_WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace(_KEEP, " ") for line in lines] or [""]


def _js(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6f}"


#: nnU-Net v2's image files carry a 4-digit channel suffix: CASE_0000.nii.gz.
_CHANNEL = re.compile(r"_\d{4}$")
#: nnU-Net v2's folders of image files (labelsTr files carry no channel suffix).
_IMAGE_FOLDERS = ("imagesTr", "imagesTs")


def case_identifier(image: str) -> str:
    """The case an nnU-Net v2 file belongs to: its file name without the file ending
    (``.nii.gz``, else the last extension), and without the ``_0000`` channel suffix when it
    lies in imagesTr/imagesTs (labelsTr/CASE.nii.gz and imagesTr/CASE_0000.nii.gz are CASE)."""
    parts = re.split(r"[/\\]", image)
    name = parts[-1]
    if name.lower().endswith(".nii.gz"):
        stem = name[: -len(".nii.gz")]
    else:
        stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    folder = parts[-2].rsplit(":", 1)[-1] if len(parts) > 1 else ""
    if folder in _IMAGE_FOLDERS:
        stem = _CHANNEL.sub("", stem)
    return stem


def nnunet_splits(record: Record) -> str:
    """nnU-Net v2's splits_final.json: a list of {"train": [...], "val": [...]}, one per fold
    (a ratio split gives one entry: its train and val parts; a test part is left out)."""
    case_part: dict[str, str] = {}
    for part in record["parts"]:
        for image in part["images"]:
            case = case_identifier(image)
            other = case_part.setdefault(case, part["name"])
            if other != part["name"]:
                raise MfbError(
                    f"{image}: case {case} has files in parts {other} and {part['name']}; "
                    "keep a case in one part with ",
                    Param("group", r"^(.+?)(_\d{4})?\."),
                )
    cases: dict[str, list[str]] = {}
    for case, name in sorted(case_part.items()):
        cases.setdefault(name, []).append(case)
    names = [p["name"] for p in record["parts"]]
    if record["split"] == "folds":
        splits = [
            {
                "train": sorted(
                    c for other in names if other != name for c in cases.get(other, [])
                ),
                "val": cases.get(name, []),
            }
            for name in names
        ]
    else:
        if "train" not in names or "val" not in names:
            raise MfbError(
                "nnU-Net's splits need parts named train and val (two or three ",
                Param("ratios"),
                "), or ",
                Param("folds"),
            )
        splits = [{"train": cases.get("train", []), "val": cases.get("val", [])}]
    return json.dumps(splits, indent=4) + "\n"


def list_files(record: Record, root: str | None = None, suffix: str = "") -> dict[str, str]:
    """One list file per part as mmseg reads split files: one entry per line, sorted.

    Ratio parts give NAME.txt; folds give foldI/train.txt and foldI/val.txt. An entry is the
    image's name with ``root/`` taken off its start and ``suffix`` off its end, so that
    ``--list FILE --root ROOT --suffix SUFFIX`` reads the same masks back.
    """
    entries = {
        part["name"]: [_entry(image, root, suffix) for image in part["images"]]
        for part in record["parts"]
    }
    files: dict[str, str] = {}
    if record["split"] == "folds":
        for name in entries:
            train = sorted(e for other, lines in entries.items() if other != name for e in lines)
            files[f"{name}/train.txt"] = "".join(f"{e}\n" for e in train)
            files[f"{name}/val.txt"] = "".join(f"{e}\n" for e in sorted(entries[name]))
    else:
        for name, lines in entries.items():
            files[f"{name}.txt"] = "".join(f"{e}\n" for e in sorted(lines))
    return files


def list_file_names(names: list[str], folds: bool) -> list[str]:
    """The files ``list_files`` writes for these parts (known before anything is read)."""
    if folds:
        return [f"{name}/{kind}.txt" for name in names for kind in ("train", "val")]
    return [f"{name}.txt" for name in names]


def _entry(image: str, root: str | None, suffix: str) -> str:
    entry = image
    if root is not None:
        below = _below(image, root)
        if below is None:
            raise MfbError(
                f"{image}: does not lie in ", Param("out_root", root), "; give the folder it is in"
            )
        entry = below
    if suffix:
        if not entry.endswith(suffix) or entry == suffix:
            raise MfbError(f"{image}: does not end in ", Param("out_suffix", suffix))
        entry = entry[: -len(suffix)]
    if "\n" in entry or "\r" in entry:
        raise MfbError(f"{image!r}: a line break in its name cannot go into a list file")
    try:
        entry.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the name's bytes are not UTF-8
        raise MfbError(
            f"{image}: a file name that is not UTF-8 cannot go into a list file (mmseg and mfb "
            "read list files as UTF-8); rename it"
        ) from None
    return entry


def _below(image: str, root: str) -> str | None:
    """``image``'s name below the folder ``root``, or None when it is not in it. Local names
    are compared as absolute paths, so './masks/', 'masks' and '/data/masks' are one folder
    (as --root reads them); a URL by its text."""
    import os
    from pathlib import Path

    from ..read.base.urls import is_url

    if is_url(image) or is_url(root):
        prefix = root.rstrip("/") + "/"
        return image[len(prefix) :] if image.startswith(prefix) else None
    # Lexically (no link followed): a mask that is a link to elsewhere still lies in root.
    inside = os.path.relpath(
        os.path.normpath(Path(image).absolute()), os.path.normpath(Path(root).absolute())
    )
    if inside == os.curdir or inside == os.pardir or inside.startswith(os.pardir + os.sep):
        return None
    return inside.replace(os.sep, "/")


SPLIT_FORMATS: dict[str, Callable[[Record], str]] = {
    "json": to_json,
    "csv": to_csv,
    "table": effect_table,
    "nnunet": nnunet_splits,
}
