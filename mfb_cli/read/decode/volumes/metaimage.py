"""MetaImage label volumes (.mha, and .mhd with a data file beside it).

SimpleITK (ITK's MetaImageIO; wheels for every platform, one package) reads the header
alone with ``ReadImageInformation``, after mfb has checked the keys a label volume needs
(ITK's MetaIO prints its complaints on stderr, several lines each, before it raises).
The voxels are read by mfb, slab by slab, front to back, from where the header says the
data start: raw data with plain reads (a short file is named as truncated, and a spacing
of 0, which ITK refuses to read, leaves a voxel count possible); compressed data
(CompressedData = True) is one zlib stream that ITK inflates again from its start for
every region (four slabs of a 512x512x200 volume took 6.6 times a whole read), so it is
inflated here, once. SimpleITK opens paths only: bytes lent by an archive or a URL are
first written to a temporary file (on disk, deleted afterwards; memory stays bounded).
"""

from __future__ import annotations

import os
import tempfile
import zlib
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ....errors import BadMaskError
from ...base.chunks import LabelHeader
from ...base.files import open_regular
from .read import (
    RawLabels,
    check_sizes,
    chunked,
    data_file_beside,
    need,
    pick_volume,
    raw_slabs,
    read_exactly,
    spatial_volume,
)
from .values import check_dtype

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ...options import ReadOptions
    from .read import SlabReader

#: MetaImage element types -> NumPy type codes (MetaIO's MET_ValueEnumType names).
_TYPES = {
    "MET_CHAR": "i1",
    "MET_UCHAR": "u1",
    "MET_SHORT": "i2",
    "MET_USHORT": "u2",
    "MET_INT": "i4",
    "MET_UINT": "u4",
    "MET_LONG": "i4",
    "MET_ULONG": "u4",
    "MET_LONG_LONG": "i8",
    "MET_ULONG_LONG": "u8",
    "MET_FLOAT": "f4",
    "MET_DOUBLE": "f8",
}
_MAX_HEADER_BYTES = 1 << 20
_TRUE = frozenset({"true", "1", "yes"})


@dataclass(frozen=True)
class _Layout:
    """Where and how the voxels are stored (the header keys ITK does not hand over)."""

    compressed: bool
    data_file: str | None  # None: LOCAL, right after the header
    data_at: int  # offset of the data in the file holding them (LOCAL: after the header)
    big_endian: bool
    element_type: str
    header_size: int  # bytes to skip in a separate raw data file (-1: data at its end)


