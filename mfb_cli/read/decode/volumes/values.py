"""Stored voxel values as exact integer labels: integers as they are, floats only if whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ....errors import BadMaskError, LabelRangeError, Param

if TYPE_CHECKING:
    import numpy.typing as npt

#: The largest integer each float type holds exactly, with every integer below it.
EXACT_FLOAT_INTEGERS = {2: 1 << 11, 4: 1 << 24, 8: 1 << 53}

INT64_MAX = (1 << 63) - 1


def check_dtype(name: str, dtype: np.dtype[Any]) -> str:
    """How a volume's stored type is described, or BadMaskError when it holds no labels."""
    if dtype.kind in "iub" and dtype.fields is None:
        return str(dtype.newbyteorder("="))
    if dtype.kind == "f" and dtype.itemsize in EXACT_FLOAT_INTEGERS:
        return f"{dtype.newbyteorder('=')} (read only where every voxel is an integer)"
    raise BadMaskError(
        name,
        f"stores {_named(dtype)} voxels; label volumes hold integers (or floats that are "
        "whole numbers)",
    )


def _named(dtype: np.dtype[Any]) -> str:
    if dtype.fields is not None:
        return "multi-component (RGB or vector)"
    return {"c": "complex"}.get(dtype.kind, str(dtype))


def integer_labels(
    name: str, values: npt.NDArray[Any], start: tuple[int, ...]
) -> npt.NDArray[np.integer]:
    """A slab's labels as an integer array (no copy for integers; floats checked whole).

    ``start`` places the slab in the volume, so a bad value is named by its voxel index.
    """
    kind = values.dtype.kind
    if kind == "b":
        return np.not_equal(values.view(np.uint8), 0).view(np.uint8)
    if kind == "u" and values.dtype.itemsize == 8 and values.size:
        top = int(values.max())
        if top > INT64_MAX:
            raise LabelRangeError(
                f"{name}: value {top} does not fit a signed 64-bit label id (largest "
                f"{INT64_MAX}); it is not a class id"
            )
    if kind in "iu":
        return values
    return _whole_floats(name, values, start)


def _whole_floats(
    name: str, values: npt.NDArray[np.floating], start: tuple[int, ...]
) -> npt.NDArray[np.integer]:
    """Float voxels as integers, or BadMaskError naming the first voxel that is not one."""
    flat = values.ravel(order="K")  # storage order: the first bad voxel as the file has it
    order: Literal["C", "F"] = (
        "F" if values.flags.f_contiguous and not values.flags.c_contiguous else "C"
    )
    limit = EXACT_FLOAT_INTEGERS[values.dtype.itemsize]

    def where(bad: npt.NDArray[np.bool_]) -> tuple[float, str]:
        first = int(np.argmax(bad))
        index = np.unravel_index(first, values.shape, order=order)
        voxel = tuple(int(i) + s for i, s in zip(index, start, strict=True))
        # A raster (2D) is named by its pixel (row, column), a volume by its voxel.
        return float(flat[first]), f"{'pixel' if len(voxel) == 2 else 'voxel'} {voxel}"

    finite = np.isfinite(flat)
    if not finite.all():
        value, at = where(~finite)
        raise BadMaskError(
            name,
            f"holds {value} at {at}: NaN or infinite values are no class ids; write no-data "
            "as an integer and pass ",
            Param("ignore"),
            " for it",
        )
    beyond = np.abs(flat) > limit
    if beyond.any():
        value, at = where(beyond)
        raise BadMaskError(
            name,
            f"holds {value} at {at}, beyond 2**{limit.bit_length() - 1}, where "
            f"{values.dtype} no longer keeps every integer; write class ids as integers",
        )
    fractional = flat != np.floor(flat)
    if fractional.any():
        value, at = where(fractional)
        raise BadMaskError(
            name,
            f"holds non-integer values (first: {value} at {at}): a probability map or a "
            f"resampled (interpolated) {'raster' if values.ndim == 2 else 'volume'}, not "
            "class ids",
        )
    return values.astype(np.int32 if values.dtype.itemsize <= 4 else np.int64, order="K")
