"""TIFF fix-ups: signed and unsigned rasters Pillow misreads, float class rasters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import BadMaskError, Param

if TYPE_CHECKING:
    import numpy.typing as npt
    from PIL import Image

# TIFF tags: Pillow reads 8-bit signed and 32-bit unsigned rasters with the wrong sign.
SAMPLES_PER_PIXEL, BITS_PER_SAMPLE, SAMPLE_FORMAT = 277, 258, 339


def tiff_tag(image: Image.Image, tag: int, default: int) -> int:
    if image.format != "TIFF":
        return default
    value = image.tag_v2.get(tag, default)  # type: ignore[attr-defined]
    return int(value[0] if isinstance(value, tuple) else value)


def label_values(name: str, image: Image.Image) -> Image.Image | npt.NDArray[np.integer]:
    if image.mode == "F":
        return _integral(name, np.asarray(image))
    signed = tiff_tag(image, SAMPLE_FORMAT, 1) == 2
    bits = tiff_tag(image, BITS_PER_SAMPLE, 0)
    if image.mode == "L" and signed:  # int8: Pillow hands over the bytes as unsigned
        return np.asarray(image).view(np.int8)
    if image.mode == "I" and bits == 32 and not signed:  # uint32: Pillow reads int32
        return np.asarray(image).view(np.uint32)
    return image


def _integral(name: str, array: npt.NDArray[np.floating]) -> npt.NDArray[np.int64]:
    # GIS tools often write class rasters as float32 (QGIS' rasterize default); exact
    # integers up to 2**24 survive that, anything else is not a class id.
    finite = np.isfinite(array)
    if not finite.all():
        raise BadMaskError(
            name,
            f"has {int(array.size - np.count_nonzero(finite))} NaN or infinite pixels; write "
            "no-data as an integer (e.g. -1) and pass ",
            Param("ignore"),
            " for it",
        )
    beyond = np.abs(array) > FLOAT32_EXACT
    if beyond.any():
        example = float(array[beyond][0])
        raise BadMaskError(
            name,
            f"holds {example}, beyond 2**24, where float32 no longer keeps every integer "
            "(the value may have been rounded); write class ids as integers",
        )
    fractional = array != np.floor(array)
    if fractional.any():
        example = float(array[fractional][0])
        raise BadMaskError(
            name,
            f"holds non-integer values (e.g. {example}): a probability map or a resampled "
            "raster, not class ids",
        )
    return array.astype(np.int64)


FLOAT32_EXACT = float(1 << 24)
