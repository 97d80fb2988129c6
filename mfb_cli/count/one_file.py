"""One label file's class ids and pixel counts: decode, histogram, map."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

from ..read.decode.raw import RawLabels, read_raw
from ..read.labels.mapping import map_histogram
from ..read.options import ReadOptions
from .kernels import histogram_of_raw

if TYPE_CHECKING:
    from .._types import Int64Array
    from ..read.sources.archives import LabelSource


def count_file_noted(
    path: LabelSource, read: ReadOptions = ReadOptions(), data: bytes | None = None
) -> tuple[Int64Array, Int64Array, tuple[str, str] | None]:
    """``count_file``, and (note, how it was stored) when the file was read in a way worth a
    warning (READ_NOTES), else None."""
    raw = read_raw(path, read, data)
    ids, counts = map_histogram(str(path), raw, *histogram_of_raw(raw, read), read)
    return ids, counts, read_note(path, raw)


def read_note(path: LabelSource, raw: RawLabels) -> tuple[str, str] | None:
    """(note, how the file was stored) when it was read in a way worth a warning
    (READ_NOTES: a colour map on a single-channel file...), else None."""
    if raw.note is None:
        return None
    return raw.note, raw.mode or _stored_as(str(path), raw.values)


#: The Pillow mode of a greyscale PNG the fast decoder read, by its array's type.
_PNG_MODES = {"uint8": "L", "uint16": "I;16"}


def _stored_as(name: str, values: object) -> str:
    """How a file was stored, named as Pillow would (for warnings)."""
    if isinstance(values, Image.Image):
        return values.mode
    dtype = str(getattr(values, "dtype", ""))
    if name.lower().endswith(".npy"):
        return f".npy {dtype}"
    return _PNG_MODES.get(dtype, dtype)


def count_file(
    path: LabelSource, read: ReadOptions = ReadOptions(), data: bytes | None = None
) -> tuple[Int64Array, Int64Array]:
    """Present class ids and pixel counts of one label file (its bytes in ``data`` if given).

    Decoding, then the colour map, then the remap: ids are those after every mapping.
    """
    ids, counts, _ = count_file_noted(path, read, data)
    return ids, counts
