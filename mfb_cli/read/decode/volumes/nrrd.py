"""NRRD label volumes (.nrrd, and .nhdr with a detached data file) through pynrrd's header.

pynrrd parses the header; its ``read_data`` reads the whole array at once (a compressed
file is even read whole before it is decompressed), so the voxels are streamed here
instead, from the position the header gives: raw data a slab at a time, gzip and bzip2
decompressed as they are read, front to back. Only text-encoded data (one number per
word, rare for labels) is parsed whole by pynrrd, and so must fit --max-pixels.
"""

from __future__ import annotations

import bz2
import gzip
import os
import warnings
from contextlib import ExitStack, contextmanager
from fractions import Fraction
from functools import partial
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ....errors import BadMaskError
from ...base.chunks import LabelHeader
from ...base.files import open_regular
from ..pillow import check_size
from .read import (
    RawLabels,
    check_sizes,
    chunked,
    data_file_beside,
    drain,
    need,
    opened,
    pick_volume,
    raw_slabs,
    read_exactly,
    several_data_files,
)
from .values import check_dtype

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy.typing as npt

    from ...options import ReadOptions
    from .read import SlabReader

#: NRRD type names (the format's specification) -> NumPy type codes.
_TYPES: dict[str, str] = {
    **dict.fromkeys(("signed char", "int8", "int8_t"), "i1"),
    **dict.fromkeys(("uchar", "unsigned char", "uint8", "uint8_t"), "u1"),
    **dict.fromkeys(("short", "short int", "signed short", "signed short int", "int16",
                     "int16_t"), "i2"),
    **dict.fromkeys(("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"),
                    "u2"),
    **dict.fromkeys(("int", "signed int", "int32", "int32_t"), "i4"),
    **dict.fromkeys(("uint", "unsigned int", "uint32", "uint32_t"), "u4"),
    **dict.fromkeys(("longlong", "long long", "long long int", "signed long long",
                     "signed long long int", "int64", "int64_t"), "i8"),
    **dict.fromkeys(("ulonglong", "unsigned long long", "unsigned long long int", "uint64",
                     "uint64_t"), "u8"),
    "float": "f4",
    "double": "f8",
}  # fmt: skip

_TEXT = frozenset({"ascii", "text", "txt"})
_GZIP = frozenset({"gzip", "gz"})
_BZIP2 = frozenset({"bzip2", "bz2"})
#: Axis kinds that are not positions in space: a first axis of these is voxel components.
_COMPONENT_KINDS = frozenset(
    {"vector", "covariant-vector", "normal", "list", "point", "stub", "scalar", "complex",
     "2-vector", "3-color", "rgb-color", "hsv-color", "xyz-color", "4-color", "rgba-color",
     "3-vector", "3-gradient", "3-normal", "4-vector", "quaternion", "2d-symmetric-matrix",
     "2d-masked-symmetric-matrix", "2d-matrix", "2d-masked-matrix", "3d-symmetric-matrix",
     "3d-masked-symmetric-matrix", "3d-matrix", "3d-masked-matrix"}
)  # fmt: skip
#: The longest header read (bytes): a real one is a few hundred; memory stays bounded.
_MAX_HEADER_BYTES = 1 << 20
#: Spaces whose first two axes point left and posterior (flipped to reach RAS).
_LPS = frozenset({"left-posterior-superior", "lps", "left-posterior-superior-time", "lpst"})


def _lines(name: str, stream: IO[bytes]) -> Iterator[bytes]:
    """The header's lines for pynrrd, one at a time, within _MAX_HEADER_BYTES."""
    read = 0
    while True:
        line = stream.readline(_MAX_HEADER_BYTES + 1)
        read += len(line)
        if read > _MAX_HEADER_BYTES:
            raise BadMaskError(name, f"has no NRRD header end within {_MAX_HEADER_BYTES} bytes")
        if not line:
            return
        field, _, value = line.decode("latin-1").partition(":")
        if field.strip().lower() in ("data file", "datafile") and value.strip().startswith("LIST"):
            # The file names follow the header, one a line: pynrrd would read them as fields.
            raise several_data_files(name, value.strip())
        yield line


def read_header(name: str, stream: IO[bytes]) -> dict[str, Any]:
    """pynrrd's parsed header; the stream is left at the first byte after it."""
    nrrd = need("nrrd", "NRRD")
    try:
        # A number past 64 bits ('sizes: 99999999999999999999999') makes NumPy warn on
        # stderr and pynrrd go on with -2**63: a bad header here, in one line.
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            header: dict[str, Any] = nrrd.read_header(_lines(name, stream))
    except RuntimeWarning as error:
        raise BadMaskError(
            name, f"has an NRRD header with a number out of range ({error})"
        ) from error
    except nrrd.NRRDError as error:
        raise BadMaskError(name, f"has an NRRD header pynrrd refuses ({error})") from error
    for field in ("type", "dimension", "sizes", "encoding"):
        if field not in header:
            raise BadMaskError(name, f"has an NRRD header without '{field}'")
    return header


