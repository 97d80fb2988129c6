"""One label file's class ids and pixel counts: decode, histogram, map."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..errors import MfbError
from ..read.base.thumbnail import Thumbnail
from ..read.decode.raw import RawLabels, read_raw
from ..read.labels.mapping import (
    check_ids_per_file,
    map_histogram,
    map_values,
    merge_values,
    scaling_note,
)
from ..read.options import ReadOptions
from .kernels import histogram_of_raw

if TYPE_CHECKING:
    from typing import Any

    import numpy.typing as npt

    from .._types import Int64Array
    from ..read.base.chunks import LabelHeader
    from ..read.base.files import RangedFile
    from ..read.sources.archives import LabelSource
    from .connectivity import Connectivity
    from .geometry import ImageGeometry
    from .patches import PatchCounts, PatchGrid
    from .plane_runs import Runs


def count_file_noted(
    path: LabelSource,
    read: ReadOptions = ReadOptions(),
    data: bytes | RangedFile | None = None,
    geometry: Connectivity | None = None,
) -> tuple[
    Int64Array, Int64Array, tuple[str, str] | None, ImageGeometry | None, LabelHeader | None
]:
    """``count_file``, (note, how it was stored) when the file was read in a way worth a
    warning (READ_NOTES, else None), with ``geometry`` the image's components, and the
    header of a file read in chunks (a volume's shape and spacing; None for a 2D file)."""
    raw = read_raw(path, read, data)
    if geometry is None:
        raw_ids, raw_counts = histogram_of_raw(raw, read)
        ids, counts = map_histogram(str(path), raw, raw_ids, raw_counts, read)
        header = class_thumbnail(str(path), raw, raw_ids, raw_counts, read)
        return ids, counts, read_note(path, raw, raw_ids), None, header
    runs = None
    if raw.values is not None and raw.nodata is None:  # nodata pixels: the histogram route
        from ..read.labels.pixels import stored_values
        from .plane_runs import run_histogram, runs_of

        values = stored_values(raw)
        found = runs_of(values)
        if found is not None:
            runs = (values, found)
    if runs is None:
        raw_ids, raw_counts = histogram_of_raw(raw, read)
    else:  # the histogram from the runs the components need anyway: no pass of its own
        raw_ids, raw_counts = run_histogram(*runs)
    shapes = image_geometry(path, raw, raw_ids, raw_counts, read, geometry, runs)
    header = class_thumbnail(str(path), raw, raw_ids, raw_counts, read)
    return shapes.ids, shapes.pixels, read_note(path, raw, raw_ids), shapes, header


def count_file_patches(
    path: LabelSource, read: ReadOptions, data: bytes | RangedFile | None, grid: PatchGrid
) -> tuple[
    Int64Array, Int64Array, tuple[str, str] | None, None, LabelHeader | None, list[PatchCounts]
]:
    """``count_file_noted`` without geometry, and the class counts of every patch of
    ``grid`` (count/patches.py), counted in the same pass over the file's chunks.

    Each patch's raw values are mapped as the file's are: the file's whole histogram
    decides the mapping (a volume's scaling applies to every patch or none), and a
    raster's nodata pixels are left out of every patch as out of the file.
    """
    from .kernels import histogram_of_chunk, summed, without_nodata
    from .patches import Patches

    name = str(path)
    raw = read_raw(path, read, data)
    patches = Patches(name, grid, raw.described().shape)
    parts = []
    for chunk in raw.chunks():
        parts.append(histogram_of_chunk(chunk.values, read))
        patches.add(chunk)
        del chunk
        if len(parts) > 64:  # a raster of many bands: keep the partial sums few
            parts = [summed(parts)]
    raw_ids, raw_counts = without_nodata(
        *(parts[0] if len(parts) == 1 else summed(parts)), raw.nodata
    )
    ids, counts = map_histogram(name, raw, raw_ids, raw_counts, read)
    # A raster's nodata pixels are left out of each patch, as out of the file.
    found = [(window, *without_nodata(v, n, raw.nodata)) for window, v, n in patches.result()]
    if raw.kind != "ids" or read.remap is not None or raw.scaling is not None:
        classes = map_values(name, raw, raw_ids, raw_counts, read)
        found = [
            (window, *merge_values(classes[np.searchsorted(raw_ids, values)], pixels))
            for window, values, pixels in found
        ]
    header = class_thumbnail(name, raw, raw_ids, raw_counts, read)
    return ids, counts, read_note(path, raw, raw_ids), None, header, found


def class_thumbnail(
    name: str, raw: RawLabels, raw_ids: Int64Array, raw_counts: Int64Array, read: ReadOptions
) -> LabelHeader | None:
    """The file's header with its thumbnail's stored values turned into class ids (the
    remap applied, as to the counts) and its nodata pixels marked; without the thumbnail
    when the file was not read to its end."""
    header = raw.header
    if header is None or header.thumbnail is None:
        return header
    thumbnail = header.thumbnail
    if not thumbnail.complete:
        return replace(header, thumbnail=None)
    values = thumbnail.values
    nodata = np.zeros(values.shape, dtype=bool) if raw.nodata is None else values == raw.nodata
    kept = values[~nodata].astype(np.int64)
    at = np.minimum(np.searchsorted(raw_ids, kept), max(len(raw_ids) - 1, 0))
    if kept.size and not np.array_equal(raw_ids[at], kept):
        raise MfbError(f"{name}: its thumbnail holds values it has no count of (a bug in mfb)")
    classes = map_values(name, raw, raw_ids, raw_counts, read)
    ids = np.zeros(values.shape, dtype=np.int64)
    ids[~nodata] = classes[at]
    finished = Thumbnail(thumbnail.source_shape)
    finished.values, finished.complete = _compact(ids), True
    finished.nodata = nodata if nodata.any() else None
    return replace(header, thumbnail=finished)


def _compact(ids: Int64Array) -> npt.NDArray[np.integer]:
    """Class ids in the smallest type that holds them (uint8 or uint16 for most maps)."""
    if ids.size == 0:
        return ids.astype(np.uint8)
    low, high = int(ids.min()), int(ids.max())
    for dtype in (np.uint8, np.uint16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return ids.astype(dtype)
    return ids


def image_geometry(
    path: LabelSource,
    raw: RawLabels,
    raw_ids: Int64Array,
    raw_counts: Int64Array,
    read: ReadOptions,
    connectivity: Connectivity,
    runs: tuple[npt.NDArray[Any], Runs] | None = None,
) -> ImageGeometry:
    """The components of each class id of a decoded file (after the colour map and remap),
    given the histogram of its stored values (and, if few, their runs: the stored array
    and its Runs, plane_runs.py); its ids and pixels are the file's counts."""
    from ..read.labels.pixels import partition_of, stored_values
    from .geometry import partition_geometry, plane_geometry

    name = str(path)
    classes = map_values(name, raw, raw_ids, raw_counts, read)
    ids, counts = merge_values(classes, raw_counts)
    check_ids_per_file(name, ids)
    if raw.values is None:  # read in chunks: read again, chunk by chunk
        shapes = _chunked_image_geometry(raw, raw_ids, classes, connectivity)
    elif runs is not None and len(ids) == len(raw_ids):
        # One class per stored value: the stored values' components are the classes'.
        shapes = plane_geometry(*runs, raw_ids, classes, connectivity)
    else:
        values = stored_values(raw) if runs is None else runs[0]
        shapes = partition_geometry(partition_of(values, raw_ids, classes), connectivity)
    if not (np.array_equal(shapes.ids, ids) and np.array_equal(shapes.pixels, counts)):
        raise MfbError(f"{name}: its components and its histogram disagree (a bug in mfb)")
    return shapes


def _chunked_image_geometry(
    raw: RawLabels, raw_ids: Int64Array, classes: Int64Array, connectivity: Connectivity
) -> ImageGeometry:
    """The geometry of a file read in chunks (count/geometry_chunks.py), reading it a
    second time. A raster's nodata pixels are a class of their own there, left out of the
    result: its components are no class's, and a pixel beside nodata is on a boundary."""
    from .geometry_chunks import chunked_geometry

    shape = raw.described().shape
    connect = connectivity.for_ndim(len(shape))
    if raw.nodata is None:
        return chunked_geometry(raw.chunks(), shape, raw_ids, classes, connect)
    at = int(np.searchsorted(raw_ids, raw.nodata))
    # A class id no other class has.
    hidden = int(classes.max()) + 1 if classes.size and classes.max() < 2**62 else -(2**62)
    with_nodata = np.insert(raw_ids, at, raw.nodata)
    found = chunked_geometry(
        raw.chunks(), shape, with_nodata, np.insert(classes, at, hidden), connect
    )
    return found.without(hidden)


def read_note(
    path: LabelSource, raw: RawLabels, raw_ids: Int64Array | None = None
) -> tuple[str, str] | None:
    """(note, how the file was stored) when it was read in a way worth a warning
    (READ_NOTES: a colour map on a single-channel file, a volume's scaling...), else None."""
    note = raw.note
    if raw.scaling is not None and raw_ids is not None:
        note = scaling_note(raw, raw_ids)
    if note is None:
        return None
    return note, raw.mode or _stored_as(str(path), raw.values)


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
    path: LabelSource, read: ReadOptions = ReadOptions(), data: bytes | RangedFile | None = None
) -> tuple[Int64Array, Int64Array]:
    """Present class ids and pixel counts of one label file (its bytes in ``data`` if given).

    Decoding, then the colour map, then the remap: ids are those after every mapping.
    """
    ids, counts, _, _, _ = count_file_noted(path, read, data)
    return ids, counts
