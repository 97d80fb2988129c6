"""One label file's values before any mapping: ids, colour codes or palette indices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ...errors import BadMaskError, Param
from ..base.budget import max_source_bytes
from ..base.chunks import LabelHeader, one_chunk
from ..base.files import RangedFile, is_tiff_name
from .colours import colour_codes, pack_rgb, palette_codes
from .npy import load_npy
from .pillow import COLOUR_MAPPED_MODES, open_mask
from .png_fast import read_png_fast
from .tiff import label_values
from .volumes import is_volume

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from fractions import Fraction

    import numpy.typing as npt
    from PIL import Image

    from ..._types import Int64Array
    from ..base.chunks import LabelChunk
    from ..options import ReadOptions

    #: The 256 bins of a C-contiguous 2D uint8 array.
    ByteCounter = Callable[[npt.NDArray[np.uint8]], Int64Array]


@dataclass(frozen=True)
class RawLabels:
    """A file's values before any mapping: label ids, packed colours or palette indices.

    Read through ``chunks()``, the one way every decoder hands over labels. A file read
    whole (a 2D mask) is one chunk, ``values``; a volume's chunks are slabs read lazily
    by ``read_chunks``, and ``values`` is None.
    """

    values: Image.Image | npt.NDArray[np.integer] | None
    kind: Literal["ids", "colours", "palette"] = "ids"
    #: For 'palette': the packed colour of each index (-1 where the palette has none).
    palette: Int64Array | None = None
    #: The image mode the values were decoded from ('RGB' for colour codes), if an image.
    mode: str | None = None
    #: How the file was read when that deserves a warning (see READ_NOTES), else None.
    note: str | None = None
    #: What the file is (shape, spacing...), read before any value; None: from ``values``.
    header: LabelHeader | None = None
    #: The chunks of a file read in parts (slabs of a volume); None: ``values`` is the one.
    read_chunks: Callable[[], Iterator[LabelChunk]] | None = None
    #: (slope, intercept) the file asks to apply to its stored values (NIfTI scl_slope,
    #: scl_inter), applied to the histogram only where every result is an integer.
    scaling: tuple[Fraction, Fraction] | None = None
    #: The stored value of a raster's nodata pixels (GeoTIFF GDAL_NODATA, as an id):
    #: every consumer of the chunks leaves it out of the counts. None: every value counts.
    nodata: int | None = None
    #: For a consumer that needs only the counts of the bytes (a uint8 raster): called with
    #: a function giving the 256 bins of a C-contiguous 2D uint8 block, it returns the
    #: 256 bins of every pixel of the file (nodata included), each block counted where it
    #: was decoded, never copied into a chunk. The same counts as the chunks'; None where
    #: a decoder offers no such route.
    count_bytes: Callable[[ByteCounter], Int64Array] | None = None

    def chunks(self) -> Iterator[LabelChunk]:
        """The labels, chunk by chunk (one chunk for a file read whole)."""
        if self.read_chunks is not None:
            return self.read_chunks()
        return one_chunk(self.values)

    def described(self) -> LabelHeader:
        """The file's header (built from ``values`` for a file read whole)."""
        if self.header is not None:
            return self.header
        values = self.values
        if hasattr(values, "shape"):
            return LabelHeader(tuple(int(n) for n in values.shape))  # type: ignore[union-attr]
        width, height = values.size  # type: ignore[union-attr]
        return LabelHeader((height, width))


def read_raw(
    source: object, read: ReadOptions, data: bytes | RangedFile | None = None
) -> RawLabels:
    """Decode one label file (a path or archive member, its bytes in ``data`` if given; a
    raster where it lives, read by ranges, as a RangedFile)."""
    name = str(source)
    if is_tiff_name(name) or isinstance(data, RangedFile):
        from .rasters import read_raster

        raster = read_raster(name, read, data)
        if raster is not None:
            return raster
        if isinstance(data, RangedFile):  # a small plain TIFF: read whole, as any image
            data = read_whole(data, max_source_bytes(read.max_pixels))
    assert not isinstance(data, RangedFile)
    if is_volume(name):
        from .volumes.read import read_volume

        return read_volume(name, read, data)
    # With a colour map, a file read as ids is worth a warning: the map does not apply to it.
    ids_note = None if read.colormap is None else "ids-despite-colormap"
    if name.lower().endswith(".npy"):
        array = load_npy(name, read.max_pixels, data)
        return RawLabels(array, note=ids_note)
    if read.use_fast and name.lower().endswith(".png"):
        labels = read_png_fast(name, read.max_pixels, data)
        if labels is not None:
            return RawLabels(labels, note=ids_note)
    image = open_mask(name, read.max_pixels, data=data, colour=True)
    if image.mode in COLOUR_MAPPED_MODES:
        if read.colormap is None:
            return uncoded_colour(name, image)
        codes = colour_codes(name, image, read.transparent is not None)
        return RawLabels(codes, "colours", mode=image.mode)
    if image.mode == "P" and read.colormap is not None:
        # Each palette file may order its colours differently: by colour unless asked.
        if not read.palette_index:
            codes = palette_codes(name, image, read.transparent is not None)
            return RawLabels(image, "palette", codes, mode="P")
        ids_note = None
    return RawLabels(label_values(name, image), note=ids_note)


