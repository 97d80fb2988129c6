"""Open label files safely: regular files only, so a FIFO or device never blocks a scan."""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from ...errors import BadMaskError

if TYPE_CHECKING:
    import io


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
