"""Open label files safely: regular files only, so a FIFO or device never blocks a scan;
and files read in place by ranges (rasters in object storage)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from ...errors import BadMaskError

if TYPE_CHECKING:
    import io
    from collections.abc import Callable


def open_regular(name: str) -> io.BufferedReader:
    """Open a file for reading, or raise BadMaskError if it is not a regular file.

    O_NONBLOCK keeps a FIFO swapped in for a mask from blocking the open; fstat on the open
    descriptor (not the name) decides, so a file replaced between listing and reading is
    judged as what is actually read. A device or FIFO could be read forever.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(name, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a folder"
                if stat.S_ISDIR(mode)
                else "a FIFO (named pipe)"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "not a regular file"
            )
            raise BadMaskError(name, f"is {kind}, not a regular file; mfb reads label files only")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


#: Names read as rasters (TIFF and GeoTIFF): tile by tile, and in place where they live.
TIFF_SUFFIXES = (".tif", ".tiff")


def is_tiff_name(name: str) -> bool:
    """Whether a file is a TIFF by its name (a raster read tile by tile when large or geo)."""
    return name.lower().endswith(TIFF_SUFFIXES)


@dataclass(frozen=True)
class RangedFile:
    """A file read in place, by ranges (a raster in object storage): never fetched whole.

    ``open()`` gives a seekable binary stream whose reads become range requests; the
    source made it with the run's deadlines and named it without credentials (``name``).
    """

    name: str
    size: int
    open: Callable[[], IO[bytes]] = field(repr=False, compare=False)
    #: The error to raise for a read that failed (a network failure is never a bad file),
    #: named without credentials.
    failure: Callable[[BaseException], Exception] = field(repr=False, compare=False)

    def __str__(self) -> str:
        return self.name
