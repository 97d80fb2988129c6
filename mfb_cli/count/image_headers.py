"""Label and image headers that disagree, where imagesTr/ sits beside labelsTr/.

nnU-Net's ``verify_dataset_integrity`` refuses a case whose label and image differ in
shape or spacing and warns on orientation; a label resampled apart from its image is
counted on the wrong grid. Only headers are read, never the images' voxels. Tolerances:
shape exact, spacing within a relative 1e-5 (float32 headers), affine (orientation and
origin) within 1e-3 mm. MSD keeps one 4D image per case (modalities on the 4th axis):
its first three axes are compared.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BadMaskError, MfbError
from ..read.decode.volumes import is_volume, volume_format

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..read.base.chunks import LabelHeader

LABELS, IMAGES = "labelsTr", "imagesTr"
SPACING_RTOL = 1e-5
AFFINE_ATOL = 1e-3

DEFINITION = (
    "label files in labelsTr/ whose image in imagesTr/ (case_XXXX or the case's own name) "
    f"differs in shape, spacing (relative {SPACING_RTOL}) or affine (orientation and origin, "
    f"{AFFINE_ATOL} mm), or has no image; headers only"
)


def _suffix(name: str) -> str:
    lower = name.lower()
    return ".nii.gz" if lower.endswith(".nii.gz") else Path(name).suffix


def images_of(label: Path) -> list[Path] | None:
    """The image files of a label in labelsTr/ (nnU-Net's case_0000..., or MSD's one file),
    None when no imagesTr/ sits beside its folder."""
    if label.parent.name != LABELS or not (label.parent.parent / IMAGES).is_dir():
        return None
    folder = label.parent.parent / IMAGES
    suffix = _suffix(label.name)
    case = label.name[: len(label.name) - len(suffix)]
    pattern = f"{glob.escape(case)}_[0-9][0-9][0-9][0-9]{suffix}"
    found = sorted(folder.glob(pattern))
    if not found and (folder / label.name).is_file():
        found = [folder / label.name]
    return found


def disagreement(label: LabelHeader, image: LabelHeader) -> str | None:
    """How two headers disagree (shape, spacing, affine), or None."""
    spatial = len(label.shape)
    if tuple(image.shape[:spatial]) != tuple(label.shape) or any(
        n != 1 for n in image.shape[spatial + 1 :]
    ):
        return (
            f"shape {'x'.join(map(str, label.shape))} but the image's is "
            f"{'x'.join(map(str, image.shape))}"
        )
    if label.spacing is not None and image.spacing is not None:
        mine, theirs = np.asarray(label.spacing), np.asarray(image.spacing[:spatial])
        if mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=SPACING_RTOL, atol=0):
            return f"spacing {list(label.spacing)} but the image's is {list(image.spacing)}"
    if label.affine is not None and image.affine is not None:
        mine, theirs = np.asarray(label.affine), np.asarray(image.affine)
        if mine.shape == theirs.shape and not np.allclose(mine, theirs, rtol=0, atol=AFFINE_ATOL):
            return "orientation or origin (affine) differs from the image's"
    return None


def header_mismatches(labels: Iterable[tuple[Path, LabelHeader]]) -> list[tuple[str, str, str]]:
    """(label, image, problem) for each label whose image header disagrees with its own."""
    from ..read.decode.volumes.read import volume_geometry

    found: list[tuple[str, str, str]] = []
    for label, header in labels:
        images = images_of(label)
        if images is None:
            continue
        if not images:
            found.append((str(label), "", f"no image for this case in {IMAGES}/"))
            continue
        for image in images:
            if not is_volume(image.name) or volume_format(image.name) != volume_format(label.name):
                continue
            try:
                problem = disagreement(header, volume_geometry(str(image)))
            except BadMaskError as error:
                problem = f"the image's header cannot be read ({error.problem})"
            except MfbError as error:
                problem = f"the image's header cannot be read ({error})"
            if problem is not None:
                found.append((str(label), str(image), problem))
    return found
