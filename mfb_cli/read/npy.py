"""Label arrays saved with NumPy (.npy), memory-mapped when on disk."""

from __future__ import annotations

import io
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ..errors import BadMaskError, LabelRangeError
from .files import open_regular
from .pillow import check_size

if TYPE_CHECKING:
    import numpy.typing as npt


def load_npy(name: str, max_pixels: int | None, data: bytes | None = None) -> npt.NDArray[Any]:
    """A 2-D integer array from a .npy file, memory-mapped when it is on disk."""
    try:
        if data is not None:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        else:
            with open_regular(name) as file:
                array = map_npy(file)
    except FileNotFoundError as error:
        raise BadMaskError(name, "file disappeared while scanning") from error
    except PermissionError as error:
        raise BadMaskError(name, "permission denied") from error
    except (OSError, ValueError, EOFError) as error:
        raise BadMaskError(name, f"cannot read as a .npy array ({error})") from error
    if not isinstance(array, np.ndarray):
        raise BadMaskError(name, "is not a single .npy array")
    if array.ndim != 2:
        raise BadMaskError(
            name,
            f"is a {array.ndim}-D array of shape {array.shape}; "
            "mfb reads 2-D arrays with one class id per pixel",
        )
    if array.dtype.kind not in "iu":
        raise BadMaskError(name, f"holds {array.dtype} values; label arrays hold integers")
    check_size(name, (array.shape[1], array.shape[0]), max_pixels)
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


def map_npy(file: IO[bytes]) -> npt.NDArray[Any]:
    """A .npy file's array memory-mapped through the open (regular) file, not its name."""
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(file)
    else:
        file.seek(0)
        return np.load(file, allow_pickle=False)  # type: ignore[no-any-return]
    if dtype.hasobject:
        raise ValueError("it holds Python objects")
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype=dtype)
    return np.memmap(
        file, dtype=dtype, mode="r", offset=file.tell(), shape=shape, order="F" if fortran else "C"
    )