def _dtype(name: str, header: dict[str, Any]) -> np.dtype[Any]:
    code = _TYPES.get(str(header["type"]).lower())
    if code is None:
        raise BadMaskError(name, f"stores NRRD type '{header['type']}', which holds no labels")
    dtype = np.dtype(code)
    if dtype.itemsize > 1 and str(header["encoding"]).lower() not in _TEXT:
        endian = str(header.get("endian", "")).lower()
        if endian not in ("little", "big"):
            raise BadMaskError(name, f"has NRRD endian {header.get('endian')!r} for {dtype}")
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    return dtype


def _geometry(
    header: dict[str, Any], axes: int
) -> tuple[tuple[float, ...] | None, Fraction | None, tuple[tuple[float, ...], ...] | None]:
    """(spacing per spatial axis, exact voxel volume, RAS affine) from the header's
    'space directions' (each axis's step vector) or 'spacings'."""
    directions = header.get("space directions")
    if directions is not None:
        rows = [np.asarray(row, dtype=float) for row in directions]
        spatial = [row for row in rows if row.size and np.all(np.isfinite(row))][:axes]
        if len(spatial) == axes and all(row.size == spatial[0].size for row in spatial):
            matrix = np.stack(spatial)  # axis i's step vector is row i
            spacing = tuple(float(np.linalg.norm(row)) for row in matrix)
            volume = None
            if matrix.shape == (3, 3):
                volume = abs(_det([[Fraction(float(v)) for v in row] for row in matrix]))
            affine = None
            if matrix.shape[1] == 3 and axes == 3:
                origin = np.asarray(header.get("space origin", np.zeros(3)), dtype=float)
                flip = np.array([-1.0, -1.0, 1.0])
                if str(header.get("space", "")).lower() not in _LPS:
                    flip = np.ones(3)
                steps = matrix.T * flip[:, None]
                rows3 = [
                    (*(float(v) for v in steps[i]), float(origin[i] * flip[i])) for i in range(3)
                ]
                affine = (*rows3, (0.0, 0.0, 0.0, 1.0))
            return spacing, (volume or None), affine
    spacings = header.get("spacings")
    if spacings is not None:
        values = [float(v) for v in np.asarray(spacings, dtype=float)]
        kept = tuple(v for v in values if np.isfinite(v))[:axes]
        if len(kept) == axes:
            volume = None
            if axes == 3 and all(v > 0 for v in kept):
                volume = Fraction(kept[0]) * Fraction(kept[1]) * Fraction(kept[2])
            return kept, volume, None
    return None, None, None


def _det(m: list[list[Fraction]]) -> Fraction:
    return (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )


def _spatial_shape(name: str, header: dict[str, Any]) -> tuple[int, ...]:
    """The sizes, without a first axis of voxel components of one element."""
    sizes = tuple(int(n) for n in np.asarray(header["sizes"]).tolist())
    if int(header["dimension"]) != len(sizes):
        raise BadMaskError(name, f"has dimension {header['dimension']} but {len(sizes)} sizes")
    kinds = [str(k).lower() for k in header.get("kinds", [])]
    if kinds and kinds[0] in _COMPONENT_KINDS:
        if sizes[0] != 1:
            raise BadMaskError(
                name,
                f"has {sizes[0]} components per voxel (NRRD kind '{kinds[0]}'); label volumes "
                "hold one value per voxel",
            )
        sizes = sizes[1:]
    return sizes


def _data_file(name: str, header: dict[str, Any], data: bytes | None) -> str | None:
    detached = header.get("data file", header.get("datafile"))
    if detached is None:
        return None
    text = str(detached)
    beside = data_file_beside(name, text)
    if data is not None:
        raise BadMaskError(
            name,
            f"is a detached NRRD header (its voxels are in '{text}'); read from an archive "
            "or a URL only attached .nrrd files can be read",
        )
    return beside


