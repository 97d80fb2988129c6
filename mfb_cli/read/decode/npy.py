"""Label arrays saved with NumPy (.npy), memory-mapped when on disk."""

from __future__ import annotations

import io
import os
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np

from ...errors import BadMaskError, LabelRangeError
from ..base.files import open_regular
from .pillow import check_size

if TYPE_CHECKING:
    import numpy.typing as npt


def load_npy(name: str, max_pixels: int | None, data: bytes | None = None) -> npt.NDArray[Any]:
    """A 2-D integer array from a .npy file, memory-mapped when it is on disk."""
    try:
        if data is not None:
            array = map_npy(io.BytesIO(data), name, max_pixels, data)
        else:
            with open_regular(name) as file:
                array = map_npy(file, name, max_pixels)
    except FileNotFoundError as error:
        raise BadMaskError(name, "file disappeared while scanning") from error
    except PermissionError as error:
        raise BadMaskError(name, "permission denied") from error
    except (OSError, ValueError, EOFError, OverflowError) as error:
        raise BadMaskError(name, f"cannot read as a .npy array ({error})") from error
    if not isinstance(array, np.ndarray):
        raise BadMaskError(name, "is not a single .npy array")
    if array.ndim != 2:
        raise BadMaskError(
            name,
            f"is a {array.ndim}-D array of shape {array.shape}; "
            "mfb reads 2-D arrays with one class id per pixel",
        )
    if array.dtype.kind not in "iub":
        raise BadMaskError(name, f"holds {array.dtype} values; label arrays hold integers")
    check_size(name, (array.shape[1], array.shape[0]), max_pixels)
    if array.dtype.kind == "b":  # a binary mask, 0 and 1 as a 1-bit PNG is read
        # By the byte, not by a cast: a crafted file may hold other bytes than 0 and 1,
        # which NumPy takes as True but a cast would copy as they are.
        return np.not_equal(array.view(np.uint8), 0).view(np.uint8)
    if array.dtype.kind == "u" and array.dtype.itemsize == 8 and array.size:
        top = int(array.max())
        if top > INT64_MAX:
            # Label ids are int64 everywhere after decoding: this one would turn negative.
            raise LabelRangeError(
                f"{name}: value {top} does not fit a signed 64-bit label id (largest "
                f"{INT64_MAX}); it is not a class id"
            )
    return array


INT64_MAX = (1 << 63) - 1


def map_npy(
    file: IO[bytes], name: str, max_pixels: int | None, data: bytes | None = None
) -> npt.NDArray[Any]:
    """A .npy file's array, mapped (not copied) from the open file or from ``data``.

    The header is checked first, with Python integers: a 2-D shape within ``max_pixels``
    whose bytes the file holds. A tiny file (an archive member) claiming 2^31 x 2^31 had
    NumPy allocate exabytes, and a shape of 10^30 ended in an OverflowError.
    """
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
    else:
        raise ValueError(f".npy format version {version[0]}.{version[1]} is not read")
    if dtype.hasobject:
        raise ValueError("it holds Python objects")
    if len(shape) != 2:
        raise BadMaskError(
            name,
            f"is a {len(shape)}-D array of shape {shape}; "
            "mfb reads 2-D arrays with one class id per pixel",
        )
    if min(shape) < 0:
        raise ValueError(f"the header gives a negative size {shape}")
    check_size(name, (shape[1], shape[0]), max_pixels)
    count = shape[0] * shape[1]
    offset = file.tell()
    held = (len(data) if data is not None else os.fstat(file.fileno()).st_size) - offset
    if count * dtype.itemsize > held:
        raise ValueError(
            f"the header promises {count * dtype.itemsize} bytes of data, the file holds {held}"
        )
    order: Literal["C", "F"] = "F" if fortran else "C"
    if count == 0:
        return np.empty(shape, dtype=dtype)
    if data is not None:
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        return flat.reshape(shape, order=order)
    return np.memmap(file, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
