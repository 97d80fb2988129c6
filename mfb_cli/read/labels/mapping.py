"""Turn a histogram of raw values into class ids: colour map, then remap."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import BadMaskError, LabelRangeError, Param
from ..decode.colours import TRANSPARENT, colour_name
from ..decode.raw import PHOTO_COLOURS, RawLabels

if TYPE_CHECKING:
    from ..._types import Int64Array
    from ..options import ReadOptions
    from .remap import Remap


def map_histogram(
    name: str, raw: RawLabels, ids: Int64Array, counts: Int64Array, read: ReadOptions
) -> tuple[Int64Array, Int64Array]:
    """Turn the histogram of a file's raw values into one of class ids.

    Order: the file's own scaling (NIfTI scl_slope/scl_inter, only where every result is
    an integer), colour map (colour-coded files only), then the remap; a mapping is a
    function of the value, so mapping the histogram gives exactly the counts of the mapped
    image.
    """
    mapped = raw.kind != "ids" or read.remap is not None or raw.scaling is not None
    if mapped:
        ids, counts = merge_values(map_values(name, raw, ids, counts, read), counts)
    check_ids_per_file(name, ids)
    return ids, counts


def map_values(
    name: str, raw: RawLabels, ids: Int64Array, counts: Int64Array, read: ReadOptions
) -> Int64Array:
    """The class id of each raw value of a histogram (``ids``, their pixels in ``counts``).

    One entry per raw value, in their order, not merged (two values may map to one id):
    what a per-pixel mapping needs (labels/pixels.py). Errors as ``map_histogram``.
    """
    if raw.scaling is not None:
        ids = scaled_ids(raw, ids)
    if raw.kind != "ids":
        codes = ids if raw.kind == "colours" else raw.palette[ids]  # type: ignore[index]
        ids = _apply_colormap(name, codes, counts, read)
    if read.remap is not None:
        ids = _apply_remap(name, ids, counts, read.remap, read.unmapped)
    return ids


def check_ids_per_file(name: str, ids: Int64Array) -> None:
    """Refuse a file holding more distinct ids than a class map does (MAX_IDS_PER_FILE)."""
    if len(ids) > MAX_IDS_PER_FILE:
        # Options cannot fix this and the file is not broken: a LabelRangeError, which
        # --skip-bad never skips (dropping such files silently would change the weights).
        raise LabelRangeError(
            f"{name}: {len(ids)} distinct values ({ids[0]}..{ids[-1]}) in one mask, more than "
            f"the {MAX_IDS_PER_FILE} a semantic label map holds: this looks like instance ids "
            "or a depth map, not class ids"
        )


def scaled_ids(raw: RawLabels, ids: Int64Array) -> Int64Array:
    """The ids after the file's scaling (slope * stored + intercept) when every one is an
    integer within 64 bits, else the stored values unchanged (see scaling_note)."""
    if raw.scaling is None or scaling_note(raw, ids) != "scaled":
        return ids
    slope, inter = raw.scaling
    return np.asarray([int(slope * int(v) + inter) for v in ids.tolist()], dtype=np.int64)


def scaling_note(raw: RawLabels, ids: Int64Array) -> str | None:
    """'scaled' when the file's scaling turns each stored value present into an integer
    (it is applied), 'unscaled' when it would not (the stored values are counted), None
    without scaling. A scaling is a function of the value, so deciding on the histogram's
    values decides for every voxel."""
    if raw.scaling is None:
        return None
    slope, inter = raw.scaling
    results = [slope * int(v) + inter for v in ids.tolist()]
    exact = all(r.denominator == 1 and -(1 << 63) <= r < (1 << 63) for r in results)
    return "scaled" if exact else "unscaled"


def _apply_colormap(
    name: str, codes: Int64Array, counts: Int64Array, read: ReadOptions
) -> Int64Array:
    assert read.colormap is not None  # ReadOptions ensures it for colour images
    ids, known = read.colormap.lookup(codes)
    if read.transparent is not None:
        transparent = codes == TRANSPARENT
        ids[transparent] = read.transparent
        known |= transparent
    if known.all():
        return ids
    if read.unknown_color is not None:
        ids[~known] = read.unknown_color
        return ids
    # Palette indices without a colour all have code -1: one entry, their pixels added up.
    missing_codes, where = np.unique(codes[~known], return_inverse=True)
    missing_counts = np.zeros(len(missing_codes), dtype=np.int64)
    np.add.at(missing_counts, where.ravel(), counts[~known])
    order = np.argsort(-missing_counts, kind="stable")[:5]
    shown = ", ".join(
        f"{_describe_code(int(missing_codes[i]))} ({int(missing_counts[i])} pixels)" for i in order
    )
    more = f" and {len(missing_codes) - len(order)} more" if len(missing_codes) > len(order) else ""
    if len(missing_codes) > PHOTO_COLOURS:
        raise BadMaskError(
            name,
            f"{len(missing_codes)} colours not in the colour map (e.g. {shown}): it looks like "
            "a photograph, not a label mask (is an image folder given instead of the labels?)",
        )
    raise BadMaskError(
        name,
        f"{len(missing_codes)} colour(s) not in the colour map: {shown}{more}; a mask saved "
        "as JPEG or resized with interpolation has such colours; fix the table or pass ",
        Param("unknown_color", metavar="ID"),
    )


def _describe_code(code: int) -> str:
    return "a palette index without colour" if code < 0 else colour_name(code)


def _apply_remap(
    name: str, ids: Int64Array, counts: Int64Array, remap: Remap, unmapped: int | None
) -> Int64Array:
    new, known = remap.lookup(ids)
    if known.all():
        return new
    if unmapped is not None:
        new[~known] = unmapped
        return new
    pairs = zip(ids[~known][:5].tolist(), counts[~known][:5].tolist(), strict=True)
    shown = ", ".join(f"{value} ({count} pixels)" for value, count in pairs)
    # The table does not fit the data, the file is fine: a LabelRangeError, which
    # --skip-bad never skips (leaving such images out would change the weights silently).
    raise LabelRangeError(
        f"{name}: value(s) {shown} not in ",
        Param("remap", remap.name),
        "; add them to the table or pass ",
        Param("unmapped", metavar="ID"),
    )


def merge_values(ids: Int64Array, counts: Int64Array) -> tuple[Int64Array, Int64Array]:
    """A histogram of mapped values with equal ids added up (sorted, distinct ids)."""
    # Several values can map to one id (all Cityscapes void labels -> 255): add them up.
    merged, inverse = np.unique(ids, return_inverse=True)
    totals = np.zeros(len(merged), dtype=np.int64)
    np.add.at(totals, inverse.ravel(), counts)
    return merged.astype(np.int64), totals


#: More distinct values than this in one mask and it is not a class map: semantic datasets
#: have at most a few hundred classes in any one image (ADE20K's 150, COCO-Stuff's 182),
#: while instance-id images and 16-bit depth maps have thousands.
MAX_IDS_PER_FILE = 1000