def read_whole(ranged: RangedFile, max_bytes: int) -> bytes:
    """All bytes of a file read in place (a TIFF within --max-pixels, for Pillow), or
    BadMaskError if it is larger than such a mask can be, or ends early."""
    if ranged.size > max_bytes:
        raise BadMaskError(
            ranged.name,
            f"is {ranged.size} bytes, more than any mask within ",
            Param("max_pixels"),
            f" takes ({max_bytes}); raise ",
            Param("max_pixels"),
            " if the file is genuine",
        )
    try:
        with ranged.open() as stream:
            data = stream.read(ranged.size + 1)
    except Exception as error:
        raise ranged.failure(error) from error
    if len(data) != ranged.size:
        raise BadMaskError(
            ranged.name, f"holds {len(data)} bytes where its listing says {ranged.size}"
        )
    return data


#: Ways of reading a file worth a warning, counted over a scan (the key is RawLabels.note).
READ_NOTES: dict[str, tuple[str | Param, ...]] = {
    "ids-despite-colormap": (
        "{files} of {total} files are single-channel ({modes}) and were read as label ids: ",
        Param("colormap"),
        " applies only to RGB/RGBA and palette images",
    ),
    "grey-rgb": (
        "{files} of {total} files are RGB with r = g = b in every pixel and were read as grey "
        "label ids ({modes})",
    ),
    "scaled": (
        "{files} of {total} files have a scaling (NIfTI scl_slope/scl_inter) that turns every "
        "stored label into an integer ({modes}): the scaled values were counted, as nibabel "
        "and ITK read them",
    ),
    "nodata": (
        "{files} of {total} files are rasters with a nodata value (GDAL_NODATA; {modes}): "
        "their nodata pixels were left out of the counts, as GDAL masks them; pass ",
        Param("count_nodata"),
        " to count them",
    ),
    "nodata-unmatched": (
        "{files} of {total} files are rasters whose nodata value no pixel of their type can "
        "hold ({modes}): nothing was left out",
    ),
    "unscaled": (
        "{files} of {total} files have a scaling (NIfTI scl_slope/scl_inter) that would turn "
        "stored labels into non-integers ({modes}): their stored values were counted",
    ),
}


#: An RGB image with more distinct colours than this is a photograph, not a label mask.
PHOTO_COLOURS = 1024


def _distinct(values: npt.NDArray[Any]) -> int:
    """How many distinct values, by one sort: NumPy 2.4's np.unique hashes when asked for
    the values alone, some 80 times slower on a photograph's two million colours."""
    ordered = np.sort(values, axis=None)
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + int(ordered.size > 0)


def uncoded_colour(name: str, image: Image.Image) -> RawLabels:
    """An RGB(A) file without a colour map: grey ids stored as RGB, or refused with the reason."""
    array = np.asarray(image)
    rgb = array[..., :3]
    opaque = image.mode != "RGBA" or int(array[..., 3].min()) == 255
    if opaque and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return RawLabels(np.ascontiguousarray(rgb[..., 0]), note="grey-rgb", mode=image.mode)
    colours = _distinct(pack_rgb(rgb))
    if colours > PHOTO_COLOURS:
        raise BadMaskError(
            name,
            f"is an {image.mode} image with {colours} distinct colours: it looks like a "
            "photograph, not a label mask (is an image folder given instead of the labels?)",
        )
    raise BadMaskError(
        name,
        f"is a colour image (mode {image.mode}): it looks colour-coded; pass ",
        Param("colormap"),
        " (a colour table or a built-in map) to turn its colours into class ids",
    )
