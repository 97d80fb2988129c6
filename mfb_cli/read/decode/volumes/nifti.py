"""NIfTI-1 and NIfTI-2 label volumes (.nii, .nii.gz) through nibabel, slab by slab.

nibabel reads the header eagerly and the voxels through an ArrayProxy, which reads only
the slice asked for (``fileslice``). The proxy is given the file mfb opened (gunzipped as
it is read, from disk or from the bytes an archive or a URL lent) and unit scaling, so it
hands over the stored values; the header's scl_slope/scl_inter are applied to the
histogram afterwards, and only where every result is an integer (RawLabels.scaling).
Slabs are read in file order, so a .nii.gz is decompressed once, front to back.
"""

from __future__ import annotations

import gzip
import logging
import math
from contextlib import contextmanager
from fractions import Fraction
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ....errors import BadMaskError
from ...base.chunks import LabelHeader
from .read import (
    RawLabels,
    check_sizes,
    chunked,
    drain,
    need,
    opened,
    pick_volume,
    spatial_volume,
)
from .values import check_dtype

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy.typing as npt

    from ...options import ReadOptions
    from .read import SlabReader

#: NIfTI's spatial units (xyzt_units & 7) in millimetres; 0 ("unknown") is taken as mm, as
#: nnU-Net, ITK and most tools do.
_MM_PER_UNIT: dict[str, Fraction] = {
    "unknown": Fraction(1),
    "meter": Fraction(1000),
    "mm": Fraction(1),
    "micron": Fraction(1, 1000),
}


#: Where nibabel's header check logs what it fixed: nowhere (mfb reports for itself).
_QUIET = logging.getLogger("mfb.nibabel")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def _header_class(nibabel: Any, first: bytes) -> Any:
    """Nifti1Header or Nifti2Header from sizeof_hdr (348 or 540, either byte order)."""
    for order in ("<", ">"):
        size = int(np.frombuffer(first, dtype=f"{order}i4")[0]) if len(first) == 4 else 0
        if size == 348:
            return nibabel.Nifti1Header
        if size == 540:
            return nibabel.Nifti2Header
    return None


def read_header(name: str, stream: IO[bytes]) -> Any:
    """The nibabel header of an open NIfTI file, checked to be a single-file NIfTI."""
    nibabel = need("nibabel", "NIfTI")
    first = stream.read(4)
    stream.seek(0)
    klass = _header_class(nibabel, first)
    if klass is None:
        raise BadMaskError(name, "is not a NIfTI-1 or NIfTI-2 file (no valid sizeof_hdr)")
    raw = klass.from_fileobj(stream, check=False)
    try:
        # nibabel's checks also "fix" pixdim (0 -> 1, -2 -> 2) and log it on stderr: the
        # header checked is a copy, the spacing is read from the stored pixdim (_zooms).
        header = klass(raw.binaryblock, endianness=raw.endianness, check=False)
        header.check_fix(logger=_QUIET, error_level=nibabel.imageglobals.error_level)
    except nibabel.spatialimages.HeaderDataError as error:
        raise BadMaskError(name, f"has a NIfTI header nibabel refuses ({error})") from error
    header.stored_pixdim = [float(v) for v in raw["pixdim"]]
    magic = bytes(header["magic"]).rstrip(b"\0")
    if magic not in (b"n+1", b"n+2"):
        raise BadMaskError(
            name,
            f"has NIfTI magic {magic!r}, not a single-file NIfTI ('n+1' or 'n+2'); a "
            "header/image pair (.hdr/.img) is not read",
        )
    return header