def _layout(name: str, stream: IO[bytes]) -> _Layout:
    """The storage keys of a MetaImage header, read up to its ElementDataFile line."""
    keys: dict[str, str] = {}
    read = 0
    while True:
        line = stream.readline(_MAX_HEADER_BYTES)
        read += len(line)
        if not line or read > _MAX_HEADER_BYTES:
            raise BadMaskError(name, "has no MetaImage header (no ElementDataFile line)")
        key, _, value = line.decode("latin-1").partition("=")
        keys[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            break
    _check_keys(name, keys)
    data_file = keys["ElementDataFile"]
    order = keys.get("BinaryDataByteOrderMSB", keys.get("ElementByteOrderMSB", "False"))
    return _Layout(
        compressed=keys.get("CompressedData", "False").lower() in _TRUE,
        data_file=None if data_file.upper() == "LOCAL" else data_file,
        data_at=stream.tell(),
        big_endian=order.lower() in _TRUE,
        element_type=keys.get("ElementType", ""),
        header_size=int(keys.get("HeaderSize", "0") or 0),
    )


def _check_keys(name: str, keys: dict[str, str]) -> None:
    """The keys a label volume needs, checked before ITK reads the header: ITK's MetaIO
    prints its complaints on stderr, several lines each, before it raises."""
    ndims = keys.get("NDims", "")
    if not ndims.isdigit() or not 1 <= int(ndims) <= 16:
        raise BadMaskError(name, f"has MetaImage NDims {ndims[:20]!r}, not 1 to 16 axes")
    sizes = keys.get("DimSize", "").split()
    if len(sizes) != int(ndims) or not all(n.isdigit() and int(n) > 0 for n in sizes):
        raise BadMaskError(
            name, f"has MetaImage DimSize {' '.join(sizes)[:60]!r}, not {ndims} sizes above 0"
        )
    if keys.get("ElementType") not in _TYPES:
        raise BadMaskError(
            name, f"stores MetaImage type {keys.get('ElementType', '')[:20]!r}, not labels"
        )


@contextmanager
def _local_copy(name: str, data: bytes | None) -> Iterator[str]:
    """A path SimpleITK can open: the file itself, or the lent bytes in a temporary file."""
    if data is None:
        open_regular(name).close()  # a FIFO or device is refused before ITK opens it
        yield name
        return
    suffix = ".mha" if name.lower().endswith(".mha") else ".mhd"
    handle, path = tempfile.mkstemp(prefix="mfb-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        yield path
    finally:
        Path(path).unlink(missing_ok=True)


def open_metaimage(name: str, read: ReadOptions, data: bytes | None) -> RawLabels:
    """A MetaImage label file: header now, slabs later (see the module's docstring)."""
    sitk = need("SimpleITK", "MetaImage")
    with _local_copy(name, data) as path:
        with open_regular(path) as stream:
            layout = _layout(name, stream)
        if layout.data_file is not None:
            beside = data_file_beside(name, layout.data_file)
            if data is not None:
                raise BadMaskError(
                    name,
                    f"is a MetaImage header whose voxels are in '{layout.data_file}'; read "
                    "from an archive or a URL only .mha files (voxels inside) can be read",
                )
            open_regular(beside).close()  # ITK opens it next: a FIFO or device refused
        info = sitk.ImageFileReader()
        info.SetImageIO("MetaImageIO")
        info.SetFileName(path)
        try:
            info.ReadImageInformation()
        except RuntimeError as error:
            raise BadMaskError(
                name, f"has a MetaImage header ITK refuses ({_first(error)})"
            ) from error
        components = info.GetNumberOfComponents()
        stored = tuple(int(n) for n in info.GetSize())
        spacing_all = tuple(float(v) for v in info.GetSpacing())
        direction = tuple(float(v) for v in info.GetDirection())
        origin = tuple(float(v) for v in info.GetOrigin())
    if components != 1:
        raise BadMaskError(
            name, f"has {components} components per voxel; label volumes hold one value each"
        )
    code = _TYPES.get(layout.element_type)
    if code is None:
        raise BadMaskError(name, f"stores MetaImage type {layout.element_type!r}, not labels")
    dtype = np.dtype(code).newbyteorder(">" if layout.big_endian else "<")
    described = check_dtype(name, dtype)
    spatial, volume = pick_volume(name, stored, read)
    check_sizes(name, spatial, read)
    spacing = spacing_all[: len(spatial)]
    labels = LabelHeader(
        shape=spatial,
        format="MetaImage",
        spacing=spacing,
        voxel_volume=spatial_volume(name, spacing) if len(spatial) == 3 else None,
        affine=_affine(direction, origin, spacing) if len(spatial) == 3 else None,
        stored=described,
        details={"compressed": layout.compressed} | ({} if volume is None else {"volume": volume}),
    )

    @contextmanager
    def reader() -> Iterator[SlabReader]:
        with ExitStack() as stack:
            path = stack.enter_context(_local_copy(name, data))
            if layout.compressed:
                yield _inflated_slabs(name, stack, path, layout, dtype, spatial, volume)
                return
            yield _uncompressed_slabs(name, stack, path, layout, dtype, stored, spatial, volume)

    return RawLabels(
        None,
        header=labels,
        read_chunks=chunked(name, labels, dtype, reader),
        mode=f"MetaImage {described.split(' ')[0]}",
    )


def _uncompressed_slabs(
    name: str,
    stack: ExitStack,
    path: str,
    layout: _Layout,
    dtype: np.dtype[Any],
    stored: tuple[int, ...],
    spatial: tuple[int, ...],
    volume: int | None,
) -> SlabReader:
    """Slabs of uncompressed MetaImage data, read by mfb: a short file is named as
    truncated (ITK printed its complaint on stderr and blamed an ioctl), and the voxels
    are read whatever the spacing (ITK refuses to read a volume whose spacing is 0)."""
    volume_bytes = int(np.prod(spatial, dtype=np.int64)) * dtype.itemsize
    if layout.data_file is None:
        source: IO[bytes] = stack.enter_context(open_regular(path))
        start = layout.data_at
    else:
        source = stack.enter_context(open_regular(data_file_beside(name, layout.data_file)))
        start = max(layout.header_size, 0)
        if layout.header_size == -1:  # the data end the file
            total = int(np.prod(stored, dtype=np.int64)) * dtype.itemsize
            start = max(source.seek(0, os.SEEK_END) - total, 0)
    source.seek(start + (volume or 0) * volume_bytes)
    return raw_slabs(partial(read_exactly, name, source), dtype, spatial)


def _inflated_slabs(
    name: str,
    stack: ExitStack,
    path: str,
    layout: _Layout,
    dtype: np.dtype[Any],
    spatial: tuple[int, ...],
    volume: int | None,
) -> SlabReader:
    """Slabs of a compressed MetaImage, its zlib stream inflated once, in order."""
    if layout.data_file is None:
        source: IO[bytes] = stack.enter_context(open_regular(path))
        source.seek(layout.data_at)
    else:
        source = stack.enter_context(open_regular(data_file_beside(name, layout.data_file)))
    inflate = zlib.decompressobj()
    pending = bytearray()

    def take(size: int) -> bytes:
        while len(pending) < size:
            if inflate.unconsumed_tail:
                compressed = inflate.unconsumed_tail
            else:
                compressed = b"" if inflate.eof else source.read(1 << 20)
                if not compressed:
                    break
            # At most 4 MiB out per call: a crafted stream cannot inflate past the slab.
            pending.extend(inflate.decompress(compressed, 1 << 22))
        if len(pending) < size:
            raise BadMaskError(
                name, "ends before the voxel data its header promises (truncated or damaged)"
            )
        out = bytes(pending[:size])
        del pending[:size]
        return out

    volume_bytes = int(np.prod(spatial, dtype=np.int64)) * dtype.itemsize
    skipped = (volume or 0) * volume_bytes
    while skipped > 0:
        step = min(skipped, 1 << 20)
        take(step)
        skipped -= step
    return raw_slabs(take, dtype, spatial)


def _affine(
    direction: tuple[float, ...], origin: tuple[float, ...], spacing: tuple[float, ...]
) -> tuple[tuple[float, ...], ...] | None:
    """Voxel index -> RAS millimetres from ITK's LPS direction, origin and spacing."""
    if len(direction) != 9 or len(origin) < 3:
        return None
    matrix = np.asarray(direction, dtype=float).reshape(3, 3) * np.asarray(spacing[:3])
    flip = np.array([-1.0, -1.0, 1.0])
    rows = [
        (*(float(v) + 0.0 for v in matrix[i] * flip[i]), float(origin[i] * flip[i]) + 0.0)
        for i in range(3)
    ]
    return (*rows, (0.0, 0.0, 0.0, 1.0))


def _first(error: BaseException) -> str:
    """ITK's message on one line: its last non-empty line says what went wrong."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def metaimage_geometry(name: str, data: bytes | None = None) -> LabelHeader:
    """Shape (every axis), spacing and RAS affine of any MetaImage file: its header alone."""
    sitk = need("SimpleITK", "MetaImage")
    with _local_copy(name, data) as path:
        info = sitk.ImageFileReader()
        info.SetImageIO("MetaImageIO")
        info.SetFileName(path)
        try:
            info.ReadImageInformation()
        except RuntimeError as error:
            problem = f"has a MetaImage header ITK refuses ({_first(error)})"
            raise BadMaskError(name, problem) from error
        shape = tuple(int(n) for n in info.GetSize())
        spacing = tuple(float(v) for v in info.GetSpacing())
        direction = tuple(float(v) for v in info.GetDirection())
        origin = tuple(float(v) for v in info.GetOrigin())
    return LabelHeader(
        shape=shape,
        format="MetaImage",
        spacing=spacing[: min(len(shape), 3)],
        affine=_affine(direction, origin, spacing) if len(shape) >= 3 else None,
    )