def open_nrrd(name: str, read: ReadOptions, data: bytes | None) -> RawLabels:
    """An NRRD label file: header now, slabs later (see the module's docstring)."""
    with opened(name, data, gunzip=False) as stream:
        header = read_header(name, stream)
        attached_at = stream.tell()
    dtype = _dtype(name, header)
    described = check_dtype(name, dtype)
    stored = _spatial_shape(name, header)
    spatial, volume = pick_volume(name, stored, read)
    check_sizes(name, spatial, read)
    encoding = str(header["encoding"]).lower()
    if encoding not in _TEXT | _GZIP | _BZIP2 | {"raw"}:
        raise BadMaskError(name, f"uses NRRD encoding '{header['encoding']}', which is not read")
    detached = _data_file(name, header, data)
    line_skip = int(header.get("line skip", header.get("lineskip", 0)))
    byte_skip = int(header.get("byte skip", header.get("byteskip", 0)))
    if line_skip < 0 or byte_skip < -1 or (byte_skip == -1 and encoding != "raw"):
        raise BadMaskError(name, f"has line skip {line_skip} and byte skip {byte_skip}")
    spacing, exact, affine = _geometry(header, len(spatial))
    volume_bytes = int(np.prod(spatial, dtype=np.int64)) * dtype.itemsize
    total_bytes = int(np.prod(stored, dtype=np.int64)) * dtype.itemsize
    details: dict[str, Any] = {"encoding": encoding}
    if volume is not None:
        details["volume"] = volume
    labels = LabelHeader(
        shape=spatial,
        format="NRRD",
        spacing=spacing,
        voxel_volume=exact,
        affine=affine,
        stored=described,
        details=details,
    )

    @contextmanager
    def reader() -> Iterator[SlabReader]:
        with ExitStack() as stack:
            if detached is not None:
                source: IO[bytes] = stack.enter_context(open_regular(detached))
            else:
                source = stack.enter_context(opened(name, data, gunzip=False))
                source.seek(attached_at)
            for _ in range(line_skip):
                source.readline(_MAX_HEADER_BYTES)
            if byte_skip == -1:
                source.seek(-total_bytes, os.SEEK_END)
            stream: IO[bytes] = source
            if encoding in _GZIP:
                unzipped = gzip.GzipFile(fileobj=source, mode="rb")
                stack.callback(unzipped.close)
                stream = unzipped  # type: ignore[assignment]
            elif encoding in _BZIP2:
                stream = stack.enter_context(bz2.BZ2File(source))
            if encoding in _TEXT:
                yield _text_slabs(name, header, source, stored, spatial, volume, read)
                return
            if byte_skip > 0:
                _skip(name, stream, byte_skip)
            if volume is not None:
                _skip(name, stream, volume * volume_bytes)
            yield raw_slabs(partial(read_exactly, name, stream), dtype, spatial)
            if stream is not source:
                # A compressed stream's checksum is checked at its end.
                drain(name, stream, max(byte_skip, 0) + total_bytes - stream.tell())

    return RawLabels(
        None,
        header=labels,
        read_chunks=chunked(name, labels, dtype, reader),
        mode=f"NRRD {described.split(' ')[0]}",
    )


def _skip(name: str, stream: IO[bytes], count: int) -> None:
    """Skip ``count`` bytes of voxel data (read and dropped from a compressed stream)."""
    while count > 0:
        step = min(count, 1 << 20)
        read_exactly(name, stream, step)
        count -= step


def _text_slabs(
    name: str,
    header: dict[str, Any],
    source: IO[bytes],
    stored: tuple[int, ...],
    spatial: tuple[int, ...],
    volume: int | None,
    read: ReadOptions,
) -> SlabReader:
    """Text-encoded voxels, parsed whole by pynrrd: the file must fit --max-pixels."""
    total = int(np.prod(stored, dtype=np.int64))
    if read.max_pixels is not None and total > read.max_pixels:
        check_size(name, (total, 1), read.max_pixels)
    kind = np.float64 if _dtype(name, header).kind == "f" else np.int64
    words = source.read().split()
    if len(words) != total:
        raise BadMaskError(name, f"holds {len(words)} numbers where its header needs {total}")
    whole = np.array(words, dtype=kind).reshape(stored, order="F")
    del words
    if volume is not None:
        whole = whole[..., volume]

    def slabs(first: int, last: int) -> npt.NDArray[Any]:
        if len(spatial) == 2:
            return whole
        return whole[:, :, first:last]

    return slabs


def nrrd_geometry(name: str, data: bytes | None = None) -> LabelHeader:
    """Shape (every axis), spacing and RAS affine of any NRRD file: its header alone."""
    with opened(name, data, gunzip=False) as stream:
        header = read_header(name, stream)
    sizes = tuple(int(n) for n in np.asarray(header["sizes"]).tolist())
    kinds = [str(k).lower() for k in header.get("kinds", [])]
    if kinds and kinds[0] in _COMPONENT_KINDS:
        sizes = sizes[1:]
    spacing, _, affine = _geometry(header, min(len(sizes), 3))
    return LabelHeader(shape=sizes, format="NRRD", spacing=spacing, affine=affine)
