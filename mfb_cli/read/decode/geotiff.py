"""What a GeoTIFF says about itself: nodata value, CRS and geotransform, from its tags.

Read from the tags alone (no GDAL): GDAL_NODATA (42113, ASCII), the GeoKeyDirectory
(34735) for the EPSG code, and ModelTransformation (34264) or ModelPixelScale (33550)
with ModelTiepoint (33922) for the geotransform, in GDAL's order
(x0, pixel width, row rotation, y0, column rotation, pixel height).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import BadMaskError, Param
from .volumes.values import EXACT_FLOAT_INTEGERS

MODEL_PIXEL_SCALE, MODEL_TIEPOINT, MODEL_TRANSFORMATION = 33550, 33922, 34264
GEO_KEY_DIRECTORY, GDAL_NODATA = 34735, 42113
#: Tags that make a TIFF a GeoTIFF (read tile by tile, nodata honoured, CRS recorded).
GEO_TAGS = (MODEL_PIXEL_SCALE, MODEL_TIEPOINT, MODEL_TRANSFORMATION, GEO_KEY_DIRECTORY, GDAL_NODATA)
#: GeoKeys naming the CRS by EPSG code: projected first, then geographic.
_CRS_KEYS = (3072, 2048)
_RASTER_TYPE_KEY = 1025  # 1: pixel is area, 2: pixel is point
_USER_DEFINED = 32767

#: The id a float raster's nodata pixels are given when the nodata value is no exact
#: small integer (NaN, -3.4e38): below any integer a float32 holds exactly, so it can
#: never be a label read from the file, and it is left out of the counts.
FLOAT_NODATA_ID = -(1 << 53) - 1


@dataclass(frozen=True)
class Nodata:
    """A raster's nodata value: as written, the id its pixels are counted under (left out
    of the counts), or None when no pixel of the raster's type can hold it."""

    text: str
    id: int | None
    #: The value as the raster's type compares it (float rasters: NaN included).
    value: float


def nodata_of(name: str, tags: dict[int, Any], dtype: np.dtype[Any]) -> Nodata | None:
    """The GDAL_NODATA value of a raster of ``dtype``, None without the tag."""
    text = nodata_text(tags)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadMaskError(
            name,
            f"has a GDAL_NODATA tag that is not a number ({text[:40]!r}); pass ",
            Param("count_nodata"),
            " to count every value",
        ) from None
    if dtype.kind == "f":
        exact = EXACT_FLOAT_INTEGERS.get(dtype.itemsize, 0)
        if math.isfinite(value) and value == int(value) and abs(value) <= exact:
            return Nodata(text, int(value), value)
        return Nodata(text, FLOAT_NODATA_ID, value)
    info = np.iinfo(dtype)
    if math.isfinite(value) and value == int(value) and info.min <= int(value) <= info.max:
        return Nodata(text, int(value), value)
    return Nodata(text, None, value)  # no pixel of an integer raster can hold it


def crs_of(tags: dict[int, Any]) -> str | None:
    """'EPSG:N' from the GeoKeyDirectory (projected, else geographic), None if absent or
    user-defined."""
    keys = _geo_keys(tags)
    for key in _CRS_KEYS:
        code = keys.get(key)
        if code is not None and 0 < code < _USER_DEFINED:
            return f"EPSG:{code}"
    return None


def pixel_is(tags: dict[int, Any]) -> str | None:
    """'area' or 'point' (GTRasterTypeGeoKey), None if the file does not say."""
    return {1: "area", 2: "point"}.get(_geo_keys(tags).get(_RASTER_TYPE_KEY, 0))


def _geo_keys(tags: dict[int, Any]) -> dict[int, int]:
    """The GeoKeys whose value sits in the directory itself (short values)."""
    directory = tags.get(GEO_KEY_DIRECTORY)
    try:
        shorts = [int(v) for v in directory] if directory is not None else []
    except (TypeError, ValueError):
        return {}
    if len(shorts) < 4:
        return {}
    keys = {}
    for at in range(4, min(len(shorts), 4 + 4 * shorts[3]) - 3, 4):
        key, location, count, value = shorts[at : at + 4]
        if location == 0 and count == 1:
            keys[key] = value
    return keys


def geotransform_of(tags: dict[int, Any]) -> tuple[float, ...] | None:
    """GDAL's six-number geotransform, None when the tags give none (or not finite)."""
    matrix = _floats(tags.get(MODEL_TRANSFORMATION))
    if matrix is not None and len(matrix) >= 16:
        found = (matrix[3], matrix[0], matrix[1], matrix[7], matrix[4], matrix[5])
    else:
        scale, tie = _floats(tags.get(MODEL_PIXEL_SCALE)), _floats(tags.get(MODEL_TIEPOINT))
        if scale is None or tie is None or len(scale) < 2 or len(tie) < 6:
            return None
        i, j, x, y = tie[0], tie[1], tie[3], tie[4]
        found = (x - i * scale[0], scale[0], 0.0, y + j * scale[1], 0.0, -scale[1])
    return found if all(math.isfinite(v) for v in found) else None


def _floats(value: Any) -> list[float] | None:
    if value is None:
        return None
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        return None


def nodata_text(tags: dict[int, Any]) -> str | None:
    """The GDAL_NODATA tag as written (NUL and blanks stripped), None without one."""
    raw = tags.get(GDAL_NODATA)
    if raw is None:
        return None
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    return text.strip("\x00 \t\r\n")


def geo_details(tags: dict[int, Any]) -> dict[str, Any]:
    """What a raster's source record says: CRS, geotransform, pixel area, nodata."""
    details: dict[str, Any] = {}
    crs = crs_of(tags)
    if crs is not None:
        details["crs"] = crs
    transform = geotransform_of(tags)
    if transform is not None:
        details["geotransform"] = list(transform)
        # The same for every pixel of the raster: counts stay exact, areas are counts x this.
        details["pixel_area"] = abs(transform[1] * transform[5] - transform[2] * transform[4])
    kind = pixel_is(tags)
    if kind is not None:
        details["pixel_is"] = kind
    text = nodata_text(tags)
    if text is not None:
        details["nodata"] = text[:64]
    return details
