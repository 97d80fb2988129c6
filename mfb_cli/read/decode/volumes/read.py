"""One volume file as RawLabels: its header first, then slabs along the slowest axis.

Every format hands over the same things: the stored shape (fastest axis first, as NIfTI,
NRRD and MetaImage store voxels), spacing, orientation, and a way to read slices k0..k1
of one 3D volume. The rules shared by the formats live here: which volume of a 4D file is
read (``--volume``), the size limits (``--max-pixels`` for one slice, ``--max-total-pixels``
for the file), and that every slab holds integer labels (values.py).
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ....errors import BadMaskError, MfbError, MissingExtraError, Param
from ...base.chunks import LabelChunk, check_total, out_of_memory, slab_depth
from ...base.files import open_regular
from ..pillow import check_size
from ..raw import RawLabels
from . import VOLUMES_EXTRA_HINT, volume_format
from .values import integer_labels

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    import numpy.typing as npt

    from ...base.chunks import LabelHeader
    from ...options import ReadOptions

#: Reads slices k0..k1 (along the slowest spatial axis) of the volume read, stored values
#: as they are, F-ordered (fastest axis first), from a file the format module opened.
SlabReader = Callable[[int, int], "npt.NDArray[Any]"]

#: What the volume readers raise on damaged or crafted input (besides BadMaskError).
READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    OverflowError,
    RuntimeError,
    zlib.error,
)


def read_volume(name: str, read: ReadOptions, data: bytes | None = None) -> RawLabels:
    """The header of a NIfTI, NRRD or MetaImage label file, its slabs read lazily."""
    kind = volume_format(name)
    if kind == "NIfTI":
        from .nifti import open_nifti as opener
    elif kind == "NRRD":
        from .nrrd import open_nrrd as opener
    else:
        from .metaimage import open_metaimage as opener
    with read_failures(name, kind):
        return opener(name, read, data)


def volume_geometry(name: str, data: bytes | None = None) -> LabelHeader:
    """Shape, spacing and affine of any volume file (an image too), from its header only."""
    kind = volume_format(name)
    if kind == "NIfTI":
        from .nifti import nifti_geometry as geometry
    elif kind == "NRRD":
        from .nrrd import nrrd_geometry as geometry
    else:
        from .metaimage import metaimage_geometry as geometry
    with read_failures(name, kind):
        return geometry(name, data)


def reason(error: BaseException) -> str:
    """An error's message on one line (its type when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


def need(module: str, kind: str) -> Any:
    """An optional reader, imported on first use, or the one-line error naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"reading {kind} label volumes needs the 'volumes' extra: {VOLUMES_EXTRA_HINT}"
        ) from error


def pick_volume(
    name: str, shape: tuple[int, ...], read: ReadOptions
) -> tuple[tuple[int, ...], int | None]:
    """The spatial shape read and which volume of a 4D file (None for 2D and 3D files).

    Trailing axes of one element past the third are dropped (a 3D volume stored as
    X x Y x Z x 1). A 4D file holds volumes along its fourth axis (time points or
    channels): one is read when ``--volume`` picks it; any other file is refused.
    """
    kept = list(shape)
    while len(kept) > 3 and kept[-1] == 1:
        kept.pop()
    if len(kept) > 4:
        raise BadMaskError(
            name,
            f"is a {len(kept)}-D array ({'x'.join(map(str, shape))}); mfb reads 2D and 3D "
            "label maps, and one volume of a 4D file",
        )
    if len(kept) < 4:
        if len(kept) < 2:
            raise BadMaskError(
                name, f"has {len(kept)} axis ({'x'.join(map(str, shape))}): not a label map"
            )
        return tuple(kept), None
    volumes = kept[3]
    if read.volume is None:
        raise BadMaskError(
            name,
            f"is 4-D ({'x'.join(map(str, kept))}: {volumes} volumes, time points or "
            "channels), not one label volume; pass ",
            Param("volume", metavar="N"),
            " to count one of them",
        )
    if read.volume >= volumes:
        raise BadMaskError(
            name,
            f"holds {volumes} volumes (0..{volumes - 1}); ",
            Param("volume", read.volume),
            " is not one of them",
        )
    return tuple(kept[:3]), read.volume


def check_sizes(name: str, spatial: tuple[int, ...], read: ReadOptions) -> None:
    """One slice within --max-pixels, the whole volume within --max-total-pixels."""
    if min(spatial) < 0:
        raise BadMaskError(name, f"has a negative size in its header ({spatial})")
    check_total(name, spatial, read.max_total_pixels)
    check_size(name, (spatial[0], spatial[1]), read.max_pixels)


def chunked(
    name: str,
    header: LabelHeader,
    dtype: np.dtype[Any],
    open_reader: Callable[[], AbstractContextManager[SlabReader]],
) -> Callable[[], Iterator[LabelChunk]]:
    """The chunks of a volume: slabs of whole slices along its slowest axis.

    ``open_reader()`` opens the file (a context manager) and gives the SlabReader of the
    volume read. A 2D file is one chunk. Every error names the file.
    """
    shape = header.shape
    depth = shape[2] if len(shape) == 3 else 1
    step = slab_depth(shape[0] * shape[1] * dtype.itemsize, depth)

    def chunks() -> Iterator[LabelChunk]:
        with read_failures(name, header.format), open_reader() as slabs:
            for first in range(0, depth, step):
                last = min(first + step, depth)
                start = (0, 0, first) if len(shape) == 3 else (0, 0)
                slab = slabs(first, last)
                expected = (*shape[:2], last - first) if len(shape) == 3 else shape
                if tuple(slab.shape) != tuple(expected):
                    raise BadMaskError(
                        name,
                        f"gave slices of shape {tuple(slab.shape)} where its header "
                        f"says {expected} (a damaged file)",
                    )
                values = integer_labels(name, slab, start)
                del slab
                yield LabelChunk(values, start)
                del values

    return chunks


@contextmanager
def read_failures(name: str, kind: str) -> Iterator[None]:
    """Every failure of reading a volume as one error naming the file: mfb's own errors as
    they are, running out of memory as such, any reader's refusal as a damaged file."""
    try:
        yield
    except (BadMaskError, MfbError):
        raise
    except MemoryError as error:
        raise out_of_memory(name) from error
    except READ_ERRORS as error:
        raise BadMaskError(name, f"cannot read as {kind} ({reason(error)})") from error


