"""Crop-centre ratios for MONAI's RandCropByLabelClasses(d), from the class statistics.

MONAI draws each crop's centre class with probability ratio_c / sum of the ratios of the
classes present in the case (absent classes get 0), then a random voxel of that class
(monai/transforms/utils.py, generate_label_classes_crop_centers). Random crops centre on a
class about as often as its voxel share s_c; MONAI's default (equal ratios) centres on a
class in 1 of K draws wherever it occurs, so a class found in few cases is cropped far
less than 1/K. The rule here aims between the two, at square-root frequencies:

    target_c = sqrt(s_c) / sum_d sqrt(s_d)      (the share of crop centres aimed at)
    ratio_c  = (target_c / p_c) / sum_d (target_d / p_d)

with p_c the share of cases holding c: a class can only be drawn in the cases that hold
it, so its ratio is raised by 1 / p_c. Void and absent classes get 0. Where every case
holds every class the centres follow ``target`` exactly; otherwise MONAI's per-case
renormalisation moves them (the share of centres on c is the mean over cases of
ratio_c / sum of the present classes' ratios).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

RULE = (
    "ratio_c proportional to sqrt(s_c) / p_c, s_c the voxel share of class c among the "
    "labelled voxels, p_c the share of cases holding c; void and absent classes 0; the "
    "targeted share of crop centres is sqrt(s_c) / sum_d sqrt(s_d)"
)


def crop_ratios(
    pixels: Sequence[int], images: Sequence[int], num_images: int, void: Sequence[int] = ()
) -> tuple[list[float], list[float], list[float]]:
    """(ratios, targeted share of crop centres, voxel share) per class id (see RULE)."""
    counted = [c for c, n in enumerate(pixels) if n > 0 and c not in set(void)]
    total = sum(int(pixels[c]) for c in counted)
    share = [
        float(Fraction(int(pixels[c]), total)) if c in counted and total else 0.0
        for c in range(len(pixels))
    ]
    roots = [
        math.sqrt(Fraction(int(pixels[c]), total)) if c in counted else 0.0
        for c in range(len(pixels))
    ]
    target = [r / sum(roots) if sum(roots) else 0.0 for r in roots]
    raw = [
        target[c] / (int(images[c]) / num_images) if c in counted and images[c] else 0.0
        for c in range(len(pixels))
    ]
    ratios = [r / sum(raw) if sum(raw) else 0.0 for r in raw]
    return ratios, target, share
