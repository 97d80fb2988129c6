"""3D label volumes (medical): NIfTI, NRRD and MetaImage, read slab by slab.

This module only knows the file names; the readers (nibabel, pynrrd, SimpleITK: the
'volumes' extra) are imported by ``read.read_volume`` when a volume is read.
"""

from __future__ import annotations

#: Volume formats by file suffix (lower case), the longest suffixes first.
VOLUME_FORMATS: dict[str, str] = {
    ".nii.gz": "NIfTI",
    ".nii": "NIfTI",
    ".nrrd": "NRRD",
    ".nhdr": "NRRD",
    ".mha": "MetaImage",
    ".mhd": "MetaImage",
}
VOLUME_SUFFIXES = tuple(VOLUME_FORMATS)

VOLUMES_EXTRA_HINT = "pip install 'mfb-cli[volumes]' (nibabel, pynrrd, SimpleITK)"


def is_volume(name: str) -> bool:
    """Whether a file is read as a volume (by its name)."""
    return name.lower().endswith(VOLUME_SUFFIXES)


def volume_format(name: str) -> str:
    """The volume format of a file name ('NIfTI', 'NRRD', 'MetaImage')."""
    lower = name.lower()
    return next(kind for suffix, kind in VOLUME_FORMATS.items() if lower.endswith(suffix))