@contextmanager
def opened(name: str, data: bytes | None, *, gunzip: bool = True) -> Iterator[IO[bytes]]:
    """The file's bytes as a stream (from disk or from ``data``), gunzipped as it is read
    when it starts with gzip's magic number: never decompressed whole."""
    raw: IO[bytes] = io.BytesIO(data) if data is not None else open_regular(name)
    try:
        head = raw.read(2)
        raw.seek(0)
        if gunzip and head == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream  # type: ignore[misc]
        else:
            yield raw
    finally:
        raw.close()


def several_data_files(name: str, text: str) -> BadMaskError:
    """The error for a header spreading its voxels over several files (a LIST, a pattern)."""
    return BadMaskError(
        name, f"spreads its voxels over several data files ('{text}'); mfb reads one data file"
    )


def data_file_beside(name: str, written: str) -> str:
    """The detached data file a header names (NRRD's 'data file', MetaImage's
    ElementDataFile), checked to sit in the header's own folder or below it.

    A label header is data, often from elsewhere: one naming '/etc/passwd', '../../x',
    '/dev/zero' or a URL would make mfb read, and reveal as a histogram, a file that is
    no part of the dataset. A list of files or a file-name pattern is refused too (mfb
    reads one data file); the file itself is opened as a regular file only.
    """
    import posixpath

    text = written.strip()
    if text.upper().startswith("LIST") or len(text.split()) > 1 or "%" in text:
        raise several_data_files(name, text)
    parts = text.replace("\\", "/").split("/")
    if (
        not text
        or "://" in text
        or posixpath.isabs(text.replace("\\", "/"))
        or (len(text) > 1 and text[1] == ":")
        or ".." in parts
    ):
        raise BadMaskError(
            name,
            f"names its voxel data file '{text}' outside its own folder; a detached header's "
            "data file must sit beside it or below it (no absolute path, URL or '..')",
        )
    from pathlib import Path

    return str(Path(name).parent / text)


def raw_slabs(
    take: Callable[[int], bytes], dtype: np.dtype[Any], spatial: tuple[int, ...]
) -> SlabReader:
    """The SlabReader of raw voxels stored slice after slice, read front to back:
    ``take(size)`` gives the next ``size`` bytes of voxel data (or raises, naming the
    file, when it ends first; each format says so in its own words)."""
    slice_bytes = spatial[0] * spatial[1] * dtype.itemsize

    def slabs(first: int, last: int) -> npt.NDArray[Any]:
        count = (last - first) if len(spatial) == 3 else 1
        buffer = take(count * slice_bytes)
        target = (*spatial[:2], last - first) if len(spatial) == 3 else spatial
        return np.frombuffer(buffer, dtype=dtype).reshape(target, order="F")

    return slabs


def read_exactly(name: str, stream: IO[bytes], size: int) -> bytes:
    """``size`` bytes of voxel data, or BadMaskError if the file ends first."""
    data = stream.read(size)
    if len(data) != size:
        raise BadMaskError(
            name,
            f"ends after {len(data)} of the {size} bytes of voxel data its header promises "
            "(truncated)",
        )
    return data


#: Decompressed bytes a file may hold past the data its header describes (padding).
TRAILING_BYTES = 1 << 20


def drain(name: str, stream: IO[bytes], left: int) -> None:
    """Read a compressed stream to its end, a MiB at a time, so its checksum is checked;
    ``left``: the bytes the header says remain. More than TRAILING_BYTES past them is
    refused, unread: a few hundred KB of gzip may inflate to gigabytes of nothing, which
    would be decompressed for as long as it lasts."""
    allowed = max(left, 0) + TRAILING_BYTES
    while chunk := stream.read(min(1 << 20, allowed + 1)):
        allowed -= len(chunk)
        if allowed < 0:
            raise BadMaskError(
                name,
                f"decompresses to more than {TRAILING_BYTES} bytes past the voxels "
                "its header describes (a decompression bomb?)",
            )


def spatial_volume(name: str, spacing: tuple[float, ...] | None) -> Any:
    """The exact volume of a voxel (mm^3) from three spacings, None without three."""
    from fractions import Fraction

    if spacing is None or len(spacing) < 3:
        return None
    if not all(math.isfinite(s) and s > 0 for s in spacing[:3]):
        return None
    return math.prod((Fraction(s) for s in spacing[:3]), start=Fraction(1))


#: Exported for the format modules.
__all__ = [
    "READ_ERRORS",
    "TRAILING_BYTES",
    "RawLabels",
    "check_sizes",
    "chunked",
    "data_file_beside",
    "drain",
    "need",
    "opened",
    "pick_volume",
    "raw_slabs",
    "read_exactly",
    "read_volume",
    "reason",
    "spatial_volume",
    "volume_geometry",
]
