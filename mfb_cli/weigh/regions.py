"""Region statistics: a region is a set of label ids trained as one output (nnU-Net).

nnU-Net's region-based training (BraTS' whole tumour = ids 1, 2, 3; tumour core = 2, 3)
gives every region a sigmoid output, so a voxel of id 3 belongs to three regions at once.
A region's voxels are those of its ids; its cases are the cases holding any of them.
Weights for a softmax loss need classes that exclude each other: overlapping regions
have none, and are refused (``refuse_overlapping``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..errors import MfbError
from ..id_list import id_list

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from .classes import ClassStats

#: (name, ids) of each region, in the dataset.json's order.
Regions = tuple[tuple[str, tuple[int, ...]], ...]

DEFINITIONS = {
    "regions": "a region is a set of label ids trained as one (sigmoid) output: its pixels "
    "are those of its ids, its share is of the labelled pixels, its images hold any of its "
    "ids (null when read from a statistics file, which keeps no per-image sets)",
}


def region_rows(
    stats: ClassStats, regions: Regions, images_with: Mapping[str, int] | None
) -> list[dict[str, Any]]:
    """One row per region: ids, pixels, share of the labelled pixels, images holding it."""
    labelled = stats.labelled_pixels
    rows = []
    for name, ids in regions:
        pixels = sum(int(stats.pixels[i]) for i in ids if 0 <= i < stats.num_classes)
        rows.append(
            {
                "name": name,
                "ids": list(ids),
                "pixels": pixels,
                "share_of_labelled": float(Fraction(pixels, labelled)) if labelled else None,
                "images": None if images_with is None else images_with.get(name, 0),
            }
        )
    return rows


def images_holding(image_ids: Iterable[Sequence[int]], regions: Regions) -> dict[str, int]:
    """How many images hold each region (any of its ids), from each image's present ids."""
    found = {name: 0 for name, _ in regions}
    for ids in image_ids:
        present = set(ids)
        for name, members in regions:
            if present.intersection(members):
                found[name] += 1
    return found


def refuse_overlapping(regions: Regions, source: str) -> None:
    """MfbError when two regions share an id: a softmax loss has no class for them."""
    for index, (first, first_ids) in enumerate(regions):
        for second, second_ids in regions[index + 1 :]:
            shared = sorted(set(first_ids) & set(second_ids))
            if shared:
                raise MfbError(
                    f"{source} defines overlapping regions ('{first}' {id_list(first_ids)} and "
                    f"'{second}' {id_list(second_ids)} share id {shared[0]}): each is a sigmoid "
                    "output (nnU-Net trains them with binary cross-entropy and Dice), and a "
                    "softmax loss has no class weight for them; see the per-region statistics "
                    "of 'mfb histogram -f json'"
                )