def open_nifti(name: str, read: ReadOptions, data: bytes | None) -> RawLabels:
    """A NIfTI label file: header now, slabs later (see the module's docstring)."""
    with opened(name, data) as stream:
        header = read_header(name, stream)
    nibabel = need("nibabel", "NIfTI")
    stored = tuple(int(n) for n in header.get_data_shape())
    spatial, volume = pick_volume(name, stored, read)
    check_sizes(name, spatial, read)
    dtype = header.get_data_dtype()
    described = check_dtype(name, dtype)
    offset = int(header.get_data_offset())
    stored_bytes = math.prod(stored) * dtype.itemsize
    unit = _MM_PER_UNIT.get(header.get_xyzt_units()[0], Fraction(1))
    spacing = _spacing(header, len(spatial), unit)
    exact = None
    if spacing is not None and len(spatial) == 3:
        # From the stored steps, exact binary fractions, then the unit: exact too.
        exact = spatial_volume(name, tuple(abs(z) for z in header.stored_pixdim[1:4]))
        exact = None if exact is None else exact * unit**3
    affine = header.get_best_affine()
    kind = "NIfTI-2" if isinstance(header, nibabel.Nifti2Header) else "NIfTI-1"
    details: dict[str, Any] = {"units": header.get_xyzt_units()[0]}
    if volume is not None:
        details["volume"] = volume
    labels = LabelHeader(
        shape=spatial,
        format=kind,
        spacing=spacing,
        voxel_volume=exact,
        affine=tuple(tuple(float(v) for v in row) for row in affine),
        stored=described,
        details=details,
    )

    @contextmanager
    def reader() -> Iterator[SlabReader]:
        with opened(name, data) as stream:
            proxy = nibabel.arrayproxy.ArrayProxy(
                stream, (stored, dtype, offset, 1.0, 0.0), mmap=False
            )

            def slabs(first: int, last: int) -> npt.NDArray[Any]:
                index: tuple[Any, ...] = (slice(None), slice(None))
                target = spatial
                if len(spatial) == 3:
                    index, target = (*index, slice(first, last)), (*spatial[:2], last - first)
                if volume is not None:
                    index = (*index, volume)
                found: npt.NDArray[Any] = proxy[index]
                return found.reshape(target, order="A")  # drops trailing single axes

            yield slabs
            if isinstance(stream, gzip.GzipFile):
                # The gzip trailer's CRC-32 and length are checked at the end.
                drain(name, stream, offset + stored_bytes - stream.tell())

    return RawLabels(
        None,
        note=None,
        header=labels,
        read_chunks=chunked(name, labels, dtype, reader),
        scaling=_scaling(header, name),
        mode=f"{kind} {described.split(' ')[0]}",
    )


def _spacing(header: Any, axes: int, unit: Fraction) -> tuple[float, ...] | None:
    """Millimetres per step along each spatial axis, from the stored pixdim: a negative
    step by its size (as nibabel and NRRD's determinant take it); None where one is not a
    finite number. A zero stays zero (no voxel volume: --count physical refuses it), never
    the 1 nibabel's header check puts in its place."""
    zooms = header.stored_pixdim[1 : 1 + axes]
    if len(zooms) < axes or not all(np.isfinite(z) for z in zooms):
        return None
    return tuple(float(Fraction(abs(z)) * unit) for z in zooms)


def _scaling(header: Any, name: str) -> tuple[Fraction, Fraction] | None:
    """(slope, intercept) when the header asks for scaling other than 1 and 0, else None.

    As NIfTI says (and nibabel reads it): a slope of 0, NaN or infinity means no scaling.
    A valid slope with an intercept that is no finite number is refused: it makes no
    stored value a number."""
    slope, inter = float(header["scl_slope"]), float(header["scl_inter"])
    if slope == 0 or not np.isfinite(slope):
        return None
    if not np.isfinite(inter):
        raise BadMaskError(
            name, f"has scl_slope {slope:g} with scl_inter {inter:g}, which no label can be"
        )
    if slope == 1.0 and inter == 0.0:
        return None
    return Fraction(slope), Fraction(inter)


def nifti_geometry(name: str, data: bytes | None = None) -> LabelHeader:
    """Shape (every axis), spacing and affine of any NIfTI file: its header alone."""
    with opened(name, data) as stream:
        header = read_header(name, stream)
    shape = tuple(int(n) for n in header.get_data_shape())
    unit = _MM_PER_UNIT.get(header.get_xyzt_units()[0], Fraction(1))
    spacing = _spacing(header, min(len(shape), 3), unit)
    affine = header.get_best_affine()
    return LabelHeader(
        shape=shape,
        format="NIfTI",
        spacing=spacing,
        affine=tuple(tuple(float(v) for v in row) for row in affine),
    )
